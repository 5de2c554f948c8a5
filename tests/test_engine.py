"""Tests of the Oxigraph query engine loaded from a SQLite store."""

from __future__ import annotations

import functools
import itertools
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from processes import exists, live_children, wait_until

from service import query_processes
from service.engine import (
    RETIRE_IN_MEMORY_SECONDS,
    EngineBusy,
    OxigraphEngine,
    QueryAborted,
    QueryError,
    QueryResult,
    QueryTimeout,
)
from service.query_safety import ForbiddenQuery
from service.store import GenerationChange, NewGraph, Store

EX = "https://notekg.example/id/"
GRAPH_PEOPLE = EX + "graph/people"
GRAPH_PLACES = EX + "graph/places"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Two named graphs. The literals cover non-ASCII text, a language tag and typed values.
PEOPLE_NQUADS = f"""\
<{EX}alice> <{EX}knows> <{EX}bob> <{GRAPH_PEOPLE}> .
<{EX}alice> <{EX}name> "Zoë Ångström — 東京" <{GRAPH_PEOPLE}> .
<{EX}alice> <{EX}born> "1990-05-17"^^<{XSD}date> <{GRAPH_PEOPLE}> .
<{EX}alice> <{EX}height> "1.72"^^<{XSD}decimal> <{GRAPH_PEOPLE}> .
""".encode()
PLACES_NQUADS = f"""\
<{EX}bob> <{EX}livesIn> <{EX}zurich> <{GRAPH_PLACES}> .
<{EX}zurich> <{EX}label> "Zürich"@de <{GRAPH_PLACES}> .
<{EX}zurich> <{EX}population> "421878"^^<{XSD}integer> <{GRAPH_PLACES}> .
""".encode()

SLOW_QUERY_TRIPLES = 20_000
# Every pair of triples: 400 million rows for 20,000 triples, produced one at a time.
CROSS_JOIN = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"


def write_graphs(database_url: str, graphs: dict[str, bytes]) -> None:
    store = Store(database_url)
    added = [
        NewGraph(
            iri,
            source=f"{iri}.txt",
            content_hash="test",
            nquads=nquads,
            triple_count=nquads.count(b"\n"),
        )
        for iri, nquads in graphs.items()
    ]
    store.write_generation(GenerationChange(added=added, dropped=[]))
    store.close()


def load_engine(database_url: str, **options: object) -> OxigraphEngine:
    store = Store(database_url)
    try:
        return OxigraphEngine.from_store(store, **options)
    finally:
        store.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    write_graphs(url, {GRAPH_PEOPLE: PEOPLE_NQUADS, GRAPH_PLACES: PLACES_NQUADS})
    return url


@pytest.fixture
def engine(database_url: str) -> OxigraphEngine:
    return load_engine(database_url)


def large_engine(max_concurrent_queries: int) -> OxigraphEngine:
    """Build an engine with SLOW_QUERY_TRIPLES triples, so that CROSS_JOIN runs for minutes."""
    store = ox.Store()
    graph = ox.NamedNode(EX + "graph/large")
    predicate = ox.NamedNode(EX + "value")
    store.extend(
        ox.Quad(ox.NamedNode(f"{EX}item/{number}"), predicate, ox.Literal(number), graph)
        for number in range(SLOW_QUERY_TRIPLES)
    )
    return OxigraphEngine(store, generation=1, max_concurrent_queries=max_concurrent_queries)


def subjects(engine: OxigraphEngine, sparql: str, **options: object) -> set[str]:
    result = engine.query(sparql, **options)  # type: ignore[arg-type]
    return {row["s"].value for row in result.bindings()}


