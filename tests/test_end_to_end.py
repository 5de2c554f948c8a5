"""The README's first command, as a user runs it: `notekg serve` in its own process on 127.0.0.1.

These tests start the real console command, which ingests the bundled notes into a real SQLite
file or PostgreSQL database. Real clients talk to it: SPARQLWrapper and rdflib's SPARQLStore
for queries, urllib for the pages and dumps, and Debian's rapper to parse the dumps.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import free_port
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

ROOT = Path(__file__).resolve().parent.parent
NOTEKG = Path(sys.executable).parent / "notekg"

BENCHMARKS_QUERY = """
PREFIX nk: <https://notekg.example/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?benchmark ?focus ?metric WHERE {
  ?b a nk:Benchmark ;
     skos:prefLabel ?benchmark ;
     nk:focusArea/skos:prefLabel ?focus ;
     nk:metric/skos:prefLabel ?metric .
}
ORDER BY ?benchmark
"""

EXPECTED_FIRST_ROWS = [
    ("AGIEval", "Human-like intelligence", "Score"),
    ("ARC", "Logical reasoning", "Accuracy"),
    ("BBH", "Complex reasoning", "Accuracy"),
]


@contextmanager
def notekg_serve(database_url: str) -> Iterator[str]:
    """Run `notekg serve` on a free port until the block ends; yield its base URL."""
    port = free_port()
    environment = {**os.environ, "NOTEKG_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [str(NOTEKG), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stdout is not None
            raise AssertionError(f"notekg serve exited early:\n{process.stdout.read().decode()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"notekg serve did not answer on {url} within 60 s")


def _select(url: str, query: str) -> list[tuple[str, ...]]:
    client = SPARQLWrapper(f"{url}/sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    results = client.query().convert()
    variables = results["head"]["vars"]  # type: ignore[index]
    return [
        tuple(binding[name]["value"] for name in variables)
        for binding in results["results"]["bindings"]  # type: ignore[index]
    ]


def _get(url: str, accept: str = "*/*") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `notekg serve` process over a new SQLite file, which it fills from the bundled notes."""
    database = tmp_path_factory.mktemp("serve") / "notekg.sqlite"
    with notekg_serve(f"sqlite:///{database}") as url:
        yield url


def test_serve_answers_benchmark_query_with_17_rows(served: str) -> None:
    rows = _select(served, BENCHMARKS_QUERY)
    assert len(rows) == 17
    assert rows[:3] == EXPECTED_FIRST_ROWS


def test_sparqlstore_client_reads_the_graph(served: str) -> None:
    graph = Graph(store=SPARQLStore(f"{served}/sparql", returnFormat="json"))
    rows = list(graph.query(BENCHMARKS_QUERY))
    assert len(rows) == 17
    assert str(rows[0][0]) == "AGIEval"


def test_entity_page_opens_at_its_own_path(served: str) -> None:
    status, body = _get(f"{served}/id/benchmark/mmlu", accept="text/html")
    assert status == 200
    assert b"Massive Multitask Language Understanding" in body


def test_entity_description_negotiates_turtle(served: str) -> None:
    _, body = _get(f"{served}/id/benchmark/mmlu", accept="text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    mmlu = URIRef("https://notekg.example/id/benchmark/mmlu")
    focus = URIRef("https://notekg.example/id/focus-area/general-knowledge-reasoning")
    assert (mmlu, URIRef("https://notekg.example/ontology#focusArea"), focus) in graph


@pytest.mark.parametrize(
    ("name", "rdf_format"),
    [
        ("graph.ttl", ox.RdfFormat.TURTLE),
        ("graph.nt", ox.RdfFormat.N_TRIPLES),
        ("graph.nq", ox.RdfFormat.N_QUADS),
        ("graph.trig", ox.RdfFormat.TRIG),
        ("graph.jsonld", ox.RdfFormat.JSON_LD),
        ("graph.rdf", ox.RdfFormat.RDF_XML),
    ],
)
def test_dump_loads_in_pyoxigraph(served: str, name: str, rdf_format: ox.RdfFormat) -> None:
    _, body = _get(f"{served}/download/{name}")
    quads = list(ox.parse(body, format=rdf_format))
    subjects = {quad.subject for quad in quads}
    assert ox.NamedNode("https://notekg.example/id/benchmark/mmlu") in subjects
    assert len(quads) > 500


@pytest.mark.parametrize(
    ("name", "rapper_syntax"),
    [("graph.ttl", "turtle"), ("graph.nt", "ntriples"), ("graph.rdf", "rdfxml")],
)
def test_dump_loads_in_rapper_without_warnings(
    served: str, rapper_path: Path, tmp_path: Path, name: str, rapper_syntax: str
) -> None:
    _, body = _get(f"{served}/download/{name}")
    dump = tmp_path / name
    dump.write_bytes(body)

    result = subprocess.run(
        [str(rapper_path), "-i", rapper_syntax, "-o", "ntriples", "-c", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert "returned" in result.stderr


def test_graph_persists_across_restart(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/notekg.sqlite"
    with notekg_serve(database_url) as url:
        first = _select(url, BENCHMARKS_QUERY)
        _, health = _get(f"{url}/health")

    with notekg_serve(database_url) as url:
        second = _select(url, BENCHMARKS_QUERY)
        _, health_again = _get(f"{url}/health")

    assert second == first
    assert health_again == health


@pytest.fixture
def empty_postgresql_database(postgresql_url: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server; other tests share the default one."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine.url import make_url

    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    name = f"notekg_e2e_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgresql_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_serve_over_postgresql(empty_postgresql_database: str) -> None:
    with notekg_serve(empty_postgresql_database) as url:
        rows = _select(url, BENCHMARKS_QUERY)
    with notekg_serve(empty_postgresql_database) as url:
        again = _select(url, BENCHMARKS_QUERY)

    assert len(rows) == 17
    assert again == rows


def _ignore_sigint() -> None:
    # A shell without job control starts `notekg serve &` in a script with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("signum", "workers", "stopped"),
    [
        (signal.SIGTERM, "1", b"received signal SIGTERM; stopping"),
        (signal.SIGINT, "1", b"received signal SIGINT; stopping"),
        (signal.SIGINT, "2", b"granian stopped"),
    ],
    ids=["sigterm", "sigint", "sigint-granian"],
)
def test_signal_stops_server_and_logs_it(
    tmp_path: Path, signum: signal.Signals, workers: str, stopped: bytes
) -> None:
    port = free_port()
    environment = {**os.environ, "NOTEKG_DATABASE_URL": f"sqlite:///{tmp_path}/notekg.sqlite"}
    process = subprocess.Popen(
        [str(NOTEKG), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", workers],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_ignore_sigint,
    )
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", process)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0
    assert stopped in output
    assert b"stopped" in output.splitlines()[-1]
    # The store did not exist, so serve logs that it makes one before it ingests.
    assert f"no store at {tmp_path}/notekg.sqlite: making a new one".encode() in output


@pytest.mark.parametrize("workers", ["1", "2"], ids=["waitress", "granian"])
def test_serve_on_taken_port_reports_it(tmp_path: Path, workers: str) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [
                str(NOTEKG),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                workers,
                "--database",
                f"sqlite:///{tmp_path}/notekg.sqlite",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        taken.close()

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "choose another port with --port" in result.stderr
    assert "serving on" not in result.stderr
    assert "server stopped" not in result.stderr
