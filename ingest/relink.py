"""Update the mentions of stored graphs when an ingest adds or removes entity labels.

A note that did not change is not read again, so its stored graph keeps the ``nk:mentions``
lines of the run that built it. When a run adds, renames or removes labels, the store returns
the graphs whose mention texts contain every token of such a label. Their mention lines are
derived again from the texts that the store keeps with each graph version. The other graphs
cannot name a changed label, so their mentions stay right. After any sequence of runs, each
graph then has the mentions that one run over all of its notes would give it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.mentions import LabelIndex, LabelKey, label_key, mention_lines
from service.store import NewGraph, RelinkedGraph, Store, StoredMentions

logger = logging.getLogger(__name__)


@dataclass
class LabelChange:
    """The label index of the generation a run writes, and the label keys the run changes."""

    index: LabelIndex
    changed: set[LabelKey]


def label_change(
    stored_labels: Iterable[tuple[str, str, str]], replaced: set[str], added: list[NewGraph]
) -> LabelChange:
    """Compare the stored labels with the labels that remain after a run.

    ``stored_labels`` are the (entity IRI, label, graph IRI) rows of the stored generation,
    ``replaced`` the graphs that the run replaces or drops, and ``added`` its new graphs.
    """
    old: set[LabelKey] = set()
    index = LabelIndex()
    for iri, label, graph_iri in stored_labels:
        key = label_key(iri, label)
        if key is None:
            continue
        old.add(key)
        if graph_iri not in replaced:
            index.add_key(key)

    for graph in added:
        index.add_all(graph.labels)
    return LabelChange(index, old ^ index.keys)


@dataclass(frozen=True)
class Relinked:
    """A new version of a stored graph with the counts of mention lines it gains and loses."""

    graph: RelinkedGraph
    source: str
    gained: int
    lost: int


def relink_stored(
    store: Store, generation: int, change: LabelChange, replaced: set[str]
) -> list[Relinked]:
    """Derive again the mentions of the stored graphs whose texts can name a changed label.

    Graphs in ``replaced`` are left out, because the run builds or drops them.
    """
    token_sets = [words for words, _ in change.changed]
    version_ids = store.versions_with_tokens(generation, token_sets)
    relinked = []
    for stored in store.stored_mentions(version_ids):
        if stored.graph_iri in replaced:
            continue
        result = _relink(stored, change.index)
        if result is not None:
            relinked.append(result)
    return relinked


def untracked_sources(store: Store, generation: int, replaced: set[str]) -> list[str]:
    """Return the sources of stored graphs that keep no mention texts and the run does not replace.

    An earlier notekg wrote those graphs, so relink_stored cannot update their mentions.
    """
    graphs = store.untracked_graphs(generation)
    return sorted({source for graph_iri, source in graphs if graph_iri not in replaced})


def _relink(stored: StoredMentions, index: LabelIndex) -> Relinked | None:
    """Return the graph with its mention lines derived again, or None when they stay the same."""
    lines = stored.nquads.splitlines(keepends=True)
    kept = len(lines) - stored.mention_count
    old = lines[kept:]
    new = mention_lines(stored.graph_iri, stored.texts, index)
    if new == old:
        return None

    graph = RelinkedGraph(
        version_id=stored.version_id,
        graph_iri=stored.graph_iri,
        nquads=b"".join(lines[:kept] + new),
        triple_count=stored.triple_count - len(old) + len(new),
        mention_count=len(new),
    )
    gained = len(set(new) - set(old))
    lost = len(set(old) - set(new))
    logger.info("relinked %s: %s mentions added, %s removed", stored.graph_iri, gained, lost)
    return Relinked(graph, stored.source, gained, lost)
