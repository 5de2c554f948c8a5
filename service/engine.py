"""The query engine: one interface, with Oxigraph's engine as the implementation.

Every query on the graph goes through the QueryEngine interface, so a remote SPARQL 1.1 store
can replace the in-process engine without touching the views. The queries of the service's
pages go through ``query``. The queries that clients send go through ``run``, which stops a
query at its time limit.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, Protocol, TypeVar, cast

import pyoxigraph as ox
from sqlalchemy.exc import SQLAlchemyError

from service import query_processes
from service.engine_files import ConcatenatedStream, GenerationFolder
from service.query_processes import QueryProcesses, TemplateLost, WorkerLost, WorkerTimeout
from service.query_safety import (
    check_query_is_safe,
    has_dataset_clause,
    names_graphs,
    nesting_problem,
    undeclared_prefixes,
)
from service.store import Store

logger = logging.getLogger(__name__)

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


class QueryError(Exception):
    """The query is malformed or requests something the engine does not do."""


# Oxigraph's syntax error for a name with an undeclared prefix depends on where the name is,
# and is often "expected OPTIONAL" or a list of every Unicode range that a name may contain.
MAX_SYNTAX_MESSAGE_CHARS = 300
# A byte order mark that an editor wrote before a query file's text, which Oxigraph rejects.
BYTE_ORDER_MARK = "\ufeff"
# The name of the search index file in the folder of a generation's engine files.
SEARCH_INDEX_FILE = "search.sqlite"


# Oxigraph's syntax errors start with the line and column where parsing stopped.
SYNTAX_ERROR_PLACE = re.compile(r"^error at (?P<line>\d+):(?P<column>\d+): ")
# Oxigraph's error for a selected variable that no pattern binds, as without GROUP BY.
UNBOUND_SELECT = "The SELECT contains a variable that is unbound"
# Characters of the query's line on either side of that place that the message quotes.
SYNTAX_CONTEXT_CHARS = 30


def syntax_error(sparql: str, error: SyntaxError) -> QueryError:
    """Return a QueryError with Oxigraph's message, or naming an undeclared prefix if any.

    The message quotes the line where parsing stopped. Oxigraph's list of expected tokens often
    misses the one that is absent ("expected OPTIONAL" where a "." is missing), so the message
    also names the usual mistakes.
    """
    undeclared = undeclared_prefixes(sparql)
    if undeclared:
        prefix, line = undeclared[0]
        return QueryError(
            f"the prefix '{prefix}:' on line {line} is not declared; add PREFIX {prefix}: "
            f"<namespace IRI> before the query"
        )
    message = str(error)
    if UNBOUND_SELECT in message:
        return QueryError(
            "the SELECT names a variable that the query does not bind; with an aggregate such "
            "as COUNT, add GROUP BY with the other selected variables, as in SELECT ?s "
            "(COUNT(?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s"
        )
    place = SYNTAX_ERROR_PLACE.match(message)
    if place is None:
        return QueryError(_shortened(message))
    line, column = int(place.group("line")), int(place.group("column"))
    lines = sparql.splitlines() or [""]
    text = lines[min(line, len(lines)) - 1]
    start = max(column - 1 - SYNTAX_CONTEXT_CHARS, 0)
    quoted = text[start : column - 1 + SYNTAX_CONTEXT_CHARS].strip()
    if start > 0:
        quoted = "…" + quoted
    if column - 1 + SYNTAX_CONTEXT_CHARS < len(text):
        quoted += "…"
    return QueryError(
        f"syntax error on line {line} near column {column}: {quoted!r} (Oxigraph: "
        f"{_shortened(message[place.end() :])}); check for a missing '.', ')', '}}', '>' or AS, or "
        "a misspelled keyword, on that line or the line before"
    )


def _shortened(message: str) -> str:
    if len(message) <= MAX_SYNTAX_MESSAGE_CHARS:
        return message
    return message[:MAX_SYNTAX_MESSAGE_CHARS].rstrip() + " …"


class QueryTimeout(Exception):
    """The query ran longer than the time limit."""


class EngineBusy(Exception):
    """Too many queries are running at once; the client should retry later."""


class QueryAborted(Exception):
    """The process that ran the query exited before the query finished."""


Rendered = TypeVar("Rendered")

# A worker that reads Oxigraph's in-memory store writes to the pages it visits, so they become
# its own copies. A worker of an in-memory engine whose task ran this long exits after it.
RETIRE_IN_MEMORY_SECONDS = 0.5


@dataclass
class QueryResult:
    """The result of one query, cut to the row limit.

    ``kind`` is "boolean" for ASK, "solutions" for SELECT and "graph" for CONSTRUCT and
    DESCRIBE. ``truncated`` is true when rows or triples beyond the limit were dropped.
    """

    kind: Literal["boolean", "solutions", "graph"]
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False

    def bindings(self) -> list[dict[str, Term]]:
        """Return the rows as dictionaries from variable name to bound term."""
        return [
            {
                name: value
                for name, value in zip(self.variables, row, strict=True)
                if value is not None
            }
            for row in self.rows
        ]


class QueryEngine(Protocol):
    """The SPARQL engine interface that the service uses."""

    generation: int
    # The generation with the identity of its store, which caches and entity tags use, because
    # a new store numbers its generations from 1 again.
    version: str
    triple_count: int

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        timeout: float = 30.0,
        max_rows: int = 10_000,
        base_iri: str | None = None,
        anchored: bool = False,
    ) -> QueryResult:
        """Run a read-only SPARQL query and return its result, cut to ``max_rows``.

        ``base_iri`` resolves relative IRIs in the query; None leaves them invalid.
        ``anchored`` tells that the query reads only the triples around IRIs that it names,
        as an entity page's queries do, so an engine may run it in a cheaper way.
        """
        ...

    def run(
        self,
        sparql: str,
        *,
        render: Callable[[QueryResult], Rendered],
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        timeout: float = 30.0,
        max_rows: int = 10_000,
        base_iri: str | None = None,
    ) -> Rendered:
        """Run a client's read-only query, stopped at ``timeout``; return ``render(result)``.

        ``render`` may run in another process: it must be picklable, and so must what it
        returns.
        """
        ...

    def dump(
        self,
        rdf_format: ox.RdfFormat,
        prefixes: dict[str, str] | None = None,
        *,
        merge: bool = False,
    ) -> bytes:
        """Serialize the whole graph: quad formats keep the named graphs, others merge them.

        With ``merge``, every format gets the merged default graph, as a plain JSON-LD graph.
        """
        ...

    @property
    def download_folder(self) -> Path | None:
        """Return a folder of this generation for serialized downloads, or None for none."""
        ...

    @property
    def search_index_file(self) -> Path | None:
        """Return the file for this generation's search index, or None to keep it in memory."""
        ...

    def rows_here(self, sparql: str) -> Iterator[tuple[object, ...]]:
        """Yield the rows of a query of the merged graph, run in this process with no limits.

        It serves work in a forked process, such as writing the search index file, where the
        server's query threads do not run.
        """
        ...

    def dump_file(
        self,
        rdf_format: ox.RdfFormat,
        path: Path,
        prefixes: dict[str, str] | None = None,
        *,
        merge: bool = False,
    ) -> None:
        """Serialize the whole graph into the file at ``path``, as ``dump`` does into bytes."""
        ...