def wait_for_query_thread(present: bool, timeout: float = 10.0) -> None:
    """Wait until a "sparql-query" worker thread runs (present) or none runs (not present)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = any(thread.name == "sparql-query" for thread in threading.enumerate())
        if running == present:
            return
        time.sleep(0.01)
    raise AssertionError(f"no change within {timeout} s: sparql-query thread running={not present}")


def test_from_store_loads_current_generation(engine: OxigraphEngine) -> None:
    assert engine.generation == 1
    assert engine.triple_count == 7


def test_from_empty_store_has_generation_zero(tmp_path: Path) -> None:
    engine = load_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")

    assert engine.generation == 0
    assert engine.triple_count == 0


def test_default_graph_is_union_of_named_graphs(engine: OxigraphEngine) -> None:
    found = subjects(engine, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }")

    assert found == {EX + "alice", EX + "bob", EX + "zurich"}


def test_union_default_graph_joins_across_graphs(engine: OxigraphEngine) -> None:
    sparql = f"SELECT ?place WHERE {{ <{EX}alice> <{EX}knows> ?f . ?f <{EX}livesIn> ?place }}"

    result = engine.query(sparql)

    assert result.bindings() == [{"place": ox.NamedNode(EX + "zurich")}]


def test_default_graphs_restricts_default_graph(engine: OxigraphEngine) -> None:
    found = subjects(engine, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }", default_graphs=[GRAPH_PLACES])

    assert found == {EX + "bob", EX + "zurich"}


def test_named_graphs_limit_graph_clause(engine: OxigraphEngine) -> None:
    result = engine.query(
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=[GRAPH_PEOPLE]
    )

    assert result.bindings() == [{"g": ox.NamedNode(GRAPH_PEOPLE)}]


def test_graph_clause_sees_every_named_graph(engine: OxigraphEngine) -> None:
    result = engine.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")

    assert {row["g"].value for row in result.bindings()} == {GRAPH_PEOPLE, GRAPH_PLACES}


def test_from_clause_replaces_union(engine: OxigraphEngine) -> None:
    found = subjects(engine, f"SELECT DISTINCT ?s FROM <{GRAPH_PEOPLE}> WHERE {{ ?s ?p ?o }}")

    assert found == {EX + "alice"}


def test_invalid_graph_iri_raises_query_error(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError, match="invalid default graph IRI 'not an iri'"):
        engine.query("SELECT * WHERE { ?s ?p ?o }", default_graphs=["not an iri"])


def test_select_returns_solutions(engine: OxigraphEngine) -> None:
    result = engine.query(f"SELECT ?o WHERE {{ <{EX}alice> <{EX}knows> ?o }}")

    assert result.kind == "solutions"
    assert result.variables == ["o"]
    assert result.rows == [(ox.NamedNode(EX + "bob"),)]
    assert result.truncated is False


def test_select_unbound_variable_is_none(engine: OxigraphEngine) -> None:
    result = engine.query(
        f"SELECT ?o ?missing WHERE {{ <{EX}alice> <{EX}knows> ?o "
        f"OPTIONAL {{ ?o <{EX}nothing> ?missing }} }}"
    )

    assert result.rows == [(ox.NamedNode(EX + "bob"), None)]
    assert result.bindings() == [{"o": ox.NamedNode(EX + "bob")}]


@pytest.mark.parametrize(
    ("sparql", "expected"),
    [
        (f"ASK {{ <{EX}alice> <{EX}knows> <{EX}bob> }}", True),
        (f"ASK {{ <{EX}bob> <{EX}knows> <{EX}alice> }}", False),
    ],
)
def test_ask_returns_boolean(engine: OxigraphEngine, sparql: str, expected: bool) -> None:
    result = engine.query(sparql)

    assert result.kind == "boolean"
    assert result.boolean is expected


def test_construct_returns_graph(engine: OxigraphEngine) -> None:
    result = engine.query(f"CONSTRUCT {{ ?o <{EX}knownBy> ?s }} WHERE {{ ?s <{EX}knows> ?o }}")

    assert result.kind == "graph"
    assert result.triples == [
        ox.Triple(
            ox.NamedNode(EX + "bob"), ox.NamedNode(EX + "knownBy"), ox.NamedNode(EX + "alice")
        )
    ]


def test_describe_returns_graph(engine: OxigraphEngine) -> None:
    result = engine.query(f"DESCRIBE <{EX}zurich>")

    assert result.kind == "graph"
    assert {triple.predicate.value for triple in result.triples} == {
        EX + "label",
        EX + "population",
    }


def test_row_limit_sets_truncated(engine: OxigraphEngine) -> None:
    result = engine.query("SELECT * WHERE { ?s ?p ?o }", max_rows=3)

    assert len(result.rows) == 3
    assert result.truncated is True


def test_row_limit_equal_to_rows_is_not_truncated(engine: OxigraphEngine) -> None:
    result = engine.query("SELECT * WHERE { ?s ?p ?o }", max_rows=7)

    assert len(result.rows) == 7
    assert result.truncated is False


def test_triple_limit_sets_truncated(engine: OxigraphEngine) -> None:
    result = engine.query("CONSTRUCT WHERE { ?s ?p ?o }", max_rows=2)

    assert len(result.triples) == 2
    assert result.truncated is True


def test_slow_query_raises_timeout_quickly() -> None:
    engine = large_engine(max_concurrent_queries=4)
    started = time.monotonic()

    with pytest.raises(QueryTimeout, match="limit of 0.2 s"):
        engine.query(CROSS_JOIN, timeout=0.2, max_rows=10**9)

    assert time.monotonic() - started < 2.0
    wait_for_query_thread(present=False)


def test_query_after_timeout_succeeds() -> None:
    engine = large_engine(max_concurrent_queries=4)
    with pytest.raises(QueryTimeout):
        engine.query(CROSS_JOIN, timeout=0.1, max_rows=10**9)

    result = engine.query(f"ASK {{ <{EX}item/7> <{EX}value> 7 }}", timeout=10)

    assert result.boolean is True
    wait_for_query_thread(present=False)


def test_sequential_queries_reuse_one_thread(engine: OxigraphEngine) -> None:
    def query_threads() -> set[threading.Thread]:
        return {thread for thread in threading.enumerate() if thread.name.startswith("sparql-")}

    # Threads of engines from earlier tests may still be alive, so only new ones count.
    earlier = query_threads()
    engine.query(f"ASK {{ <{EX}item/1> ?p ?o }}")
    after_first = query_threads() - earlier
    # The thread renames itself after it hands over the result, then waits for the next query.
    deadline = time.monotonic() + 5.0
    while any(thread.name != "sparql-idle" for thread in after_first):
        assert time.monotonic() < deadline, "the query thread did not become idle within 5 s"
        time.sleep(0.01)
    engine.query(f"ASK {{ <{EX}item/2> ?p ?o }}")
    after_second = query_threads() - earlier

    assert len(after_first) == 1
    assert after_second == after_first


def test_second_query_raises_engine_busy() -> None:
    engine = large_engine(max_concurrent_queries=1)
    slow_outcome: list[BaseException] = []

    def run_slow_query() -> None:
        try:
            engine.query(CROSS_JOIN, timeout=1.0, max_rows=10**9)
        except QueryTimeout as error:
            slow_outcome.append(error)

    slow = threading.Thread(target=run_slow_query)
    slow.start()
    try:
        wait_for_query_thread(present=True)
        with pytest.raises(EngineBusy, match="retry"):
            engine.query("ASK { ?s ?p ?o }")
    finally:
        slow.join(timeout=30)

    assert len(slow_outcome) == 1
    wait_for_query_thread(present=False)
    assert engine.query("ASK { ?s ?p ?o }").boolean is True


def test_anchored_query_runs_on_calling_thread(engine: OxigraphEngine) -> None:
    sparql = f"SELECT ?p ?o WHERE {{ <{EX}alice> ?p ?o }} ORDER BY ?p"
    wait_for_query_thread(present=False)
    threads_before = set(threading.enumerate())

    anchored = engine.query(sparql, anchored=True)

    assert set(threading.enumerate()) <= threads_before
    assert len(anchored.rows) == 4
    assert anchored.rows == engine.query(sparql).rows


def test_anchored_query_stops_at_time_limit() -> None:
    engine = large_engine(max_concurrent_queries=1)
    started = time.monotonic()

    with pytest.raises(QueryTimeout, match="limit of 0.2 s"):
        engine.query(CROSS_JOIN, timeout=0.2, max_rows=10**9, anchored=True)

    assert time.monotonic() - started < 2.0
    # The only slot was given back.
    assert engine.query("ASK { ?s ?p ?o }", anchored=True).boolean is True


def test_anchored_syntax_error_raises_query_error(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError, match=r"syntax error on line 1 near column \d+"):
        engine.query("SELECT ?s WHERE { ?s ?p }", anchored=True)


def test_syntax_error_raises_query_error_with_parser_message(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError, match=r"syntax error on line 1 near column \d+: .*Oxigraph: "):
        engine.query("SELECT ?s WHERE { ?s ?p }")


def test_syntax_error_quotes_line_and_names_mistakes(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError) as raised:
        engine.query("SELECT ?s WHERE {\n  ?s <https://e.org/p> ?o\n  ?o <https://e.org/q> ?z }")
    message = str(raised.value)

    # Oxigraph stops at the pattern after the missing ".", on the next line.
    assert message.startswith("syntax error on line 3 near column ")
    assert "'?o <https://e.org/q> ?z }'" in message
    assert "on that line or the line before" in message
    assert "check for a missing '.', ')', '}', '>' or AS" in message


def test_aggregate_without_group_by_gets_advice(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError) as raised:
        engine.query("SELECT ?s (COUNT(?o) AS ?c) WHERE { ?s ?p ?o }")

    assert "add GROUP BY with the other selected variables" in str(raised.value)


def test_syntax_error_shortens_long_line(engine: OxigraphEngine) -> None:
    filler = " ".join(f"?v{number}" for number in range(40))
    with pytest.raises(QueryError) as raised:
        engine.query(f"SELECT {filler} WHERE {{ ?s ?p ?o }} LIMT 5")
    quoted = str(raised.value).split(": ", 1)[1].split(" (Oxigraph")[0]

    assert quoted.startswith("'…")
    assert len(quoted) <= 2 * 30 + 4


@pytest.mark.parametrize("client", [False, True], ids=["service", "client"])
@pytest.mark.parametrize(
    "pattern", ["?s ?p foo:b", "?s foo:p ?o", "foo:a ?p ?o", "?s ?p ?o FILTER(?o = foo:b)"]
)
def test_undeclared_prefix_named_in_error(
    engine: OxigraphEngine, client: bool, pattern: str
) -> None:
    sparql = f"PREFIX ex: <https://example.org/>\nSELECT * WHERE {{\n  {pattern}\n}}"
    with pytest.raises(QueryError) as raised:
        if client:
            engine.run(sparql, render=rows_of)
        else:
            engine.query(sparql)

    message = str(raised.value)
    assert message.startswith("the prefix 'foo:' on line 3 is not declared; add PREFIX foo:")
    assert message.endswith("<namespace IRI> before the query")


def test_service_call_is_refused(engine: OxigraphEngine) -> None:
    with pytest.raises(ForbiddenQuery, match="NOTEKG_SERVICE_ALLOWLIST"):
        engine.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """Yield the URL of a TCP listener on 127.0.0.1 and the requests it received.

    The listener reads the start of each request and closes the connection without replying.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)
    received: list[bytes] = []
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                received.append(connection.recv(4096))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sparql", received
    stopped.set()
    thread.join(timeout=5)
    server.close()


