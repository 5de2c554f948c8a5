"""The one error shape: JSON for API clients, error.html for browsers, and the status mapping."""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from processes import live_children, wait_until
from servers import (
    HttpReply,
    LiveServer,
    fill_store_from_dataset,
    send,
    serve_app,
    serve_sample_store,
)

from service.app import create_app, holder
from service.engine import OxigraphEngine

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
GENERATED_TRIPLES = 3000

# Each solution needs a scan of every generated triple, so the 3,000 solutions take seconds
# while each one arrives within about a millisecond, which lets a timed-out query stop early.
SLOW_JOIN = """SELECT ?a ?b WHERE {
  ?a <https://notekg.example/ontology#position> ?x .
  ?b <https://notekg.example/ontology#position> ?y .
  FILTER(STR(?x) = STR(?y))
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("errors"), engine_files_from=0) as server:
        yield server


def sparql_url(live: LiveServer, query: str) -> str:
    return f"{live.url}/sparql?{urllib.parse.urlencode({'query': query})}"


@pytest.fixture
def generated_store(tmp_path: Path) -> str:
    """Return the URL of a store with a few thousand generated triples in one graph."""
    dataset = tmp_path / "generated.nq"
    quads = [
        ox.Quad(
            ox.NamedNode(f"https://notekg.example/id/section/generated/{index}"),
            ox.NamedNode("https://notekg.example/ontology#position"),
            ox.Literal(
                str(index), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            ),
            ox.NamedNode("https://notekg.example/id/graph/generated"),
        )
        for index in range(GENERATED_TRIPLES)
    ]
    dataset.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    database_url = f"sqlite:///{tmp_path}/store.sqlite"
    fill_store_from_dataset(database_url, str(dataset))
    return database_url


# Shape


def test_api_error_has_status_title_and_message(live: LiveServer) -> None:
    reply = send(sparql_url(live, "SELECT * WHERE {"), headers={"Accept": "application/json"})

    assert reply.status == 400
    assert reply.headers.get_content_type() == "application/json"
    assert set(reply.json()) == {"error"}
    assert reply.json()["error"]["status"] == 400
    assert reply.json()["error"]["title"] == "Bad Request"
    assert reply.json()["error"]["message"].startswith("the query is invalid: ")


def test_browser_gets_error_page(live: LiveServer) -> None:
    reply = send(f"{live.url}/no/such/page", headers={"Accept": BROWSER_ACCEPT})

    assert reply.status == 404
    assert reply.headers.get_content_type() == "text/html"
    assert "404 Not Found" in reply.text
    assert "/no/such/page" in reply.text


def test_api_client_gets_json_404(live: LiveServer) -> None:
    reply = send(f"{live.url}/no/such/page", headers={"Accept": "application/json"})

    assert reply.status == 404
    assert reply.json()["error"]["title"] == "Not Found"


def test_client_without_accept_gets_json(live: LiveServer) -> None:
    reply = send(f"{live.url}/no/such/page")

    assert reply.headers.get_content_type() == "application/json"


def test_sparql_error_for_browser_is_page(live: LiveServer) -> None:
    reply = send(sparql_url(live, "SELECT * WHERE {"), headers={"Accept": BROWSER_ACCEPT})

    assert reply.status == 400
    assert reply.headers.get_content_type() == "text/html"


def test_sparql_error_for_wildcard_is_json(live: LiveServer) -> None:
    reply = send(sparql_url(live, "SELECT * WHERE {"), headers={"Accept": "*/*"})

    assert reply.status == 400
    assert reply.headers.get_content_type() == "application/json"


def test_download_path_gets_json_even_for_browsers(live: LiveServer) -> None:
    reply = send(f"{live.url}/download/graph.xyz", headers={"Accept": BROWSER_ACCEPT})

    assert reply.status == 404
    assert reply.headers.get_content_type() == "application/json"


def test_method_not_allowed_keeps_allow_header(live: LiveServer) -> None:
    reply = send(f"{live.url}/health", method="POST", data=b"")

    assert reply.status == 405
    # Sorted, so that every server process sends the same header.
    assert reply.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert reply.json()["error"]["message"] == (
        "POST is not allowed on /health; use one of: GET, HEAD, OPTIONS"
    )


def test_error_varies_on_accept(live: LiveServer) -> None:
    reply = send(f"{live.url}/no/such/page", headers={"Accept": BROWSER_ACCEPT})

    assert "Accept" in reply.headers["Vary"]


# Unexpected exceptions


def test_unexpected_exception_returns_500_without_traceback(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing_query(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("internal detail 7f3a")

    monkeypatch.setattr(OxigraphEngine, "run", failing_query)
    caplog.set_level(logging.ERROR, logger="service.errors")

    reply = send(sparql_url(live, "ASK {}"))
    logged = [record for record in caplog.records if record.name == "service.errors"]

    assert reply.status == 500
    assert reply.json()["error"]["title"] == "Internal Server Error"
    assert "internal detail 7f3a" not in reply.text
    assert "Traceback" not in reply.text
    assert len(logged) == 1
    assert logged[0].getMessage() == "unexpected error in GET /sparql"
    assert logged[0].exc_info is not None


def test_unexpected_exception_for_browser_renders_page(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_engine(*_args: object) -> None:
        raise RuntimeError("internal detail 9c1b")

    monkeypatch.setattr(type(holder(live.app)), "engine", failing_engine)

    reply = send(f"{live.url}/", headers={"Accept": BROWSER_ACCEPT})

    assert reply.status == 500
    assert reply.headers.get_content_type() == "text/html"
    assert "500 Internal Server Error" in reply.text
    assert "internal detail 9c1b" not in reply.text


# Limits


def test_body_over_limit_returns_413(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path, max_body_bytes=200) as server:
        long_query = "ASK { " + "?s ?p ?o . " * 40 + "}"
        reply = send(
            f"{server.url}/sparql",
            method="POST",
            data=long_query.encode(),
            headers={"Content-Type": "application/sparql-query"},
        )
        form_reply = send(
            f"{server.url}/sparql",
            method="POST",
            data=urllib.parse.urlencode({"query": long_query}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert reply.status == 413
    assert "200 bytes" in reply.json()["error"]["message"]
    assert form_reply.status == 413


def test_body_within_limit_runs(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path, max_body_bytes=200) as server:
        reply = send(
            f"{server.url}/sparql",
            method="POST",
            data=b"ASK {}",
            headers={"Content-Type": "application/sparql-query"},
        )

    assert reply.status == 200


def test_slow_query_times_out_with_503(generated_store: str) -> None:
    app = create_app({"database_url": generated_store, "query_timeout": 0.05})
    try:
        with serve_app(app) as server:
            started = time.monotonic()
            reply = send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': SLOW_JOIN})}")
            elapsed = time.monotonic() - started
    finally:
        holder(app).close()

    assert reply.status == 503
    assert "0.05 s" in reply.json()["error"]["message"]
    assert elapsed < 1.0


# One aggregate over every triple of the store taken three times: it computes for hours and
# sends no row before it ends, so only stopping its process ends it.
ENDLESS_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_aggregate_past_time_limit_is_stopped(generated_store: str) -> None:
    # The engine's files on disk, which large stores use.
    app = create_app(
        {
            "database_url": generated_store,
            "query_timeout": 0.5,
            "max_concurrent_queries": 1,
            "engine_files_from": 0,
        }
    )
    try:
        with serve_app(app) as server:
            template = holder(app).engine()._query_processes().template_pid
            # The pool starts one idle worker, which takes the query.
            wait_until(lambda: bool(holder(app).engine()._query_processes()._state.idle))
            idle = live_children(template)
            started = time.monotonic()
            slow = send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': ENDLESS_COUNT})}")
            slow_seconds = time.monotonic() - started
            # The worker that ran the query is killed, not left to compute.
            wait_until(lambda: not idle & live_children(template), timeout=2.0)
            # The stopped query held the only slot, so this query shows that it was freed.
            fast = send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': 'ASK {}'})}")
    finally:
        holder(app).close()

    assert slow.status == 503
    assert "0.5 s and was stopped" in slow.json()["error"]["message"]
    assert slow_seconds < 2.0
    assert fast.status == 200


def test_fast_query_runs_while_slow_one_times_out(generated_store: str) -> None:
    app = create_app({"database_url": generated_store, "query_timeout": 1.0})
    slow_replies: list[HttpReply] = []
    try:
        with serve_app(app) as server:
            slow = threading.Thread(
                target=lambda: slow_replies.append(
                    send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': SLOW_JOIN})}")
                )
            )
            slow.start()
            _wait_until_slots_taken(app, 1)
            started = time.monotonic()
            fast = send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': 'ASK {}'})}")
            fast_seconds = time.monotonic() - started
            slow.join(timeout=60)
    finally:
        holder(app).close()

    assert fast.status == 200
    assert fast_seconds < 0.5
    assert slow_replies[0].status == 503
    assert "1 s" in slow_replies[0].json()["error"]["message"]


def _wait_until_slots_taken(app: object, taken: int) -> None:
    engine = holder(app).engine()  # type: ignore[arg-type]
    config = app.extensions["notekg.config"]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if engine._slots._value == config.max_concurrent_queries - taken:  # type: ignore[attr-defined]
            return
        time.sleep(0.005)
    pytest.fail(f"{taken} queries did not start within 10 s")


def test_concurrency_limit_returns_503(generated_store: str) -> None:
    app = create_app({"database_url": generated_store, "max_concurrent_queries": 1})
    slow_replies: list[HttpReply] = []
    try:
        with serve_app(app) as server:
            slow = threading.Thread(
                target=lambda: slow_replies.append(
                    send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': SLOW_JOIN})}")
                )
            )
            slow.start()
            _wait_until_busy(app)
            reply = send(f"{server.url}/sparql?{urllib.parse.urlencode({'query': 'ASK {}'})}")
            slow.join(timeout=60)
    finally:
        holder(app).close()

    assert reply.status == 503
    assert reply.headers["Retry-After"] == "5"
    assert slow_replies[0].status == 200


def _wait_until_busy(app: object) -> None:
    engine = holder(app).engine()  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # The engine's only slot is taken once the slow query runs.
        if engine._slots._value == 0:  # type: ignore[attr-defined]
            return
        time.sleep(0.005)
    pytest.fail("the slow query did not start within 10 s")