@dataclass(frozen=True)
class ClientQuery(Generic[Rendered]):
    """A client's query as it travels to a worker process."""

    sparql: str
    default_graphs: list[str] | None
    named_graphs: list[str] | None
    max_rows: int
    base_iri: str | None
    render: Callable[[QueryResult], Rendered]


class OxigraphEngine:
    """Oxigraph's SPARQL engine over one store generation.

    The engine has two Oxigraph stores. ``store`` has the named graphs as they are stored.
    ``merged`` has one default graph, the RDF merge of the named graphs, in which a triple that
    several graphs contain is one triple, as SPARQL defines the merge of a dataset's graphs.
    A query that names no graph (no FROM, no GRAPH, no graph in the request) runs on
    ``merged``, so its rows and counts never repeat for each note that states the same fact.
    Oxigraph also evaluates such queries several times faster on a store without the named
    graphs. Other queries run on ``store``.

    The server's engine opens the two stores read-only from a generation's folder of engine
    files (``from_folder``, service.engine_files): ``merged`` at the start and ``store`` on
    first use. ``from_store`` loads them into memory instead, as for ``notekg export`` and
    ``notekg query``.

    At most ``max_concurrent_queries`` queries run at once: a query takes one of the engine's
    slots before it starts, whichever way it runs.

    The service's own queries (``query``) run in reused threads of this process, where Oxigraph
    releases the GIL. A query that outlives its limit stops at its next result row. An
    anchored query runs on the caller's thread instead. That saves handing it to a thread and
    back, about 0.1 ms per query on 2 cores, and a quarter of an uncached entity page's time.
    Its limit is checked at each result row too, so it can pass the limit by the time
    Oxigraph takes to its first row, which for such a query grows with the triples around its
    IRIs only. Clients'
    queries (``run``) run in worker processes forked from this one (service.query_processes),
    and a worker that outlives the limit is killed, so that the query stops at once. Workers of
    an engine with a folder open the folder's stores themselves, read-only.
    """

    def __init__(
        self,
        oxigraph_store: ox.Store | None,
        generation: int,
        *,
        merged: ox.Store | None = None,
        folder: GenerationFolder | None = None,
        triple_count: int | None = None,
        merged_triple_count: int | None = None,
        service_allowlist: Iterable[str] = (),
        max_concurrent_queries: int = 8,
        query_processes: int = 2,
        store_id: str = "",
    ) -> None:
        """Serve ``oxigraph_store``; ``merged`` is its merged default graph, built when None.

        ``folder`` is where the two stores were opened from. ``oxigraph_store`` may be None with
        a folder, ``merged`` and ``triple_count``: the named store is then opened on first use.
        ``triple_count`` is the number of quads in ``oxigraph_store`` and
        ``merged_triple_count`` the number of triples in ``merged``, when known, which saves
        counting them. ``store_id`` is the identity of the store that the generation is from
        (``Store.store_id``), which ``version`` contains.
        """
        if oxigraph_store is None and (folder is None or merged is None or triple_count is None):
            raise ValueError(
                "invalid engine: without oxigraph_store, pass folder, merged and triple_count"
            )
        self._store = oxigraph_store
        self._store_lock = threading.Lock()
        self.merged = merged if merged is not None else merged_store(self.store)
        self.generation = generation
        self.version = (
            f"generation-{generation}-{store_id[:12]}" if store_id else f"generation-{generation}"
        )
        self.folder = folder
        self.triple_count = len(self.store) if triple_count is None else triple_count
        self._merged_triple_count = merged_triple_count
        self.service_allowlist = frozenset(service_allowlist)
        self._slots = threading.BoundedSemaphore(max_concurrent_queries)
        self._threads = _QueryThreads()
        self._processes: QueryProcesses | None = None
        self._processes_lock = threading.Lock()
        # The stores that a query process opened, the merged one under True, and its ID.
        self._worker_stores: dict[bool, ox.Store] = {}
        self._worker_pid = 0
        # Each worker process of an engine without a folder keeps its own copy of every page
        # of the graph that its queries read, so their number bounds the memory that client
        # queries can take.
        self.query_processes = query_processes
        self._process_slots = threading.BoundedSemaphore(max(query_processes, 1))

    @property
    def store(self) -> ox.Store:
        """The store of the named graphs, opened from the folder on first use.

        Only queries with GRAPH or FROM, graph pages and dumps read it, and an open store takes
        a few MiB of memory in every server process.
        """
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    assert self.folder is not None, "only an engine with a folder opens later"
                    self._store = ox.Store.read_only(str(self.folder.named_path))
        return self._store

    @property
    def merged_triple_count(self) -> int:
        """The number of triples in the merged default graph, counted on first use."""
        if self._merged_triple_count is None:
            self._merged_triple_count = len(self.merged)
        return self._merged_triple_count

    @classmethod
    def from_store(cls, store: Store, **options: object) -> OxigraphEngine:
        """Load the store's current generation into a new in-memory engine."""
        started = time.perf_counter()
        generation = store.current_generation_id() or 0
        oxigraph_store = ox.Store()

        if generation:
            oxigraph_store.bulk_load(
                input=cast("IO[bytes]", ConcatenatedStream(store.iter_nquads(generation))),
                format=ox.RdfFormat.N_QUADS,
            )

        loaded = time.perf_counter()
        engine = cls(
            oxigraph_store,
            generation,
            store_id=_store_id(store),
            **options,  # type: ignore[arg-type]
        )
        # Fork the query processes before any thread can query the new graph.
        engine.start_query_processes()
        logger.info(
            "loaded generation %s: %s quads in %.2f s, merged into %s triples in %.2f s",
            generation,
            engine.triple_count,
            loaded - started,
            engine.merged_triple_count,
            time.perf_counter() - loaded,
        )
        return engine

    @classmethod
    def from_folder(cls, folder: GenerationFolder, **options: object) -> OxigraphEngine:
        """Open the stores of a generation's folder of engine files, read-only."""
        started = time.perf_counter()
        # The named store opens on first use. Opening it once here reports damaged files at
        # the start, and the store closes again at once, which gives its memory back.
        ox.Store.read_only(str(folder.named_path))
        engine = cls(
            None,
            folder.generation,
            merged=ox.Store.read_only(str(folder.merged_path)),
            folder=folder,
            triple_count=folder.quads,
            merged_triple_count=folder.triples,
            store_id=folder.store_id,
            **options,  # type: ignore[arg-type]
        )
        engine.start_query_processes()
        logger.info(
            "opened generation %s from %s: %s quads, %s triples merged, in %.2f s",
            folder.generation,
            folder.path,
            folder.quads,
            folder.triples,
            time.perf_counter() - started,
        )
        return engine

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        timeout: float = 30.0,
        max_rows: int = 10_000,
        base_iri: str | None = None,
        anchored: bool = False,
    ) -> QueryResult:
        sparql = sparql.removeprefix(BYTE_ORDER_MARK)
        _check_query(sparql, self.service_allowlist)
        default_nodes = _graph_nodes(default_graphs, "default graph")
        named_nodes = _graph_nodes(named_graphs, "named graph")

        if not self._slots.acquire(blocking=False):
            raise EngineBusy("too many queries are running; retry in a few seconds")
        if anchored:
            return self._run_here(sparql, default_nodes, named_nodes, timeout, max_rows, base_iri)

        future: Future[QueryResult] = Future()
        cancelled = threading.Event()
        self._threads.submit(
            lambda: self._run(
                future, cancelled, sparql, default_nodes, named_nodes, max_rows, base_iri
            )
        )
        try:
            return future.result(timeout=timeout)
        except TimeoutError as error:
            cancelled.set()
            raise QueryTimeout(f"the query ran longer than the limit of {timeout:g} s") from error

    def run(
        self,
        sparql: str,
        *,
        render: Callable[[QueryResult], Rendered],
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        timeout: float = 30.0,
        max_rows: int = 10_000,
        base_iri: str | None = None,
    ) -> Rendered:
        if not self.query_processes:
            result = self.query(
                sparql,
                default_graphs=default_graphs,
                named_graphs=named_graphs,
                timeout=timeout,
                max_rows=max_rows,
                base_iri=base_iri,
            )
            return render(result)

        sparql = sparql.removeprefix(BYTE_ORDER_MARK)
        _check_query(sparql, self.service_allowlist)
        _graph_nodes(default_graphs, "default graph")
        _graph_nodes(named_graphs, "named graph")
        task = ClientQuery(sparql, default_graphs, named_graphs, max_rows, base_iri, render)

        if not self._slots.acquire(blocking=False):
            raise EngineBusy("too many queries are running; retry in a few seconds")
        started = time.monotonic()
        if not self._process_slots.acquire(timeout=timeout):
            self._slots.release()
            raise EngineBusy(
                f"the query waited {timeout:g} s for a free query process, because other "
                "queries used them all, and did not run; retry in a few seconds"
            )
        try:
            remaining = max(timeout - (time.monotonic() - started), 0.001)
            return cast("Rendered", self._query_processes().run(task, remaining))
        except WorkerTimeout as error:
            raise QueryTimeout(
                f"the query ran longer than the limit of {timeout:g} s and was stopped"
            ) from error
        except WorkerLost as error:
            if isinstance(error, TemplateLost):
                # The next query forks a new template.
                self.close()
            raise QueryAborted(
                "the process running the query stopped before the query finished, as when it "
                "runs out of memory; retry, or narrow the query"
            ) from error
        finally:
            self._process_slots.release()
            self._slots.release()

    def start_query_processes(self) -> None:
        """Fork the template of the query worker processes, unless they are turned off."""
        if self.query_processes:
            self._query_processes()

    def close(self) -> None:
        """Stop the query worker processes; queries through ``query`` keep working."""
        with self._processes_lock:
            processes, self._processes = self._processes, None
        if processes is not None:
            processes.close()

    def _query_processes(self) -> QueryProcesses:
        with self._processes_lock:
            if self._processes is None:
                self._processes = QueryProcesses(
                    self._run_client_query,
                    warm_up=self._open_merged_store,
                    # Reading a store on disk writes to no page of the graph, so a long query
                    # or many queries leave a worker as small as before.
                    retire_after_seconds=None if self.folder else RETIRE_IN_MEMORY_SECONDS,
                    retire_after_tasks=None if self.folder else query_processes.RETIRE_AFTER_TASKS,
                )
            return self._processes

    def _client_store(self, merged: bool) -> ox.Store:
        """Return the merged or the named store for a client's query in this process.

        A worker process of an engine with a folder opens the folder's stores for itself,
        because the handles it inherited belong to RocksDB threads that the fork left behind.
        It opens each store on first use: a store takes a few MiB once open, and a process
        that runs no query with GRAPH or FROM never reads the named graphs.
        """
        if self.folder is None:
            return self.merged if merged else self.store
        if self._worker_pid != os.getpid():
            self._worker_stores = {}
            self._worker_pid = os.getpid()
        store = self._worker_stores.get(merged)
        if store is None:
            path = self.folder.merged_path if merged else self.folder.named_path
            store = self._worker_stores[merged] = ox.Store.read_only(str(path))
        return store

    def _open_merged_store(self) -> ox.Store:
        """Open the merged store, which most clients' queries read, before the first query."""
        return self._client_store(merged=True)

    def _run_client_query(self, task: ClientQuery[Rendered]) -> Rendered:
        """Run a client's query; this runs in a worker process."""
        try:
            raw = self._execute(
                functools.partial(self._client_store, merged=False),
                self._client_store(merged=True),
                task.sparql,
                _graph_nodes(task.default_graphs, "default graph"),
                _graph_nodes(task.named_graphs, "named graph"),
                task.base_iri,
            )
            result = _collect(raw, task.max_rows, _never)
        except SyntaxError as error:
            raise syntax_error(task.sparql, error) from None
        return task.render(result)

    def _run(
        self,
        future: Future[QueryResult],
        cancelled: threading.Event,
        sparql: str,
        default_graphs: list[ox.NamedNode] | None,
        named_graphs: list[ox.NamedNode] | None,
        max_rows: int,
        base_iri: str | None,
    ) -> None:
        # The slot is released only when Oxigraph returns, so queries that outlive their time
        # limit still count against max_concurrent_queries.
        # pyoxigraph 0.5 cannot interrupt a running query, so a timed-out query of the service
        # stops only at its next result row. The service's queries are bounded by their LIMIT
        # clauses. Clients' queries are not, so they go through run and its worker processes.
        try:
            raw = self._execute(
                self._named_store, self.merged, sparql, default_graphs, named_graphs, base_iri
            )
            future.set_result(_collect(raw, max_rows, cancelled.is_set))
        except SyntaxError as error:
            future.set_exception(syntax_error(sparql, error))
        except BaseException as error:  # handed to the waiting request, which logs it
            future.set_exception(error)
        finally:
            self._slots.release()

    def _run_here(
        self,
        sparql: str,
        default_graphs: list[ox.NamedNode] | None,
        named_graphs: list[ox.NamedNode] | None,
        timeout: float,
        max_rows: int,
        base_iri: str | None,
    ) -> QueryResult:
        """Run a query on this thread, in the slot that the caller took; release the slot."""
        deadline = time.monotonic() + timeout

        def past_limit() -> bool:
            if time.monotonic() > deadline:
                raise QueryTimeout(f"the query ran longer than the limit of {timeout:g} s")
            return False

        try:
            raw = self._execute(
                self._named_store, self.merged, sparql, default_graphs, named_graphs, base_iri
            )
            return _collect(raw, max_rows, past_limit)
        except SyntaxError as error:
            raise syntax_error(sparql, error) from None
        finally:
            self._slots.release()

    def _named_store(self) -> ox.Store:
        """Return the store of the named graphs that this process opened or loaded."""
        return self.store

    def _execute(
        self,
        named: Callable[[], ox.Store],
        merged: ox.Store,
        sparql: str,
        default_graphs: list[ox.NamedNode] | None,
        named_graphs: list[ox.NamedNode] | None,
        base_iri: str | None,
    ) -> object:
        # A dataset given by the request replaces the query's FROM clauses, and a request that
        # names only default graphs has no named graphs (SPARQL 1.1 Protocol,
        # https://www.w3.org/TR/sparql11-protocol/). Oxigraph's union option would replace the
        # FROM clauses too, so it is set only when neither the request nor the query names one.
        options: dict[str, object] = {"base_iri": base_iri}
        if default_graphs or named_graphs:
            options["default_graph"] = default_graphs or []
            options["named_graphs"] = named_graphs or []
        elif not names_graphs(sparql):
            return merged.query(sparql, **options)  # type: ignore[arg-type]
        elif not has_dataset_clause(sparql):
            # NOTE: a query with GRAPH runs on the named graphs. There Oxigraph's union default
            # graph has a triple once for each graph that contains it, so the patterns outside
            # GRAPH may repeat rows that the merged default graph would give once.
            options["use_default_graph_as_union"] = True

        return named().query(sparql, **options)  # type: ignore[arg-type]

    def graph_triples(self, graph_iri: str) -> list[ox.Triple] | None:
        """Return the triples of one named graph, or None when the generation has no such graph."""
        graph = ox.NamedNode(graph_iri)
        quads = self.store.quads_for_pattern(None, None, None, graph)
        triples = [quad.triple for quad in quads]
        return triples or None

    def dump(
        self,
        rdf_format: ox.RdfFormat,
        prefixes: dict[str, str] | None = None,
        *,
        merge: bool = False,
    ) -> bytes:
        return _written(self._dump(rdf_format, None, prefixes, merge))

    @property
    def download_folder(self) -> Path | None:
        # The folder of the generation's engine files, which is removed with them. A graph
        # in memory is small enough to serialize into memory.
        return self.folder.path / "downloads" if self.folder else None

    @property
    def search_index_file(self) -> Path | None:
        return self.folder.path / SEARCH_INDEX_FILE if self.folder else None

    def rows_here(self, sparql: str) -> Iterator[tuple[object, ...]]:
        solutions = cast(ox.QuerySolutions, self._client_store(merged=True).query(sparql))
        for solution in solutions:
            yield tuple(solution)

    def dump_file(
        self,
        rdf_format: ox.RdfFormat,
        path: Path,
        prefixes: dict[str, str] | None = None,
        *,
        merge: bool = False,
    ) -> None:
        self._dump(rdf_format, path, prefixes, merge)

    def _dump(
        self,
        rdf_format: ox.RdfFormat,
        output: Path | None,
        prefixes: dict[str, str] | None,
        merge: bool,
    ) -> bytes | None:
        if rdf_format.supports_datasets and not merge:
            return self.store.dump(output, rdf_format, prefixes=prefixes)

        # The merged default graph has a triple once, however many graphs contain it.
        return self.merged.dump(output, rdf_format, from_graph=ox.DefaultGraph(), prefixes=prefixes)


