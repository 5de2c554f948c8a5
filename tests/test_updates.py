"""SPARQL Update on /update: the token, new generations, the write graph and refused fetches."""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import live_children, wait_until
from servers import (
    HttpReply,
    LiveServer,
    assert_no_connection,
    listener_url,
    send,
    serve_sample_store,
)
from SPARQLWrapper import POST, SPARQLWrapper

TOKEN = "update-test-token"
AUTHORIZED = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
NK = "https://notekg.example/ontology#"
NOTE_GRAPH = "https://notekg.example/id/graph/ai"
WRITE_GRAPH = "https://notekg.example/id/graph/default"
JSON_RESULTS = {"Accept": "application/sparql-results+json"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path, update_token=TOKEN) as server:
        yield server


def post_update(live: LiveServer, update: str, headers: dict[str, str] | None = None) -> HttpReply:
    return send(
        f"{live.url}/update",
        method="POST",
        data=update.encode(),
        headers=AUTHORIZED if headers is None else headers,
    )


def ask(live: LiveServer, query: str) -> bool:
    reply = send(
        f"{live.url}/sparql?{urllib.parse.urlencode({'query': query})}", headers=JSON_RESULTS
    )
    assert reply.status == 200
    return bool(reply.json()["boolean"])


def generation(live: LiveServer) -> int:
    return int(send(f"{live.url}/health").json()["generation"])


INSERT_BENCHMARK = (
    f"INSERT DATA {{ GRAPH <{NOTE_GRAPH}> {{ <https://notekg.example/id/x> a <{NK}Benchmark> }} }}"
)
ASK_BENCHMARK = f"ASK {{ <https://notekg.example/id/x> a <{NK}Benchmark> }}"


# The token


def test_update_without_token_returns_401(live: LiveServer) -> None:
    reply = post_update(live, INSERT_BENCHMARK, {"Content-Type": "application/sparql-update"})

    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert ask(live, ASK_BENCHMARK) is False


def test_update_with_wrong_token_returns_403(live: LiveServer) -> None:
    headers = {**AUTHORIZED, "Authorization": "Bearer not-the-token"}

    reply = post_update(live, INSERT_BENCHMARK, headers)

    assert reply.status == 403
    assert ask(live, ASK_BENCHMARK) is False


def test_update_with_basic_auth_returns_401(live: LiveServer) -> None:
    headers = {**AUTHORIZED, "Authorization": "Basic dXNlcjpwYXNz"}

    reply = post_update(live, INSERT_BENCHMARK, headers)

    assert reply.status == 401


def test_update_without_configured_token_returns_403(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path) as server:
        reply = post_update(server, INSERT_BENCHMARK)

    assert reply.status == 403
    assert "NOTEKG_UPDATE_TOKEN" in reply.json()["error"]["message"]


