"""Responses kept per generation: hits, misses, validators, and what is never kept."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import HttpReply, LiveServer, recorded_arguments, send, serve_sample_store

from service import page_queries
from service.response_cache import KeptResponse, ResponseCache

TOKEN = "cache-test-token"
NK = "https://notekg.example/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
NOTE_GRAPH = "https://notekg.example/id/graph/ai"
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
COUNT_BENCHMARKS = f"SELECT (COUNT(?b) AS ?n) WHERE {{ ?b a <{NK}Benchmark> }}"
ENTITY_PATH = "/id/benchmark/mmlu"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path, update_token=TOKEN) as server:
        yield server


def query(live: LiveServer, sparql: str, headers: dict[str, str] | None = None) -> HttpReply:
    url = f"{live.url}/sparql?{urllib.parse.urlencode({'query': sparql})}"
    return send(url, headers={**JSON_RESULTS, **(headers or {})})


def benchmark_count(reply: HttpReply) -> int:
    assert reply.status == 200
    return int(reply.json()["results"]["bindings"][0]["n"]["value"])


def insert_benchmark(live: LiveServer, name: str) -> None:
    update = (
        f"INSERT DATA {{ GRAPH <{NOTE_GRAPH}> "
        f"{{ <https://notekg.example/id/{name}> a <{NK}Benchmark> }} }}"
    )
    post_update(live, update)


def post_update(live: LiveServer, update: str) -> None:
    reply = send(
        f"{live.url}/update",
        method="POST",
        data=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status == 200


# Hits and misses


def test_repeated_query_is_a_hit(live: LiveServer) -> None:
    first = query(live, COUNT_BENCHMARKS)
    second = query(live, COUNT_BENCHMARKS)

    assert first.headers["NoteKG-Cache"] == "miss"
    assert second.headers["NoteKG-Cache"] == "hit"
    assert second.body == first.body
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["Vary"] == first.headers["Vary"]


def test_new_generation_answers_afresh(live: LiveServer) -> None:
    before = benchmark_count(query(live, COUNT_BENCHMARKS))
    query(live, COUNT_BENCHMARKS)

    insert_benchmark(live, "cached-x")
    after = query(live, COUNT_BENCHMARKS)

    assert after.headers["NoteKG-Cache"] == "miss"
    assert benchmark_count(after) == before + 1


def test_write_elsewhere_is_seen_after_reload(tmp_path: Path) -> None:
    from service.store import GenerationChange, NewGraph, Store

    graph = "https://notekg.example/id/graph/elsewhere"
    nquads = (
        f"<https://notekg.example/id/elsewhere> <{RDF_TYPE}> <{NK}Benchmark> <{graph}> .\n".encode()
    )
    with serve_sample_store(tmp_path, reload_interval=0.05) as live:
        before = benchmark_count(query(live, COUNT_BENCHMARKS))
        assert query(live, COUNT_BENCHMARKS).headers["NoteKG-Cache"] == "hit"

        store = Store(f"sqlite:///{tmp_path}/store.sqlite")
        added = [
            NewGraph(graph, source="elsewhere.nq", content_hash="x", nquads=nquads, triple_count=1)
        ]
        store.write_generation(GenerationChange(added=added, dropped=[]))
        store.close()
        time.sleep(0.1)

        after = query(live, COUNT_BENCHMARKS)

    assert after.headers["NoteKG-Cache"] == "miss"
    assert benchmark_count(after) == before + 1


def test_labels_looked_up_once_per_generation(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    metric = query(
        live, f"SELECT ?m WHERE {{ <https://notekg.example{ENTITY_PATH}> <{NK}metric> ?m }}"
    )
    metric_iri = metric.json()["results"]["bindings"][0]["m"]["value"]
    looked_up = recorded_arguments(monkeypatch, page_queries, "labels")
    fresh = {"Accept": "text/html", "Cache-Control": "no-cache"}
    first = send(f"{live.url}{ENTITY_PATH}", headers=fresh)
    again = send(f"{live.url}{ENTITY_PATH}", headers=fresh)

    assert again.headers["NoteKG-Cache"] == "miss"
    assert again.text == first.text
    assert any(metric_iri in iris for iris in looked_up)
    assert not any(metric_iri in iris for iris in looked_up[1:]), "the metric's label is kept"

    rename = (
        f"DELETE WHERE {{ GRAPH ?g {{ <{metric_iri}> <{SKOS_PREF_LABEL}> ?label }} }} ; "
        f"INSERT DATA {{ GRAPH <{NOTE_GRAPH}> "
        f'{{ <{metric_iri}> <{SKOS_PREF_LABEL}> "Renamed metric" }} }}'
    )
    post_update(live, rename)
    renamed = send(f"{live.url}{ENTITY_PATH}", headers=fresh)

    assert "Renamed metric" in renamed.text, "the new generation looks its labels up afresh"


def test_each_accept_header_has_its_own_response(live: LiveServer) -> None:
    as_json = query(live, COUNT_BENCHMARKS)
    as_xml = query(live, COUNT_BENCHMARKS, {"Accept": "application/sparql-results+xml"})
    as_json_again = query(live, COUNT_BENCHMARKS)

    assert as_xml.headers["NoteKG-Cache"] == "miss"
    assert as_xml.headers["Content-Type"].startswith("application/sparql-results+xml")
    assert as_json_again.headers["Content-Type"].startswith("application/sparql-results+json")
    assert as_json_again.body == as_json.body


def test_post_hits_only_for_the_same_body(live: LiveServer) -> None:
    def post(sparql: str) -> HttpReply:
        return send(
            f"{live.url}/sparql",
            method="POST",
            data=sparql.encode(),
            headers={"Content-Type": "application/sparql-query", **JSON_RESULTS},
        )

    first = post(COUNT_BENCHMARKS)
    again = post(COUNT_BENCHMARKS)
    other = post(f"ASK {{ ?b a <{NK}Benchmark> }}")

    assert (first.headers["NoteKG-Cache"], again.headers["NoteKG-Cache"]) == ("miss", "hit")
    assert again.body == first.body
    assert other.headers["NoteKG-Cache"] == "miss"
    assert other.json()["boolean"] is True


def test_entity_page_and_head_request_are_hits(live: LiveServer) -> None:
    page = send(f"{live.url}{ENTITY_PATH}", headers={"Accept": "text/html"})
    again = send(f"{live.url}{ENTITY_PATH}", headers={"Accept": "text/html"})
    head = send(f"{live.url}{ENTITY_PATH}", method="HEAD", headers={"Accept": "text/html"})

    assert page.status == 200
    assert again.headers["NoteKG-Cache"] == "hit"
    assert again.text == page.text
    assert head.headers["NoteKG-Cache"] == "hit"
    assert head.body == b""


# Validators and request directives


def test_if_none_match_with_the_etag_returns_304(live: LiveServer) -> None:
    etag = query(live, COUNT_BENCHMARKS).headers["ETag"]

    reply = query(live, COUNT_BENCHMARKS, {"If-None-Match": etag})

    assert reply.status == 304
    assert reply.body == b""


def test_etag_changes_with_new_body(live: LiveServer) -> None:
    etag = query(live, COUNT_BENCHMARKS).headers["ETag"]
    insert_benchmark(live, "cached-y")

    reply = query(live, COUNT_BENCHMARKS, {"If-None-Match": etag})

    assert reply.status == 200
    assert reply.headers["ETag"] != etag


def test_etag_differs_per_media_type(live: LiveServer) -> None:
    as_json = query(live, COUNT_BENCHMARKS, {"Accept": "application/json"})
    as_sparql_json = query(live, COUNT_BENCHMARKS)

    assert as_json.headers["Content-Type"] != as_sparql_json.headers["Content-Type"]
    assert as_json.body == as_sparql_json.body
    assert as_json.headers["ETag"] != as_sparql_json.headers["ETag"]


def test_post_has_no_etag(live: LiveServer) -> None:
    def post(headers: dict[str, str]) -> HttpReply:
        return send(
            f"{live.url}/sparql",
            method="POST",
            data=COUNT_BENCHMARKS.encode(),
            headers={"Content-Type": "application/sparql-query", **JSON_RESULTS, **headers},
        )

    etag = query(live, COUNT_BENCHMARKS).headers["ETag"]
    first = post({})
    conditional = post({"If-None-Match": etag})

    assert "ETag" not in first.headers
    assert conditional.status == 200
    assert conditional.headers["NoteKG-Cache"] == "hit"
    assert benchmark_count(conditional) == benchmark_count(first)


def test_metrics_count_hits_and_misses(live: LiveServer) -> None:
    for _ in range(3):
        query(live, COUNT_BENCHMARKS)

    exposition = send(f"{live.url}/metrics").text
    counted = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "notekg_response_cache"
        for sample in family.samples
        if sample.name == "notekg_response_cache_total"
    }

    assert counted == {"miss": 1.0, "hit": 2.0}


@pytest.mark.parametrize(
    "headers",
    [{"Cache-Control": "no-cache"}, {"Pragma": "no-cache"}],
    ids=["cache-control", "pragma"],
)
def test_no_cache_request_is_answered_afresh(live: LiveServer, headers: dict[str, str]) -> None:
    first = query(live, COUNT_BENCHMARKS)

    fresh = query(live, COUNT_BENCHMARKS, headers)

    assert fresh.headers["NoteKG-Cache"] == "miss"
    assert fresh.body == first.body


def test_no_store_request_leaves_nothing_kept(live: LiveServer) -> None:
    first = query(live, COUNT_BENCHMARKS, {"Cache-Control": "no-store"})
    second = query(live, COUNT_BENCHMARKS)

    assert first.headers["NoteKG-Cache"] == "miss"
    assert second.headers["NoteKG-Cache"] == "miss"


# What is never kept


def test_error_responses_are_not_kept(live: LiveServer) -> None:
    replies = [query(live, "SELECT * WHERE {") for _ in range(2)]

    assert [reply.status for reply in replies] == [400, 400]
    assert all("NoteKG-Cache" not in reply.headers for reply in replies)


def test_health_is_never_kept(live: LiveServer) -> None:
    replies = [send(f"{live.url}/health") for _ in range(2)]

    assert all(reply.status == 200 for reply in replies)
    assert all("NoteKG-Cache" not in reply.headers for reply in replies)


def test_zero_budget_turns_the_cache_off(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path, response_cache_bytes=0) as live:
        replies = [query(live, COUNT_BENCHMARKS) for _ in range(2)]

    assert all(reply.status == 200 for reply in replies)
    assert all("NoteKG-Cache" not in reply.headers for reply in replies)
    assert all("ETag" not in reply.headers for reply in replies)


# The budget


def kept(size: int) -> KeptResponse:
    return KeptResponse(b"x" * size, (("Content-Type", "text/plain"),), "etag")


def test_full_budget_drops_the_least_recently_used_response() -> None:
    cache = ResponseCache(max_bytes=800)
    cache.put("g1", ("a",), kept(100))
    cache.put("g1", ("b",), kept(100))
    assert cache.get("g1", ("a",)) is not None

    for name in "cdefghi":
        cache.put("g1", (name,), kept(100))

    assert cache.get("g1", ("a",)) is not None
    assert cache.get("g1", ("b",)) is None


def test_put_skips_oversized_response() -> None:
    cache = ResponseCache(max_bytes=800)

    cache.put("g1", ("big",), kept(101))
    cache.put("g1", ("small",), kept(100))

    assert cache.get("g1", ("big",)) is None
    assert cache.get("g1", ("small",)) is not None


def test_put_of_another_version_empties_cache() -> None:
    cache = ResponseCache(max_bytes=800)
    cache.put("g1", ("a",), kept(10))

    cache.put("g2", ("b",), kept(10))

    assert cache.get("g1", ("a",)) is None
    assert cache.get("g2", ("b",)) is not None


def test_late_put_of_older_version_is_never_served() -> None:
    cache = ResponseCache(max_bytes=800)
    cache.put("g2", ("b",), kept(10))

    # A request that the replaced engine served finishes after one of the new engine.
    cache.put("g1", ("c",), kept(10))

    assert cache.get("g2", ("b",)) is None
    assert cache.get("g2", ("c",)) is None