def _check_query(sparql: str, service_allowlist: Iterable[str]) -> None:
    """Raise ForbiddenQuery for a SERVICE call that is not allowed, QueryError for deep nesting."""
    check_query_is_safe(sparql, service_allowlist)
    problem = nesting_problem(sparql)
    if problem is not None:
        raise QueryError(problem)


def _store_id(store: Store) -> str:
    """Return the store's identity, or a new random one when the store cannot record one.

    A random identity changes with each load, so entity tags then differ between processes.
    """
    try:
        return store.store_id()
    except SQLAlchemyError as error:
        logger.warning("cannot read the identity of the store: %s", error)
        return uuid.uuid4().hex


def merged_store(named: ox.Store) -> ox.Store:
    """Return a store whose default graph is the RDF merge of the named graphs of ``named``."""
    merged = ox.Store()
    if len(named):
        # CONSTRUCT, serialization and bulk loading all run in Oxigraph, which is several times
        # faster than copying 1 million triples through Python objects.
        everything = cast(
            ox.QueryTriples, named.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        )
        merged.bulk_load(
            _written(everything.serialize(format=ox.RdfFormat.N_TRIPLES)),
            format=ox.RdfFormat.N_TRIPLES,
        )
    return merged


def _written(data: bytes | None) -> bytes:
    """Return what a pyoxigraph serializer wrote; it returns bytes when given no output."""
    assert data is not None
    return data


