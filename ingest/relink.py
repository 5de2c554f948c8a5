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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.mentions import LabelIndex, LabelKey, label_key, mention_lines, tokens
from service.store import NewGraph, RelinkedGraph, Store, StoredMentions

logger = logging.getLogger(__name__)


class StoredLabels:
    """The entity labels of a stored generation, read by their first tokens when needed.

    Only the labels that a run can match are read: those whose first token occurs in a text
    that the run links, or that some label added or removed by the run starts with. A label
    index that contains every label whose first token is a token of a text finds the same
    entities in that text as the index of all labels.
    """

    def __init__(self, store: Store, generation: int | None, replaced: set[str]) -> None:
        self._store = store
        self._generation = generation
        rows = store.labels_in_graphs(generation, replaced) if generation is not None else []
        # (IRI, label) → how many of the replaced graphs give it.
        self._replaced = Counter((iri, label) for iri, label, _ in rows)
        self._loaded: set[str] = set()
        # The keys of the labels read so far that a graph outside ``replaced`` gives.
        self.kept: set[LabelKey] = set()

    def replaced_keys(self) -> set[LabelKey]:
        """Return the keys of the labels that the replaced graphs give."""
        keys = (label_key(iri, label) for iri, label in self._replaced)
        return {key for key in keys if key is not None}

    def load(self, tokens: Iterable[str], index: LabelIndex | None = None) -> None:
        """Read the labels that start with any of the tokens, and add them to ``index``."""
        wanted = set(tokens) - self._loaded
        if self._generation is None or not wanted:
            return

        self._loaded |= wanted
        for row in self._store.labels_starting_with(self._generation, wanted):
            key = label_key(row.iri, row.label)
            if key is None or row.count <= self._replaced[(row.iri, row.label)]:
                continue
            self.kept.add(key)
            if index is not None:
                index.add_key(key)


@dataclass
class LabelChange:
    """The label index of the generation a run writes, and the label keys the run changes.

    The index contains the labels that ``StoredLabels`` has read so far and the run's new
    labels.
    """

    index: LabelIndex
    changed: set[LabelKey]
    stored: StoredLabels


def label_change(stored: StoredLabels, added: list[NewGraph]) -> LabelChange:
    """Compare the labels of the graphs a run replaces or drops with those of its new graphs.

    A label is changed when it is only in the replaced graphs or only in the new graphs, and
    no graph that the run keeps gives it.
    """
    removed = stored.replaced_keys()
    index = LabelIndex()
    for graph in added:
        index.add_all(graph.labels)
    new = set(index.keys)

    stored.load((words[0] for words, _ in removed | new), index)
    changed = {key for key in removed ^ new if key not in stored.kept}
    return LabelChange(index, changed, stored)


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
    candidates = [
        stored for stored in store.stored_mentions(version_ids) if stored.graph_iri not in replaced
    ]
    texts = (text for stored in candidates for _, text in stored.texts)
    change.stored.load({token for text in texts for token in tokens(text)}, change.index)

    relinked = []
    for stored in candidates:
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