def test_allowlisted_service_call_is_sent(
    database_url: str, listener: tuple[str, list[bytes]]
) -> None:
    endpoint, received = listener
    engine = load_engine(database_url, service_allowlist=[endpoint])

    result = engine.query(
        f"SELECT * WHERE {{ SERVICE SILENT <{endpoint}> {{ ?s ?p ?o }} }}", timeout=10
    )

    assert result.kind == "solutions"
    assert len(received) == 1
    assert received[0].startswith(b"POST /sparql ")


def rdf_formats() -> list[ox.RdfFormat]:
    return [
        value
        for name in dir(ox.RdfFormat)
        if isinstance(value := getattr(ox.RdfFormat, name), ox.RdfFormat)
    ]


@pytest.mark.parametrize("rdf_format", rdf_formats(), ids=lambda rdf_format: rdf_format.name)
def test_dump_parses_back_to_same_statements(
    engine: OxigraphEngine, rdf_format: ox.RdfFormat
) -> None:
    expected = set(ox.parse(PEOPLE_NQUADS + PLACES_NQUADS, format=ox.RdfFormat.N_QUADS))
    if not rdf_format.supports_datasets:
        expected = {quad.triple for quad in expected}

    data = engine.dump(rdf_format, prefixes={"ex": EX})
    parsed = list(ox.parse(data, format=rdf_format))

    if rdf_format.supports_datasets:
        assert set(parsed) == expected
    else:
        assert {quad.triple for quad in parsed} == expected