def _graph_nodes(iris: list[str] | None, role: str) -> list[ox.NamedNode] | None:
    """Convert the graph IRIs of a request, raising QueryError on an invalid one."""
    if iris is None:
        return None
    nodes = []
    for iri in iris:
        try:
            nodes.append(ox.NamedNode(iri))
        except ValueError as error:
            raise QueryError(f"invalid {role} IRI {iri!r}: {error}") from error
    return nodes


def _collect(raw: object, max_rows: int, stop: Callable[[], bool]) -> QueryResult:
    """Read a pyoxigraph result into a QueryResult of at most ``max_rows`` rows.

    ``stop`` is called before each row. When it returns True, the rows end there, as truncated.
    """
    if isinstance(raw, ox.QueryBoolean):
        return QueryResult("boolean", boolean=bool(raw))

    if isinstance(raw, ox.QuerySolutions):
        variables = [variable.value for variable in raw.variables]
        # A QuerySolution iterates over its values in the order of raw.variables, with None
        # for an unbound variable (pyoxigraph 0.5), which is the row layout of QueryResult.
        rows, truncated = _take((tuple(solution) for solution in raw), max_rows, stop)
        return QueryResult("solutions", variables=variables, rows=rows, truncated=truncated)

    triples, truncated = _take(iter(raw), max_rows, stop)  # type: ignore[call-overload]
    return QueryResult("graph", triples=triples, truncated=truncated)


