"""Writes to the graph: SPARQL Update and Graph Store writes, each committed as a new generation.

A write reads the current generation, then forks a process that loads it into a fresh
in-memory pyoxigraph Store, lets the caller change that store and compares every graph with its
state before the change. The server commits the changed graphs as one new generation. Graphs
left empty are dropped, because the store keeps no empty graphs. The forked process has the
time limit of queries: when it passes, the server kills the process and writes nothing.

In that working store every stored graph is a named graph, except the write graph
``<base_iri>graph/default``, which is the default graph. So triples that an update writes
without ``GRAPH``, and Graph Store writes to ``?default``, land in the write graph, and a
``DELETE DATA`` without ``GRAPH`` removes triples from the write graph only. Queries still see
the write graph, as part of the union default graph.

Writes in one process wait for each other on a lock. Writers in other processes (server
workers, an ingest) are caught by the store: a change computed from an older generation raises
GenerationConflict and is computed again from the newest one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from service.engine import QueryAborted, QueryTimeout
from service.holder import EngineHolder
from service.query_processes import WorkerLost, WorkerTimeout, run_forked
from service.store import WRITE_SOURCE, GenerationChange, GenerationConflict, NewGraph

logger = logging.getLogger(__name__)

WRITE_GRAPH_PATH = "graph/default"
CONFLICT_ATTEMPTS = 3

GraphContents = dict[str, frozenset[ox.Quad]]


class WriteConflict(Exception):
    """Other writers kept committing generations while this write was computed."""


@dataclass(frozen=True)
class WriteOutcome:
    """The result of one write: the new generation, or None when nothing changed.

    ``change_result`` is what the change function returned.
    """

    generation: int | None
    changed: list[str]
    dropped: list[str]
    change_result: object = None


@dataclass(frozen=True)
class _Computed:
    """The graphs a change gave, as computed in the forked process."""

    added: list[NewGraph]
    dropped: list[str]
    change_result: object


def write_graph_iri(base_iri: str) -> str:
    """Return the IRI of the graph that takes the triples written to the default graph."""
    return base_iri + WRITE_GRAPH_PATH


class GraphWriter:
    """Applies changes to the current generation and commits each as a new generation."""

    def __init__(self, holder: EngineHolder, write_graph: str, timeout: float = 30.0) -> None:
        self.holder = holder
        self.write_graph = write_graph
        self.timeout = timeout
        self._lock = threading.Lock()

    def apply(self, change: Callable[[ox.Store], object], summary: str) -> WriteOutcome:
        """Run change on a working store of the newest generation and commit what it changed.

        The change runs in a process forked for it, which is killed after ``timeout`` seconds
        (QueryTimeout), so change must keep its results in the store or return them: its
        return value is the outcome's ``change_result``. Exceptions that change raises leave
        the store as it was. Raises WriteConflict when other processes committed a generation
        during each of CONFLICT_ATTEMPTS attempts.
        """
        with self._lock:
            for attempt in range(1, CONFLICT_ATTEMPTS + 1):
                try:
                    outcome = self._apply_once(change, summary)
                except GenerationConflict as error:
                    logger.warning(
                        "write attempt %s of %s lost a race: %s", attempt, CONFLICT_ATTEMPTS, error
                    )
                    continue

                self.holder.reload_now()
                return outcome

        raise WriteConflict(
            f"other writers committed new generations during {CONFLICT_ATTEMPTS} attempts; "
            "retry the write"
        )

    def _apply_once(self, change: Callable[[ox.Store], object], summary: str) -> WriteOutcome:
        base = self.holder.store.current_generation_id() or 0
        graphs = self._read_graphs(base)
        try:
            computed: _Computed = run_forked(lambda: self._compute(graphs, change), self.timeout)
        except WorkerTimeout as error:
            raise QueryTimeout(
                f"the write ran longer than the limit of {self.timeout:g} s and was stopped; "
                "nothing was written"
            ) from error
        except WorkerLost as error:
            raise QueryAborted(
                "the process computing the write stopped before it finished, as when it runs "
                "out of memory; nothing was written"
            ) from error

        if not computed.added and not computed.dropped:
            logger.info("write changed nothing; generation %s stays current", base)
            return WriteOutcome(None, [], [], computed.change_result)

        generation = self.holder.store.write_generation(
            GenerationChange(
                added=computed.added, dropped=computed.dropped, summary=summary, based_on=base
            )
        )
        changed = [graph.graph_iri for graph in computed.added]
        logger.info(
            "write committed generation %s: %s graphs changed, %s dropped (%s)",
            generation.id,
            len(changed),
            len(computed.dropped),
            summary,
        )
        return WriteOutcome(generation.id, changed, computed.dropped, computed.change_result)

    def _compute(self, graphs: GraphContents, change: Callable[[ox.Store], object]) -> _Computed:
        """Apply the change to a working store of the graphs and return the changed graphs."""
        working = self._working_store(graphs)

        # The snapshot is taken from the working store, not from the stored N-Quads, because
        # the store writes some literals in canonical form ("192.0"^^xsd:decimal as "192"),
        # and only graphs that the change touched may count as changed.
        before = self._graphs_after(working)
        change_result = change(working)
        after = self._graphs_after(working)

        changed = sorted(iri for iri, quads in after.items() if before.get(iri) != quads)
        dropped = sorted(set(before) - set(after))
        added = [_new_graph(iri, after[iri]) for iri in changed]
        return _Computed(added, dropped, change_result)

    def _read_graphs(self, generation: int) -> GraphContents:
        if not generation:
            return {}
        return {
            iri: frozenset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
            for iri, nquads in self.holder.store.iter_graphs(generation)
        }

    def _working_store(self, graphs: GraphContents) -> ox.Store:
        working = ox.Store()
        for iri, quads in graphs.items():
            if iri == self.write_graph:
                working.extend(_in_graph(quads, ox.DefaultGraph()))
            else:
                working.extend(quads)
        return working

    def _graphs_after(self, working: ox.Store) -> GraphContents:
        write_graph = ox.NamedNode(self.write_graph)
        by_graph: dict[str, set[ox.Quad]] = {}
        for quad in working:
            graph = write_graph if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name
            by_graph.setdefault(graph.value, set()).add(_in_graph([quad], graph)[0])
        return {iri: frozenset(quads) for iri, quads in by_graph.items()}


def _in_graph(
    quads: Iterable[ox.Quad], graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph
) -> list[ox.Quad]:
    return [ox.Quad(quad.subject, quad.predicate, quad.object, graph) for quad in quads]


def _new_graph(iri: str, quads: frozenset[ox.Quad]) -> NewGraph:
    nquads = ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS)
    assert nquads is not None
    return NewGraph(
        graph_iri=iri,
        source=WRITE_SOURCE,
        content_hash=hashlib.sha256(nquads).hexdigest(),
        nquads=nquads,
        triple_count=len(quads),
    )