def test_literals_survive_store_and_query(engine: OxigraphEngine) -> None:
    result = engine.query("SELECT ?p ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }")
    literals = {row["p"].value: row["o"] for row in result.bindings()}

    assert literals[EX + "name"] == ox.Literal("Zoë Ångström — 東京")
    assert literals[EX + "label"] == ox.Literal("Zürich", language="de")
    assert literals[EX + "born"] == ox.Literal("1990-05-17", datatype=ox.NamedNode(XSD + "date"))
    assert literals[EX + "height"] == ox.Literal("1.72", datatype=ox.NamedNode(XSD + "decimal"))
    assert literals[EX + "population"] == ox.Literal(421878)


def test_typed_literal_compares_by_value(engine: OxigraphEngine) -> None:
    result = engine.query(f'ASK {{ ?s <{EX}born> ?d FILTER(?d < "2000-01-01"^^<{XSD}date>) }}')

    assert result.boolean is True


def test_bulk_load_joins_chunks_without_final_newline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    # Each graph's N-Quads lack the final line break; the loader must still separate them.
    write_graphs(
        url, {GRAPH_PEOPLE: PEOPLE_NQUADS.rstrip(b"\n"), GRAPH_PLACES: PLACES_NQUADS.rstrip(b"\n")}
    )

    engine = load_engine(url)

    assert engine.triple_count == 7


