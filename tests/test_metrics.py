"""/metrics in Prometheus text format: requests, latency, timeouts, rejections, generation."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import LiveServer, send, serve_sample_store

SAMPLE_QUADS = 59


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path, update_token="metrics-token") as server:
        yield server


def samples(live: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = send(f"{live.url}/metrics")
    assert reply.status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def sparql(live: LiveServer, query: str) -> int:
    return send(f"{live.url}/sparql?{urllib.parse.urlencode({'query': query})}").status


def test_metrics_use_prometheus_text_format(live: LiveServer) -> None:
    reply = send(f"{live.url}/metrics")

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/plain"
    assert "version=1.0.0" in reply.headers["Content-Type"]


def test_requests_are_counted_by_endpoint_and_status(live: LiveServer) -> None:
    sparql(live, "ASK {}")
    sparql(live, "ASK {}")
    sparql(live, "ASK {")

    found = samples(live)

    assert (
        value(found, "notekg_http_requests_total", endpoint="/sparql", method="GET", status="200")
        == 2
    )
    assert (
        value(found, "notekg_http_requests_total", endpoint="/sparql", method="GET", status="400")
        == 1
    )


def test_latency_histogram_counts_requests(live: LiveServer) -> None:
    sparql(live, "ASK {}")

    found = samples(live)

    assert value(found, "notekg_http_request_duration_seconds_count", endpoint="/sparql") == 1
    assert (
        value(found, "notekg_http_request_duration_seconds_bucket", endpoint="/sparql", le="+Inf")
        == 1
    )


def test_rejected_queries_are_counted_by_reason(live: LiveServer) -> None:
    sparql(live, "ASK {")
    sparql(live, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")

    found = samples(live)

    assert value(found, "notekg_queries_rejected_total", reason="invalid") == 1
    assert value(found, "notekg_queries_rejected_total", reason="forbidden") == 1


def _update(live: LiveServer, update: bytes) -> None:
    reply = send(
        f"{live.url}/update",
        method="POST",
        data=update,
        headers={
            "Content-Type": "application/sparql-update",
            "Authorization": "Bearer metrics-token",
        },
    )
    assert reply.status == 200


def test_generation_quads_triples_follow_writes(live: LiveServer) -> None:
    before = samples(live)
    _update(
        live, b'INSERT DATA { <https://notekg.example/id/x> <https://notekg.example/id/p> "x" }'
    )
    after = samples(live)
    # A triple that another graph already has is one more quad but no new triple.
    _update(
        live,
        b"INSERT DATA { GRAPH <https://notekg.example/graph/copy> { "
        b"<https://notekg.example/id/metric/accuracy> "
        b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        b"<https://notekg.example/ontology#Metric> } }",
    )
    repeated = samples(live)

    assert value(before, "notekg_generation") == 1
    assert value(before, "notekg_quads") == SAMPLE_QUADS
    assert value(before, "notekg_triples") == SAMPLE_QUADS
    assert value(after, "notekg_generation") == 2
    assert value(after, "notekg_quads") == SAMPLE_QUADS + 1
    assert value(after, "notekg_triples") == SAMPLE_QUADS + 1
    assert value(repeated, "notekg_generation") == 3
    assert value(repeated, "notekg_quads") == SAMPLE_QUADS + 2
    assert value(repeated, "notekg_triples") == SAMPLE_QUADS + 1


def test_timeouts_are_counted(tmp_path: Path) -> None:
    slow = """SELECT (COUNT(*) AS ?n) WHERE {
      ?a ?p1 ?b . ?c ?p2 ?d . ?e ?p3 ?f
    }"""
    with serve_sample_store(tmp_path, query_timeout=0.01) as server:
        status = sparql(server, slow)
        found = samples(server)

    assert status == 503
    assert value(found, "notekg_query_timeouts_total") == 1
