"""The SPARQL endpoint, downloads and health check, through the real app served over HTTP."""

from __future__ import annotations

import http.client
import logging
import socket
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from servers import (
    HttpReply,
    LiveServer,
    assert_no_connection,
    fill_store_from_dataset,
    listener_url,
    parse_rdf_dataset,
    parse_rdf_graph,
    send,
    serve_sample_store,
    serve_store,
)
from SPARQLWrapper import JSON, N3, TURTLE, SPARQLWrapper

from service.engine import OxigraphEngine
from service.sparql import DumpCache

NK = "https://notekg.example/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SD = "http://www.w3.org/ns/sparql-service-description#"
NOTE_GRAPH = "https://notekg.example/id/graph/ai"
PROVENANCE_GRAPH = "https://notekg.example/id/graph/ai/provenance"

BENCHMARK_LABELS = f"""PREFIX nk: <{NK}>
PREFIX skos: <{SKOS}>
SELECT ?benchmark ?label WHERE {{ ?benchmark a nk:Benchmark ; skos:prefLabel ?label }}
ORDER BY ?label"""

SOURCE_SPANS = f"SELECT ?span WHERE {{ ?span a <{NK}SourceSpan> }} ORDER BY ?span"

JSON_RESULTS = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The engine's files on disk, which large stores use.
    with serve_sample_store(tmp_path_factory.mktemp("sparql"), engine_files_from=0) as server:
        yield server


def get_query(live: LiveServer, query: str, **parameters: str | list[str]) -> str:
    encoded = urllib.parse.urlencode({"query": query, **parameters}, doseq=True)
    return f"{live.url}/sparql?{encoded}"


def post_query(live: LiveServer, text: str) -> HttpReply:
    """Send a query as an application/sparql-query body, asking for SPARQL JSON."""
    return send(
        f"{live.url}/sparql",
        method="POST",
        data=text.encode(),
        headers={**JSON_RESULTS, "Content-Type": "application/sparql-query"},
    )


def rows_of(reply_json: dict) -> list[dict[str, str]]:
    return [
        {name: binding["value"] for name, binding in row.items()}
        for row in reply_json["results"]["bindings"]
    ]


# Protocol operations


def test_get_and_both_posts_return_same_rows(live: LiveServer) -> None:
    by_get = send(get_query(live, BENCHMARK_LABELS), headers=JSON_RESULTS)
    by_form = send(
        f"{live.url}/sparql",
        method="POST",
        data=urllib.parse.urlencode({"query": BENCHMARK_LABELS}).encode(),
        headers={**JSON_RESULTS, "Content-Type": "application/x-www-form-urlencoded"},
    )
    by_body = send(
        f"{live.url}/sparql",
        method="POST",
        data=BENCHMARK_LABELS.encode(),
        headers={**JSON_RESULTS, "Content-Type": "application/sparql-query"},
    )

    assert by_get.status == 200
    assert by_form.status == 200
    assert by_body.status == 200
    assert [row["label"] for row in rows_of(by_get.json())] == ["HellaSwag", "MMLU"]
    assert rows_of(by_form.json()) == rows_of(by_get.json())
    assert rows_of(by_body.json()) == rows_of(by_get.json())