# Clients' queries, which run in worker processes (service.query_processes)


def rows_of(result: QueryResult) -> QueryResult:
    """Return the result as it is; a render function that workers can pickle."""
    return result


def render_pid(result: QueryResult) -> int:
    """Return the ID of the process that rendered the result."""
    return os.getpid()


def test_client_query_runs_in_another_process(engine: OxigraphEngine) -> None:
    rendered_by = engine.run("ASK { ?s ?p ?o }", render=render_pid)

    assert rendered_by != os.getpid()
    assert rendered_by in live_children(engine._query_processes().template_pid)


@pytest.mark.parametrize(
    "sparql",
    [
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
        f"CONSTRUCT {{ ?s <{EX}named> ?o }} WHERE {{ ?s <{EX}name> ?o }}",
        f"ASK {{ <{EX}zurich> <{EX}population> 421878 }}",
        "SELECT ?s ?unbound WHERE { ?s ?p ?o OPTIONAL { ?s <urn:none> ?unbound } } LIMIT 3",
    ],
)
def test_client_query_gives_the_result_of_query(engine: OxigraphEngine, sparql: str) -> None:
    in_worker = engine.run(sparql, render=rows_of, max_rows=5)
    in_process = engine.query(sparql, max_rows=5)

    assert in_worker == in_process


def test_client_query_syntax_error_raises_query_error(engine: OxigraphEngine) -> None:
    with pytest.raises(QueryError, match="syntax error on line 1 near column"):
        engine.run("SELECT WHERE", render=rows_of)