def test_token_is_never_logged(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    post_update(live, INSERT_BENCHMARK)
    post_update(live, INSERT_BENCHMARK, {**AUTHORIZED, "Authorization": "Bearer wrong-secret"})

    assert all(TOKEN not in record.getMessage() for record in caplog.records)
    assert all("wrong-secret" not in record.getMessage() for record in caplog.records)


# Generations


def test_update_commits_new_generation(live: LiveServer) -> None:
    reply = post_update(live, INSERT_BENCHMARK)

    assert reply.status == 200
    assert reply.json() == {"generation": 2, "changed": [NOTE_GRAPH], "dropped": []}
    assert generation(live) == 2
    assert ask(live, ASK_BENCHMARK) is True


def test_update_that_changes_nothing_keeps_generation(live: LiveServer) -> None:
    reply = post_update(live, f"DELETE DATA {{ <https://notekg.example/id/nothing> <{NK}p> 1 }}")

    assert reply.status == 200
    assert reply.json()["generation"] is None
    assert generation(live) == 1


def test_update_without_graph_writes_write_graph(live: LiveServer) -> None:
    post_update(live, f"INSERT DATA {{ <https://notekg.example/id/x> a <{NK}Benchmark> }}")

    assert ask(live, f"ASK {{ GRAPH <{WRITE_GRAPH}> {{ <https://notekg.example/id/x> a ?c }} }}")
    assert ask(live, ASK_BENCHMARK) is True


def test_drop_graph_drops_it_from_store(live: LiveServer) -> None:
    reply = post_update(live, f"DROP GRAPH <{NOTE_GRAPH}>")

    assert reply.json()["dropped"] == [NOTE_GRAPH]
    assert ask(live, f"ASK {{ GRAPH <{NOTE_GRAPH}> {{ ?s ?p ?o }} }}") is False


def test_delete_where_in_named_graph_removes_triples(live: LiveServer) -> None:
    update = f"DELETE WHERE {{ GRAPH <{NOTE_GRAPH}> {{ ?benchmark a <{NK}Benchmark> }} }}"

    reply = post_update(live, update)

    assert reply.status == 200
    assert ask(live, f"ASK {{ ?benchmark a <{NK}Benchmark> }}") is False


def test_invalid_update_returns_400_and_keeps_generation(live: LiveServer) -> None:
    reply = post_update(live, "INSERT DATA { <https://notekg.example/id/x> ")

    assert reply.status == 400
    assert reply.json()["error"]["message"].startswith(
        "the update is invalid: syntax error on line 1 near column "
    )
    assert generation(live) == 1


def test_clear_of_missing_graph_succeeds(live: LiveServer) -> None:
    reply = post_update(live, "CLEAR GRAPH <https://notekg.example/id/graph/missing>")

    assert reply.status == 200


def test_create_of_existing_graph_returns_400(live: LiveServer) -> None:
    reply = post_update(live, f"CREATE GRAPH <{NOTE_GRAPH}>")

    assert reply.status == 400
    assert "nothing was written" in reply.json()["error"]["message"]


def test_update_on_sparql_endpoint_stays_403(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql", method="POST", data=INSERT_BENCHMARK.encode(), headers=AUTHORIZED
    )

    assert reply.status == 403


def test_sparqlwrapper_update_with_token(live: LiveServer) -> None:
    client = SPARQLWrapper(f"{live.url}/sparql", updateEndpoint=f"{live.url}/update")
    client.setMethod(POST)
    client.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    client.setQuery(INSERT_BENCHMARK)

    result = client.query()

    assert result.response.status == 200
    assert ask(live, ASK_BENCHMARK) is True


# Fetches that a write must never make


def test_load_returns_403_without_connecting(live: LiveServer, listener: socket.socket) -> None:
    reply = post_update(live, f"LOAD <{listener_url(listener, '/data.ttl')}>")

    assert reply.status == 403
    assert "LOAD" in reply.json()["error"]["message"]
    assert_no_connection(listener)


def test_load_silent_into_graph_returns_403(live: LiveServer, listener: socket.socket) -> None:
    update = f"CLEAR ALL ;\nLOAD SILENT <{listener_url(listener, '/x')}> INTO GRAPH <{NOTE_GRAPH}>"

    reply = post_update(live, update)

    assert reply.status == 403
    assert_no_connection(listener)
    assert generation(live) == 1


def test_load_after_prefix_without_space_returns_403(
    live: LiveServer, listener: socket.socket
) -> None:
    update = f"PREFIX LOAD: <{listener_url(listener, '/')}>\nLOAD:x"

    reply = post_update(live, update)

    assert reply.status == 403
    assert_no_connection(listener)


def test_service_in_update_returns_403_without_connecting(
    live: LiveServer, listener: socket.socket
) -> None:
    update = (
        f"INSERT {{ GRAPH <{NOTE_GRAPH}> {{ ?s ?p ?o }} }} "
        f"WHERE {{ SERVICE <{listener_url(listener, '/sparql')}> {{ ?s ?p ?o }} }}"
    )

    reply = post_update(live, update)

    assert reply.status == 403
    assert "SERVICE" in reply.json()["error"]["message"]
    assert_no_connection(listener)


def test_service_in_update_ignores_allowlist(tmp_path: Path, listener: socket.socket) -> None:
    endpoint = listener_url(listener, "/sparql")
    update = f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}"

    with serve_sample_store(tmp_path, update_token=TOKEN, service_allowlist=(endpoint,)) as server:
        reply = post_update(server, update)

    assert reply.status == 403
    assert_no_connection(listener)


# Time limit


# Every combination of six triples is compared with a string that none gives, so the update
# computes for days while it keeps almost nothing in memory.
ENDLESS_UPDATE = """INSERT { <urn:notekg:never> <urn:notekg:never> "never" } WHERE {
  GRAPH ?g1 { ?a ?b ?c } GRAPH ?g2 { ?d ?e ?f } GRAPH ?g3 { ?g ?h ?i }
  GRAPH ?g4 { ?j ?k ?l } GRAPH ?g5 { ?m ?n ?o } GRAPH ?g6 { ?p ?q ?r }
  FILTER(CONCAT(STR(?a), STR(?d), STR(?g), STR(?j), STR(?m), STR(?p)) = "never")
}"""


def test_update_past_time_limit_is_stopped(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path, update_token=TOKEN, query_timeout=0.5) as server:
        before = generation(server)
        children_before = live_children(os.getpid())
        started = time.monotonic()
        reply = post_update(server, ENDLESS_UPDATE)
        elapsed = time.monotonic() - started
        # The process that computed the update is gone; only processes from before remain.
        wait_until(lambda: live_children(os.getpid()) <= children_before, timeout=2.0)
        after = generation(server)
        inserted = post_update(server, INSERT_BENCHMARK)

    assert reply.status == 503
    assert "0.5 s and was stopped; nothing was written" in reply.json()["error"]["message"]
    assert elapsed < 2.0
    assert after == before
    assert inserted.status == 200