@pytest.mark.parametrize(
    "part_headers",
    [
        'Content-Disposition: form-data; name="query"',
        # curl -F query=@q.rq sends the query as a file part.
        'Content-Disposition: form-data; name="query"; filename="q.rq"\r\n'
        "Content-Type: application/sparql-query",
    ],
    ids=["field", "file"],
)
def test_multipart_form_post_returns_rows(live: LiveServer, part_headers: str) -> None:
    boundary = "notekg-boundary"
    body = (
        f"--{boundary}\r\n{part_headers}\r\n\r\n{BENCHMARK_LABELS}\r\n--{boundary}--\r\n"
    ).encode()
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=body,
        headers={**JSON_RESULTS, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert reply.status == 200
    assert [row["label"] for row in rows_of(reply.json())] == ["HellaSwag", "MMLU"]


def test_head_query_matches_get(live: LiveServer) -> None:
    url = get_query(live, BENCHMARK_LABELS)
    by_get = send(url, headers=JSON_RESULTS)
    by_head = send(url, method="HEAD", headers=JSON_RESULTS)

    assert by_head.status == 200
    assert by_head.body == b""
    assert by_head.headers["Content-Type"] == by_get.headers["Content-Type"]
    assert by_head.headers["Content-Length"] == by_get.headers["Content-Length"]


@pytest.mark.parametrize("path", ["/ontology", "/.well-known/void", "/store?default"])
@pytest.mark.parametrize(
    ("name", "media_type"),
    [("nt", "application/n-triples"), ("ttl", "text/turtle"), ("rdf", "application/rdf+xml")],
)
def test_graph_views_take_graph_format_names(
    live: LiveServer, path: str, name: str, media_type: str
) -> None:
    separator = "&" if "?" in path else "?"
    reply = send(f"{live.url}{path}{separator}format={name}")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(media_type)


def test_deeply_nested_query_returns_400(live: LiveServer) -> None:
    reply = post_query(live, "ASK { " + "{" * 3000 + "}" * 3000 + " }")

    assert reply.status == 400
    assert "3001 levels deep" in reply.json()["error"]["message"]
    # The query processes are still there for the next query.
    assert send(get_query(live, "ASK {}"), headers=JSON_RESULTS).json()["boolean"] is True


def test_query_with_bad_syntax_returns_400(live: LiveServer) -> None:
    reply = send(get_query(live, "SELECT ?s WHERE { ?s ?p"), headers=JSON_RESULTS)

    assert reply.status == 400
    assert reply.json()["error"]["title"] == "Bad Request"
    # Oxigraph's parser names the line and column of the error.
    assert "syntax error on line 1 near column 24" in reply.json()["error"]["message"]


def test_post_without_query_returns_400(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=b"default-graph-uri=https%3A%2F%2Fnotekg.example%2Fid%2Fgraph%2Fai",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status == 400
    assert "no query" in reply.json()["error"]["message"]


def test_get_without_query_for_results_returns_400(live: LiveServer) -> None:
    reply = send(f"{live.url}/sparql", headers=JSON_RESULTS)

    assert reply.status == 400


def test_two_queries_return_400(live: LiveServer) -> None:
    url = get_query(live, "ASK {}") + "&" + urllib.parse.urlencode({"query": "SELECT * {}"})

    reply = send(url, headers=JSON_RESULTS)

    assert reply.status == 400
    assert "2 queries" in reply.json()["error"]["message"]


def test_query_in_url_and_body_returns_400(live: LiveServer) -> None:
    reply = send(
        get_query(live, "ASK {}"),
        method="POST",
        data=b"ASK {}",
        headers={"Content-Type": "application/sparql-query"},
    )

    assert reply.status == 400


def test_post_of_text_plain_returns_415(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=b"ASK {}",
        headers={"Content-Type": "text/plain"},
    )

    assert reply.status == 415
    assert "application/sparql-query" in reply.json()["error"]["message"]


def test_post_in_utf16_returns_415(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data="ASK {}".encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )

    assert reply.status == 415


def test_post_without_content_type_returns_400(live: LiveServer) -> None:
    address = urllib.parse.urlsplit(live.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        # http.client adds no Content-Type unless it is given.
        connection.request("POST", "/sparql", body=b"query=ASK%20%7B%7D")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 400


def test_put_returns_405_with_allow(live: LiveServer) -> None:
    reply = send(get_query(live, "ASK {}"), method="PUT", data=b"")

    assert reply.status == 405
    allowed = {method.strip() for method in reply.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


# Updates and remote calls


@pytest.mark.parametrize(
    "query",
    [
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "INSERT DATA { <https://notekg.example/id/x> <https://notekg.example/id/p> 1 }",
        "PREFIX nk: <https://notekg.example/ontology#>\nDELETE WHERE { ?s nk:metric ?o }",
        "CLEAR ALL",
    ],
)
def test_update_in_query_returns_403(live: LiveServer, query: str) -> None:
    reply = send(get_query(live, query), headers=JSON_RESULTS)

    assert reply.status == 403
    assert "read-only" in reply.json()["error"]["message"]
    assert "/update" in reply.json()["error"]["message"]


def test_update_form_field_returns_403(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=urllib.parse.urlencode({"update": "CLEAR ALL"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status == 403
    assert "read-only" in reply.json()["error"]["message"]
    assert "/update" in reply.json()["error"]["message"]


def test_update_body_returns_403(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=b"CLEAR ALL",
        headers={"Content-Type": "application/sparql-update"},
    )

    assert reply.status == 403
    assert "read-only" in reply.json()["error"]["message"]
    assert "/update" in reply.json()["error"]["message"]


def test_update_after_update_returns_same_graph(live: LiveServer) -> None:
    insert = f"INSERT DATA {{ <https://notekg.example/id/x> a <{NK}Benchmark> }}"
    send(get_query(live, insert), headers=JSON_RESULTS)

    reply = send(get_query(live, BENCHMARK_LABELS), headers=JSON_RESULTS)

    assert len(rows_of(reply.json())) == 2


def test_service_call_returns_403_without_connecting(
    live: LiveServer, listener: socket.socket
) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{listener_url(listener, '/sparql')}> {{ ?s ?p ?o }} }}"

    reply = send(get_query(live, query), headers=JSON_RESULTS)

    assert reply.status == 403
    assert "SERVICE" in reply.json()["error"]["message"]
    assert_no_connection(listener)


def test_from_remote_iri_reads_only_stored_graphs(
    live: LiveServer, listener: socket.socket
) -> None:
    query = f"SELECT * FROM <{listener_url(listener, '/x')}> WHERE {{ ?s ?p ?o }}"

    reply = send(get_query(live, query), headers=JSON_RESULTS)

    assert reply.status == 200
    assert rows_of(reply.json()) == []
    assert_no_connection(listener)


def test_from_stored_graph_reads_only_that_graph(live: LiveServer) -> None:
    query = SOURCE_SPANS.replace("WHERE", f"FROM <{NOTE_GRAPH}> WHERE")

    reply = send(get_query(live, query), headers=JSON_RESULTS)

    assert reply.status == 200
    assert rows_of(reply.json()) == []


# Datasets


def test_default_graph_uri_restricts_to_that_graph(live: LiveServer) -> None:
    in_provenance = send(
        get_query(live, SOURCE_SPANS, **{"default-graph-uri": PROVENANCE_GRAPH}),
        headers=JSON_RESULTS,
    )
    in_notes = send(
        get_query(live, SOURCE_SPANS, **{"default-graph-uri": NOTE_GRAPH}),
        headers=JSON_RESULTS,
    )

    assert len(rows_of(in_provenance.json())) == 2
    assert rows_of(in_notes.json()) == []


def test_default_graph_uri_overrides_from(live: LiveServer) -> None:
    query = SOURCE_SPANS.replace("WHERE", f"FROM <{NOTE_GRAPH}> WHERE")

    reply = send(
        get_query(live, query, **{"default-graph-uri": PROVENANCE_GRAPH}), headers=JSON_RESULTS
    )

    assert len(rows_of(reply.json())) == 2


def test_named_graph_uri_limits_graph_patterns(live: LiveServer) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"

    reply = send(
        get_query(live, query, **{"named-graph-uri": [PROVENANCE_GRAPH]}), headers=JSON_RESULTS
    )

    assert rows_of(reply.json()) == [{"g": PROVENANCE_GRAPH}]


def test_invalid_graph_iri_returns_400(live: LiveServer) -> None:
    reply = send(
        get_query(live, "ASK {}", **{"default-graph-uri": "not an iri"}), headers=JSON_RESULTS
    )

    assert reply.status == 400
    assert "default-graph-uri" in reply.json()["error"]["message"]


# Form and service description


@pytest.mark.parametrize("accept", [None, "*/*"], ids=["no-accept", "any"])
def test_get_without_query_or_preference_describes_endpoint(
    live: LiveServer, accept: str | None
) -> None:
    reply = send(f"{live.url}/sparql", headers={"Accept": accept} if accept else {})

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/turtle"
    assert "a sd:Service" in reply.text


def test_get_without_query_from_browser_returns_form(live: LiveServer) -> None:
    reply = send(f"{live.url}/sparql", headers={"Accept": "text/html,*/*;q=0.8"})

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/html"
    assert '<textarea id="sparql-query" name="query"' in reply.text
    assert reply.text.count("<details>") >= 6


def test_form_examples_run(live: LiveServer) -> None:
    from service.sparql import EXAMPLE_QUERIES

    for example in EXAMPLE_QUERIES:
        result_format = "turtle" if example.query.startswith("DESCRIBE") else "json"
        reply = send(get_query(live, example.query, format=result_format))

        assert reply.status == 200, example.title


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [("text/turtle", "turtle"), ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")],
)
def test_get_without_query_for_rdf_returns_service_description(
    live: LiveServer, media_type: str, rdflib_format: str
) -> None:
    reply = send(f"{live.url}/sparql", headers={"Accept": media_type})
    graph = parse_rdf_graph(reply.body, rdflib_format)
    service = graph.value(predicate=rdflib.RDF.type, object=rdflib.URIRef(SD + "Service"))

    assert reply.status == 200
    assert reply.headers.get_content_type() == media_type
    assert service is not None
    assert graph.value(service, rdflib.URIRef(SD + "endpoint")) == rdflib.URIRef(
        f"{live.url}/sparql"
    )
    sd = rdflib.Namespace(SD)
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    assert (service, sd.feature, sd.UnionDefaultGraph) in graph
    assert (
        service,
        rdflib.URIRef(SD + "resultFormat"),
        rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON"),
    ) in graph


# Real SPARQL clients


def test_sparqlwrapper_select(live: LiveServer) -> None:
    client = SPARQLWrapper(f"{live.url}/sparql")
    client.setQuery(BENCHMARK_LABELS)
    client.setReturnFormat(JSON)

    document = client.query().convert()

    assert [row["label"]["value"] for row in document["results"]["bindings"]] == [  # type: ignore[index]
        "HellaSwag",
        "MMLU",
    ]


@pytest.mark.parametrize("return_format", [TURTLE, N3])
def test_sparqlwrapper_construct(live: LiveServer, return_format: str) -> None:
    client = SPARQLWrapper(f"{live.url}/sparql")
    client.setQuery(
        f"CONSTRUCT {{ ?b <{SKOS}prefLabel> ?l }} "
        f"WHERE {{ ?b a <{NK}Benchmark> ; <{SKOS}prefLabel> ?l }}"
    )
    client.setReturnFormat(return_format)

    graph = parse_rdf_graph(client.query().convert(), "turtle")  # type: ignore[arg-type]

    assert len(graph) == 2
    assert (
        rdflib.URIRef("https://notekg.example/id/benchmark/mmlu"),
        rdflib.URIRef(SKOS + "prefLabel"),
        rdflib.Literal("MMLU"),
    ) in graph


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_returns_rows(live: LiveServer, method: str) -> None:
    store = SPARQLStore(f"{live.url}/sparql", method=method)
    graph = rdflib.Graph(store=store)

    rows = list(graph.query(BENCHMARK_LABELS))

    assert [str(row.label) for row in rows] == ["HellaSwag", "MMLU"]  # type: ignore[union-attr]


# Downloads

DOWNLOAD_FORMATS = {
    "graph.ttl": ("text/turtle", ox.RdfFormat.TURTLE, "turtle"),
    "graph.nt": ("application/n-triples", ox.RdfFormat.N_TRIPLES, "nt"),
    "graph.nq": ("application/n-quads", ox.RdfFormat.N_QUADS, "nquads"),
    "graph.trig": ("application/trig", ox.RdfFormat.TRIG, "trig"),
    "graph.jsonld": ("application/ld+json", ox.RdfFormat.JSON_LD, "json-ld"),
    "graph.rdf": ("application/rdf+xml", ox.RdfFormat.RDF_XML, "xml"),
}
SAMPLE_QUADS = 59
SAMPLE_DISTINCT_TRIPLES = 59


@pytest.mark.parametrize("name", list(DOWNLOAD_FORMATS))
def test_download_loads_in_pyoxigraph_and_rdflib(live: LiveServer, name: str) -> None:
    media_type, rdf_format, rdflib_format = DOWNLOAD_FORMATS[name]

    reply = send(f"{live.url}/download/{name}")
    quads = list(ox.parse(reply.body, format=rdf_format))
    dataset = parse_rdf_dataset(reply.body, rdflib_format)

    assert reply.status == 200
    assert reply.headers.get_content_type() == media_type
    assert reply.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert len(quads) == SAMPLE_QUADS
    assert len(list(dataset.quads((None, None, None, None)))) == SAMPLE_DISTINCT_TRIPLES


@pytest.mark.parametrize("name", ["graph.nq", "graph.trig", "graph.jsonld"])
def test_quad_download_keeps_named_graphs(live: LiveServer, name: str) -> None:
    rdf_format = DOWNLOAD_FORMATS[name][1]

    reply = send(f"{live.url}/download/{name}")
    graph_names = {quad.graph_name.value for quad in ox.parse(reply.body, format=rdf_format)}

    assert graph_names == {NOTE_GRAPH, PROVENANCE_GRAPH}


def test_unknown_download_returns_404(live: LiveServer) -> None:
    reply = send(f"{live.url}/download/graph.xlsx")

    assert reply.status == 404
    assert "graph.ttl" in reply.json()["error"]["message"]


def formats_serialized(monkeypatch: pytest.MonkeyPatch, method: str) -> list[ox.RdfFormat]:
    """Record the format of each call of an OxigraphEngine serializing method, in a list."""
    calls: list[ox.RdfFormat] = []
    real = getattr(OxigraphEngine, method)

    def recording(
        self: OxigraphEngine, rdf_format: ox.RdfFormat, *args: Any, **options: Any
    ) -> Any:
        calls.append(rdf_format)
        return real(self, rdf_format, *args, **options)

    monkeypatch.setattr(OxigraphEngine, method, recording)
    return calls


def test_download_is_serialized_once_per_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = formats_serialized(monkeypatch, "dump")

    with serve_sample_store(tmp_path, reload_interval=0.05) as server:
        first = send(f"{server.url}/download/graph.nt")
        second = send(f"{server.url}/download/graph.nt")
        database_url = server.app.extensions["notekg.config"].database_url
        fill_store_from_dataset(database_url, str(_extra_graph(tmp_path)))
        _wait_for_generation(server, 2)
        third = send(f"{server.url}/download/graph.nt")

    assert second.body == first.body
    assert calls == [ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_TRIPLES]
    assert b"<https://notekg.example/id/extra>" in third.body


def test_engine_files_download_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = formats_serialized(monkeypatch, "dump_file")

    # The second app over the same store stands for another worker process of the server.
    with serve_sample_store(tmp_path, engine_files_from=1) as server:
        url = f"{server.url}/download/graph.nq"
        first = send(url)
        database_url = server.app.extensions["notekg.config"].database_url
        with serve_store(database_url, engine_files_from=1) as other:
            second = send(f"{other.url}/download/graph.nq")
        part = send(url, headers={"Range": "bytes=0-9"})
        # A server may ignore a Range header of several ranges, or one it cannot read.
        ranges = send(url, headers={"Range": "bytes=0-9,20-29"})
        unreadable = send(url, headers={"Range": "bytes=abc"})
        unchanged = send(url, headers={"If-None-Match": first.headers["ETag"]})
        # The default graph from the Graph Store Protocol comes from the same files.
        default = send(f"{server.url}/store?default", headers={"Accept": "application/n-triples"})

    assert calls == [ox.RdfFormat.N_QUADS, ox.RdfFormat.N_TRIPLES]
    assert first.status == 200
    assert first.headers["Content-Disposition"] == "attachment; filename=graph.nq"
    assert len(list(ox.parse(first.body, format=ox.RdfFormat.N_QUADS))) == SAMPLE_QUADS
    assert second.body == first.body
    assert (part.status, part.body) == (206, first.body[:10])
    assert (ranges.status, ranges.body) == (200, first.body)
    assert (unreadable.status, unreadable.body) == (200, first.body)
    assert unchanged.status == 304
    assert default.status == 200
    assert "Content-Disposition" not in default.headers
    triples = list(ox.parse(default.body, format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == SAMPLE_DISTINCT_TRIPLES
    files = tmp_path.glob("store.sqlite.oxigraph/generation-*/downloads/graph.*")
    assert sorted(path.name for path in files) == ["graph.nq", "graph.nt"]


def test_engine_files_download_written_by_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two apps over one store stand for two worker processes that get the first requests for
    # a download at the same time. The slow write keeps the first one writing meanwhile.
    calls = formats_serialized(monkeypatch, "dump_file")
    real_dump_file = OxigraphEngine.dump_file

    def slow_dump_file(self: OxigraphEngine, *args: Any, **options: Any) -> None:
        time.sleep(0.5)
        real_dump_file(self, *args, **options)

    monkeypatch.setattr(OxigraphEngine, "dump_file", slow_dump_file)

    with serve_sample_store(tmp_path, engine_files_from=1) as server:
        database_url = server.app.extensions["notekg.config"].database_url
        with serve_store(database_url, engine_files_from=1) as other:
            urls = [f"{live.url}/download/graph.ttl" for live in (server, other)]
            with ThreadPoolExecutor(2) as pool:
                replies = list(pool.map(send, urls))

    assert [reply.status for reply in replies] == [200, 200]
    assert replies[0].body == replies[1].body
    assert calls == [ox.RdfFormat.TURTLE]


def _extra_graph(directory: Path) -> Path:
    path = directory / "extra.trig"
    path.write_text(
        "<https://notekg.example/id/graph/extra> {\n"
        "  <https://notekg.example/id/extra>\n"
        '      <http://www.w3.org/2000/01/rdf-schema#label> "extra" .\n'
        "}\n"
    )
    return path


def _wait_for_generation(server: LiveServer, generation: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if send(f"{server.url}/health").json()["generation"] == generation:
            return
        time.sleep(0.05)
    pytest.fail(f"the service did not load generation {generation} within 10 s")


def test_conditional_download_returns_304(live: LiveServer) -> None:
    first = send(f"{live.url}/download/graph.ttl")

    second = send(
        f"{live.url}/download/graph.ttl", headers={"If-None-Match": first.headers["ETag"]}
    )

    assert second.status == 304


# Health and logging


def test_health_reports_generation_and_size(live: LiveServer) -> None:
    reply = send(f"{live.url}/health")
    counted = send(
        get_query(live, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), headers=JSON_RESULTS
    )
    triples = int(rows_of(counted.json())[0]["n"])

    assert reply.status == 200
    assert reply.json() == {
        "status": "ok",
        "generation": 1,
        "quads": SAMPLE_QUADS,
        "triples": triples,
    }


def test_sparql_request_is_logged(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="service.sparql")

    send(get_query(live, "ASK {}"), headers=JSON_RESULTS)

    messages = [record.getMessage() for record in caplog.records if record.name == "service.sparql"]
    assert any(
        message.startswith("GET /sparql 200 ") and message.endswith(" ms") for message in messages
    )


def test_rejected_method_is_logged(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="service.sparql")

    send(f"{live.url}/sparql", method="DELETE")

    messages = [record.getMessage() for record in caplog.records if record.name == "service.sparql"]
    assert any(message.startswith("DELETE /sparql 405 ") for message in messages)


class _CountingEngine:
    """An engine stand-in that serializes a fixed number of bytes per format and counts it."""

    def __init__(self, size: int, download_folder: Path | None = None) -> None:
        self.generation = 1
        self.version = "generation-1"
        self.size = size
        self.calls: list[ox.RdfFormat] = []
        self.download_folder = download_folder

    def dump(self, rdf_format: ox.RdfFormat, *_arguments: Any, **_options: Any) -> bytes:
        self.calls.append(rdf_format)
        return b"x" * self.size

    def dump_file(
        self, rdf_format: ox.RdfFormat, path: Path, *_arguments: Any, **_options: Any
    ) -> None:
        path.write_bytes(self.dump(rdf_format))


def test_dump_cache_unwritable_folder_uses_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A file where the folder's parent should be makes every write into the folder fail.
    (tmp_path / "generation").write_text("not a folder")
    engine = _CountingEngine(size=40, download_folder=tmp_path / "generation" / "downloads")
    cache = DumpCache(max_bytes=100)

    first = cache.get(engine, "graph.nt", {})  # type: ignore[arg-type]
    second = cache.get(engine, "graph.nt", {})  # type: ignore[arg-type]

    assert first == second == b"x" * 40
    assert engine.calls == [ox.RdfFormat.N_TRIPLES]
    warnings = [record.getMessage() for record in caplog.records if record.name == "service.sparql"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"cannot write downloads into {engine.download_folder}")


def test_dump_cache_keeps_downloads_within_its_budget() -> None:
    engine = _CountingEngine(size=40)
    cache = DumpCache(max_bytes=100)

    for name in ("graph.nt", "graph.ttl", "graph.nt", "graph.nq", "graph.nt", "graph.ttl"):
        cache.get(engine, name, {})  # type: ignore[arg-type]

    # nt and ttl fit (80 bytes). nq pushes out ttl, the least recently used after nt was read
    # again, so nt is still kept and ttl is serialized a second time.
    assert engine.calls == [
        ox.RdfFormat.N_TRIPLES,
        ox.RdfFormat.TURTLE,
        ox.RdfFormat.N_QUADS,
        ox.RdfFormat.TURTLE,
    ]


def test_dump_cache_never_keeps_a_download_over_budget() -> None:
    engine = _CountingEngine(size=200)
    cache = DumpCache(max_bytes=100)

    first = cache.get(engine, "graph.nt", {})  # type: ignore[arg-type]
    cache.get(engine, "graph.nt", {})  # type: ignore[arg-type]

    assert len(first) == 200
    assert engine.calls == [ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_TRIPLES]


def test_get_of_post_only_path_returns_405(live: LiveServer) -> None:
    reply = send(f"{live.url}/update", headers=JSON_RESULTS)

    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"


def test_download_folder_lists_downloads(live: LiveServer) -> None:
    reply = send(f"{live.url}/download/", headers=JSON_RESULTS)

    assert reply.status == 404
    assert "available: graph.ttl, graph.nt" in reply.json()["error"]["message"]


def test_query_string_of_invalid_utf8_returns_400(live: LiveServer) -> None:
    reply = send(f"{live.url}/sparql?query=ASK%7B%3Fs%20%3Fp%20%22%FF%22%7D", headers=JSON_RESULTS)

    assert reply.status == 400
    assert "not valid UTF-8 (byte 0xff)" in reply.json()["error"]["message"]


def test_query_with_byte_order_mark_runs(live: LiveServer) -> None:
    reply = post_query(live, "\ufeff" + BENCHMARK_LABELS)

    assert reply.status == 200
    assert [row["label"] for row in rows_of(reply.json())] == ["HellaSwag", "MMLU"]