def test_timed_out_query_frees_slot() -> None:
    engine = large_engine(max_concurrent_queries=1)
    template = engine._query_processes().template_pid
    # The pool starts one idle worker, which takes the query.
    wait_until(lambda: bool(engine._query_processes()._state.idle))
    idle = live_children(template)
    started = time.monotonic()

    with pytest.raises(QueryTimeout, match="limit of 0.3 s and was stopped"):
        engine.run(CROSS_JOIN, render=rows_of, timeout=0.3, max_rows=10**9)

    assert time.monotonic() - started < 2.0
    # The worker is gone at once, so the only slot is free for the next query.
    wait_until(lambda: not idle & live_children(template), timeout=5.0)
    ask = f"ASK {{ <{EX}item/7> <{EX}value> 7 }}"
    assert engine.run(ask, render=rows_of, timeout=10).boolean is True
    engine.close()


def test_client_query_whose_worker_dies_raises_query_aborted() -> None:
    engine = large_engine(max_concurrent_queries=2)
    template = engine._query_processes().template_pid
    outcome: list[BaseException] = []

    def run_slow_query() -> None:
        try:
            engine.run(CROSS_JOIN, render=rows_of, timeout=30, max_rows=10**9)
        except BaseException as error:
            outcome.append(error)

    wait_until(lambda: bool(engine._query_processes()._state.idle))
    (worker,) = live_children(template)
    slow = threading.Thread(target=run_slow_query)
    slow.start()
    # The idle worker that the pool started takes the query, which runs for minutes.
    time.sleep(0.5)
    os.kill(worker, signal.SIGKILL)
    slow.join(timeout=10)

    assert len(outcome) == 1
    assert isinstance(outcome[0], QueryAborted)
    assert "retry" in str(outcome[0])
    assert engine.run("ASK { ?s ?p ?o }", render=rows_of).boolean is True
    engine.close()


def test_idle_worker_that_exited_is_replaced(engine: OxigraphEngine) -> None:
    first = engine.run("ASK { ?s ?p ?o }", render=render_pid)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: not exists(first))

    second = engine.run("ASK { ?s ?p ?o }", render=render_pid)

    assert second != first
    assert exists(second)


def test_close_stops_template_and_workers(engine: OxigraphEngine) -> None:
    worker = engine.run("ASK { ?s ?p ?o }", render=render_pid)
    template = engine._query_processes().template_pid

    engine.close()

    assert not exists(template)
    wait_until(lambda: not exists(worker))


def test_templates_of_two_engines_stop_independently(database_url: str) -> None:
    first = load_engine(database_url)
    second = load_engine(database_url)
    first_template = first._query_processes().template_pid
    first_worker = first.run("ASK { ?s ?p ?o }", render=render_pid)
    second.run("ASK { ?s ?p ?o }", render=render_pid)

    # The second template was forked after the first engine's sockets existed. It must not
    # keep them open, because the first template would then never see its socket close.
    started = time.monotonic()
    first.close()

    assert time.monotonic() - started < 1.0
    assert not exists(first_template)
    wait_until(lambda: not exists(first_worker))
    assert second.run("ASK { ?s ?p ?o }", render=rows_of).boolean is True
    second.close()


# The merged default graph


SHARED_TRIPLE = f'<{EX}alice> <{EX}name> "Alice" '