def _never() -> bool:
    return False


def _take(items: Iterator, max_rows: int, stop: Callable[[], bool]) -> tuple[list, bool]:
    taken: list[Any] = []
    for item in items:
        if len(taken) == max_rows:
            return taken, True
        if stop():
            return taken, True
        taken.append(item)
    return taken, False


class _QueryThreads:
    """Daemon threads that run submitted tasks, started on demand and reused across tasks.

    A thread that had no task for ``IDLE_SECONDS`` exits, so the threads of an engine that a
    newer generation replaced go away. The threads are daemons, like one thread per query
    would be, so a query that never returns does not keep the process from exiting.
    """

    IDLE_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Callable[[], None] | None]] = []

    def submit(self, task: Callable[[], None]) -> None:
        """Run the task on an idle thread, or on a new one when every thread is busy."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is not None:
            inbox.put(task)
            return

        inbox = queue.SimpleQueue()
        inbox.put(task)
        thread = threading.Thread(
            target=self._work, args=(inbox,), name="sparql-query", daemon=True
        )
        thread.start()

    def _work(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        # The thread's name says whether it runs a query now: "sparql-query" or "sparql-idle".
        thread = threading.current_thread()
        task = inbox.get()
        while task is not None:
            thread.name = "sparql-query"
            task()
            with self._lock:
                thread.name = "sparql-idle"
                self._idle.append(inbox)
            task = self._next_task(inbox)

    def _next_task(
        self, inbox: queue.SimpleQueue[Callable[[], None] | None]
    ) -> Callable[[], None] | None:
        """Wait for the next task; return None when the thread should exit after idling."""
        try:
            return inbox.get(timeout=self.IDLE_SECONDS)
        except queue.Empty:
            pass

        with self._lock:
            if inbox in self._idle:
                self._idle.remove(inbox)
                return None
        # submit took this inbox off the idle list just before the lock, so a task is coming.
        return inbox.get()
