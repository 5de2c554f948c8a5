"""Build the graphs of the notes of one run, in worker processes when there are many.

Building a note reads it, maps it to RDF, checks it against the SHACL shapes and serializes its
graphs as N-Quads. The notes of a run depend on each other only through the IRI minter: two
labels whose slugs collide get numbered slugs in the order in which they are minted. A worker
builds each note with a minter of its own and records every IRI that it minted. This process
then mints the same labels again, in the order of the notes, with the run's minter. When every
IRI agrees, the note's graphs are those that building it here would give. Otherwise, and when
the worker failed, the note is built again here, so that the result and any error are those of
an ingest without workers.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.plugins.serializers.nt import _quoteLiteral
from rdflib.term import Node

from ingest.iris import IriMinter
from ingest.mentions import label_first_token
from ingest.note_files import NoteFile
from ingest.problems import IngestError, NoteSyntaxError, Problem
from ingest.readers import READERS

if TYPE_CHECKING:
    from ingest.build import HeadingLink, NoteGraphs
    from ingest.mapping import Mapping

logger = logging.getLogger(__name__)

# A worker process costs about as much to start as building this many notes, so a run uses
# one worker per this many notes to build, up to the number of processes it may use.
NOTES_PER_PROCESS = 20
# Allocations between two collections of the youngest generation during an ingest.
INGEST_GC_THRESHOLD = 100_000
# The end of the IRI of a note's provenance graph, as ingest.build mints it.
PROVENANCE_SUFFIX = "/provenance"


@dataclass(frozen=True)
class BuildSettings:
    """The settings that building any note of a run needs, besides the note."""

    mapping: Mapping
    base_iri: str
    validate: bool


@dataclass(frozen=True)
class BuildTask:
    """One note to build, with its bytes and the IRIs of its graphs in the store.

    ``stored_graphs`` is None for a note that the store does not have.
    """

    note: NoteFile
    raw: bytes
    stored_graphs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _WorkerTask:
    """A note to build in a worker, with the N-Quads of its stored graphs by graph IRI."""

    note: NoteFile
    raw: bytes
    stored_graphs: dict[str, bytes] | None


@dataclass
class BuiltNote:
    """The graphs of one note as N-Quads, with what the run collects about the note."""

    graph_iri: str
    provenance_iri: str
    facts: bytes
    facts_count: int
    provenance: bytes
    provenance_count: int
    labels: list[tuple[str, str]]
    label_first_tokens: list[str]
    texts: list[tuple[str, str]]
    problems: list[Problem]
    unmapped: list[str]
    section_titles: list[str] = field(default_factory=list)
    note_title: str = ""
    table_names: list[tuple[int, str]] = field(default_factory=list)
    heading_links: list[HeadingLink] = field(default_factory=list)


# A minted IRI: (kind, label, explicit id, where, the IRI as a string).
Mint = tuple[str, str, str | None, tuple[str, int], str]


@dataclass
class _WorkerResult:
    """A note built in a worker. ``built.problems`` has the builder's problems only."""

    built: BuiltNote
    shacl_problems: list[Problem]
    mints: list[Mint]


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often, and never over the objects made before.

    An ingest makes many objects that live until it ends, such as a row for every stored graph
    version and the graphs of every note read. Python's default, a collection after every 700
    allocations, spent about a seventh of a re-ingest of one note among 10,000 in collections,
    and about a tenth of building the synthetic notes of benchmarks/generate.py. Leaving the
    block unfreezes every frozen object, also those that the caller froze.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(INGEST_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def build_notes(
    tasks: list[BuildTask],
    settings: BuildSettings,
    minter: IriMinter,
    read_graph: Callable[[str], bytes | None],
    processes: int,
) -> Generator[BuiltNote | IngestError, None, None]:
    """Build the notes of ``tasks`` and yield their graphs in the order of the tasks.

    ``minter`` is the run's minter, and ``read_graph`` returns the N-Quads of a graph of the
    store's current generation, or None. ``processes`` is the most processes to build in.
    A note that cannot be read or built yields its IngestError, so that the other notes are
    still built and the run can report every such error at once.
    """
    workers = min(processes, len(tasks) // NOTES_PER_PROCESS)
    if workers <= 1:
        for task in tasks:
            yield _built_or_error(task, settings, minter, read_graph)
        return

    logger.info("building %s notes in %s worker processes", len(tasks), workers)
    chunk_size = max(1, min(16, len(tasks) // (workers * 8)))
    worker_tasks = [_worker_task(task, read_graph) for task in tasks]
    pool = ProcessPoolExecutor(
        workers, mp_context=_start_method(), initializer=_start_worker, initargs=(settings,)
    )
    try:
        results = pool.map(_build_in_worker, worker_tasks, chunksize=chunk_size)
        for task, result in zip(tasks, results, strict=True):
            built = _accept(result, minter) if result is not None else None
            if built is None:
                logger.debug("building %s again in this process", task.note.display_path)
                yield _built_or_error(task, settings, minter, read_graph)
                continue
            yield built
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _built_or_error(
    task: BuildTask,
    settings: BuildSettings,
    minter: IriMinter,
    read_graph: Callable[[str], bytes | None],
) -> BuiltNote | IngestError:
    try:
        return build_here(task, settings, minter, read_graph)
    except IngestError as error:
        return error


def build_here(
    task: BuildTask,
    settings: BuildSettings,
    minter: IriMinter,
    read_graph: Callable[[str], bytes | None],
) -> BuiltNote:
    """Build one note in this process with the run's minter."""
    graphs = read_and_build(task.note, task.raw, settings.mapping, minter)
    if settings.validate:
        graphs.problems.extend(_shacl_problems(graphs, task.note))
    if task.stored_graphs is not None:
        stored_facts = read_graph(str(graphs.graph_iri))
        if stored_facts:
            _add_rename_aliases(stored_facts, graphs.facts)
    return _built(graphs, graphs.problems)


def read_and_build(note: NoteFile, raw: bytes, mapping: Mapping, minter: IriMinter) -> NoteGraphs:
    """Read a note with the reader of its suffix and build its graphs, without validating them.

    Raises NoteSyntaxError with the note's path and line when the note cannot be read.
    """
    from ingest.build import build_note

    reader = READERS[note.suffix]
    try:
        document = reader(note.path, note.display_path, raw, notes_root=note.root)
    except NoteSyntaxError:
        raise
    except (OSError, ValueError) as error:
        raise NoteSyntaxError(note.display_path, 1, f"cannot read the note: {error}") from error

    return build_note(document, mapping, minter, note.key)


def _built(graphs: NoteGraphs, problems: list[Problem]) -> BuiltNote:
    return BuiltNote(
        graph_iri=str(graphs.graph_iri),
        provenance_iri=str(graphs.provenance_iri),
        facts=to_nquads(graphs.facts, graphs.graph_iri),
        facts_count=len(graphs.facts),
        provenance=to_nquads(graphs.provenance, graphs.provenance_iri),
        provenance_count=len(graphs.provenance),
        labels=graphs.labels,
        label_first_tokens=[label_first_token(label) for _, label in graphs.labels],
        texts=graphs.texts,
        problems=problems,
        unmapped=graphs.unmapped,
        section_titles=graphs.section_titles,
        note_title=graphs.note_title,
        table_names=graphs.table_names,
        heading_links=graphs.heading_links,
    )


def to_nquads(graph: Graph, graph_iri: URIRef) -> bytes:
    """Serialize a graph as sorted N-Quads lines in the named graph ``graph_iri``.

    Each term is written once per graph, in the form of rdflib's N-Triples serializer,
    because the terms of a note recur in many triples. UTF-8 keeps the order of code points,
    so sorting the lines as text sorts them as bytes.
    """
    written: dict[Node, str] = {}

    def term(node: Node) -> str:
        text = written.get(node)
        if text is None:
            # rdflib has no public function that writes one literal in N-Triples form.
            text = _quoteLiteral(node) if isinstance(node, Literal) else node.n3()
            written[node] = text
        return text

    suffix = f" <{graph_iri}> ."
    lines = sorted(f"{term(s)} {term(p)} {term(o)}{suffix}" for s, p, o in graph)
    return ("\n".join(lines) + "\n").encode() if lines else b"\n"


def _shacl_problems(graphs: NoteGraphs, note: NoteFile) -> list[Problem]:
    from ingest.validate import shacl_problems

    return shacl_problems(graphs.facts, graphs.provenance, note.display_path)


def _add_rename_aliases(stored_facts: bytes, facts: Graph) -> None:
    from ingest.aliases import add_rename_aliases

    add_rename_aliases(stored_facts, facts)


def _accept(result: _WorkerResult, minter: IriMinter) -> BuiltNote | None:
    """Mint a worker's labels with the run's minter; return the note if every IRI agrees.

    When an IRI differs, the minter is left as it was and None is returned.
    """
    mark = minter.checkpoint()
    for kind, label, explicit_id, where, iri in result.mints:
        if str(minter.entity(kind, label, explicit_id=explicit_id, where=where)) != iri:
            minter.rollback(mark)
            return None

    built = result.built
    # A note reports the minter's problems that its own labels caused, as NoteGraphs does.
    caused = minter.problems[mark[1] :]
    built.problems = built.problems + caused + result.shacl_problems
    return built


class _RecordingMinter(IriMinter):
    """A minter that records every entity IRI it returns."""

    def __init__(self, base_iri: str) -> None:
        super().__init__(base_iri)
        self.mints: list[Mint] = []

    def entity(
        self,
        kind: str,
        label: str,
        *,
        explicit_id: str | None = None,
        where: tuple[str, int] = ("", 0),
    ) -> URIRef:
        iri = super().entity(kind, label, explicit_id=explicit_id, where=where)
        self.mints.append((kind, label, explicit_id, where, str(iri)))
        return iri


# The settings of the run that started this worker process.
_worker_settings: BuildSettings | None = None


def _start_worker(settings: BuildSettings) -> None:
    global _worker_settings
    _worker_settings = settings
    # Collect as rarely as the ingest's process does. A forked worker inherits that setting,
    # a spawned one does not.
    gc.freeze()
    gc.set_threshold(INGEST_GC_THRESHOLD, *gc.get_threshold()[1:])


def _worker_task(task: BuildTask, read_graph: Callable[[str], bytes | None]) -> _WorkerTask:
    """Return the task with the stored graphs that the rename aliases may need.

    Graphs whose IRI ends like a provenance graph's are left out. A note whose facts graph
    IRI ends so, as that of a note named "provenance" does, is then built in this process.
    """
    if task.stored_graphs is None:
        return _WorkerTask(task.note, task.raw, None)

    stored = {}
    for iri in task.stored_graphs:
        if not iri.endswith(PROVENANCE_SUFFIX):
            stored[iri] = read_graph(iri) or b""
    return _WorkerTask(task.note, task.raw, stored)


def _build_in_worker(task: _WorkerTask) -> _WorkerResult | None:
    """Build one note with a minter of its own; None when only this process can build it.

    Only this process can build a note whose reading or building failed, so that this
    process raises the error. It can also build a note stored under other graph IRIs than
    the note gets now, because the rename aliases then need a graph that the task lacks.
    """
    settings = _worker_settings
    assert settings is not None, "the pool's initializer sets the settings"
    minter = _RecordingMinter(settings.base_iri)
    try:
        graphs = read_and_build(task.note, task.raw, settings.mapping, minter)
        shacl_problems = _shacl_problems(graphs, task.note) if settings.validate else []
        if task.stored_graphs is not None:
            if str(graphs.graph_iri) not in task.stored_graphs:
                return None
            stored_facts = task.stored_graphs[str(graphs.graph_iri)]
            if stored_facts:
                _add_rename_aliases(stored_facts, graphs.facts)
    except Exception:
        # The parent builds the note again and raises the error with its own traceback.
        logger.debug("building %s failed in a worker", task.note.display_path, exc_info=True)
        return None

    own_problems = graphs.problems[: len(graphs.problems) - len(minter.problems)]
    return _WorkerResult(_built(graphs, own_problems), shacl_problems, minter.mints)


def _start_method() -> multiprocessing.context.BaseContext:
    """Return the multiprocessing context for the workers: fork on Linux, else the default.

    A forked worker starts with the modules that this process imported, where a spawned one
    imports them again, which takes about half a second.
    """
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def available_processes() -> int:
    """Return the number of CPUs that this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