@pytest.fixture
def shared_url(tmp_path: Path) -> str:
    """Return the URL of a store whose two graphs both contain SHARED_TRIPLE."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    write_graphs(
        url,
        {
            GRAPH_PEOPLE: (SHARED_TRIPLE + f"<{GRAPH_PEOPLE}> .\n").encode(),
            GRAPH_PLACES: (SHARED_TRIPLE + f"<{GRAPH_PLACES}> .\n").encode(),
        },
    )
    return url


def test_default_graph_holds_shared_triple_once(shared_url: str) -> None:
    engine = load_engine(shared_url)

    names = engine.query(f"SELECT ?name WHERE {{ <{EX}alice> <{EX}name> ?name }}")
    count = engine.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    per_graph = engine.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ <{EX}alice> <{EX}name> ?n }} }}")
    from_one = engine.query(
        f"SELECT ?name FROM <{GRAPH_PEOPLE}> WHERE {{ <{EX}alice> <{EX}name> ?name }}"
    )

    assert [row[0].value for row in names.rows] == ["Alice"]
    assert count.rows[0][0].value == "1"
    assert sorted(row[0].value for row in per_graph.rows) == [GRAPH_PEOPLE, GRAPH_PLACES]
    assert len(from_one.rows) == 1
    assert engine.triple_count == 2


def test_client_query_sees_merged_default_graph(shared_url: str) -> None:
    engine = load_engine(shared_url)

    result = engine.run("SELECT * WHERE { ?s ?p ?o }", render=rows_of)

    assert len(result.rows) == 1
    engine.close()


# Retiring worker processes, whose private memory grows with what they read


def test_worker_retires_after_long_query(engine: OxigraphEngine) -> None:
    first = engine.run("ASK { ?s ?p ?o }", render=render_pid)
    # A task of an in-memory engine is long when it takes more than RETIRE_IN_MEMORY_SECONDS;
    # this render waits for it.
    wait = functools.partial(sleep_then_pid, RETIRE_IN_MEMORY_SECONDS * 2)
    engine.run("ASK { ?s ?p ?o }", render=wait)
    wait_until(lambda: not exists(first))

    after = engine.run("ASK { ?s ?p ?o }", render=render_pid)

    assert after != first


def sleep_then_pid(seconds: float, result: QueryResult) -> int:
    """Wait, then return the ID of the process that rendered the result."""
    time.sleep(seconds)
    return os.getpid()


def test_worker_retires_after_many_tasks(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_processes, "RETIRE_AFTER_TASKS", 3)
    engine = load_engine(database_url)

    pids = [engine.run("ASK { ?s ?p ?o }", render=render_pid) for _ in range(4)]
    engine.close()

    assert pids[0] == pids[1] == pids[2]
    assert pids[3] != pids[0]


def test_worker_retires_when_private_memory_grows(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers inherit these values when the engine forks its template.
    monkeypatch.setattr(query_processes, "MEMORY_CHECK_TASKS", 2)
    monkeypatch.setattr(query_processes, "RETIRE_PRIVATE_BYTES", -1)
    engine = load_engine(database_url)

    pids = [engine.run("ASK { ?s ?p ?o }", render=render_pid) for _ in range(3)]
    engine.close()

    assert pids[0] == pids[1]
    assert pids[2] != pids[1]


def test_worker_checks_memory_at_most_once_per_interval(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In each worker the first reading is the baseline and the second the first check, which
    # finds no growth. Any later check finds growth and retires the worker.
    readings = itertools.count()
    monkeypatch.setattr(
        query_processes, "_private_bytes", lambda: 0 if next(readings) < 2 else 2**40
    )
    monkeypatch.setattr(query_processes, "MEMORY_CHECK_TASKS", 1)
    monkeypatch.setattr(query_processes, "MEMORY_CHECK_SECONDS", 3600.0)
    engine = load_engine(database_url)

    pids = [engine.run("ASK { ?s ?p ?o }", render=render_pid) for _ in range(4)]
    engine.close()

    assert len(set(pids)) == 1


def test_client_query_runs_in_thread_without_processes(database_url: str) -> None:
    engine = load_engine(database_url, query_processes=0)

    rendered_by = engine.run("ASK { ?s ?p ?o }", render=render_pid)

    assert rendered_by == os.getpid()
    assert engine._processes is None


def test_client_query_waits_for_a_free_process() -> None:
    store_engine = large_engine(max_concurrent_queries=4)
    engine = OxigraphEngine(
        store_engine.store, generation=1, merged=store_engine.merged, query_processes=1
    )
    outcome: list[BaseException] = []

    def run_slow_query() -> None:
        try:
            engine.run(CROSS_JOIN, render=rows_of, timeout=5, max_rows=10**9)
        except BaseException as error:
            outcome.append(error)

    slow = threading.Thread(target=run_slow_query)
    slow.start()
    time.sleep(0.3)
    with pytest.raises(EngineBusy, match="waited 0.5 s for a free query process"):
        engine.run("ASK { ?s ?p ?o }", render=rows_of, timeout=0.5)
    slow.join(timeout=30)
    engine.close()

    assert isinstance(outcome[0], QueryTimeout)
    assert "was stopped" in str(outcome[0])
