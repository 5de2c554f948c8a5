"""The W3C SPARQL 1.1 Protocol test cases, sent over HTTP to the real server.

Each test is one entry of the protocol test manifest of the W3C rdf-tests repository
(sparql/sparql11/protocol/manifest.ttl) and is named after it. The manifest sends queries and
updates to one path. Here queries go to /sparql and updates to /update, which the protocol
allows, and updates carry the bearer token. Query cases run against the suite's three graphs
(tests/fixtures/w3c-protocol), each a named graph of the store.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from servers import HttpReply, LiveServer, fill_store_from_dataset, send, serve_app

from service.app import create_app, holder

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "w3c-protocol"
TOKEN = "w3c-protocol-token"
DATA = "http://kasei.us/2009/09/sparql/data/"
DATA0, DATA1, DATA2, DATA3 = (f"{DATA}data{number}.rdf" for number in range(4))

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
QUERY_BODY = {"Content-Type": "application/sparql-query"}
UPDATE_BODY = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
UPDATE_FORM = {**FORM, "Authorization": f"Bearer {TOKEN}"}

BOOLEAN_TYPES = {"application/sparql-results+xml", "application/sparql-results+json"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {
    "application/rdf+xml",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/n-quads",
    "application/trig",
}


def serve_protocol_data(store_dir: Path) -> Iterator[LiveServer]:
    database_url = f"sqlite:///{store_dir}/store.sqlite"
    fill_store_from_dataset(database_url, str(FIXTURES / "dataset.nq"))
    app = create_app({"database_url": database_url, "update_token": TOKEN})
    try:
        with serve_app(app) as live:
            yield live
    finally:
        holder(app).close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that gets only queries in this module, so the graphs stay as loaded."""
    yield from serve_protocol_data(tmp_path_factory.mktemp("w3c-query"))


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own for each update case."""
    yield from serve_protocol_data(tmp_path)


def url(live: LiveServer, path: str, **parameters: str | list[str]) -> str:
    query = urllib.parse.urlencode(parameters, doseq=True)
    return f"{live.url}{path}?{query}" if query else f"{live.url}{path}"


def post_without_content_type(live: LiveServer, path: str, body: bytes) -> int:
    """POST a body with no Content-Type header, which urllib always adds, and return the status."""
    address = urllib.parse.urlsplit(live.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def boolean_of(reply: HttpReply) -> bool:
    media_type = reply.headers.get_content_type()
    assert media_type in BOOLEAN_TYPES, media_type
    result = ox.parse_query_results(
        reply.body, format=ox.QueryResultsFormat.from_media_type(media_type)
    )
    assert isinstance(result, ox.QueryBoolean)
    return bool(result)


def solutions_of(reply: HttpReply) -> list[ox.QuerySolution]:
    media_type = reply.headers.get_content_type()
    result = ox.parse_query_results(
        reply.body, format=ox.QueryResultsFormat.from_media_type(media_type)
    )
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


def ask_post(live: LiveServer, query: str) -> bool:
    reply = send(f"{live.url}/sparql", method="POST", data=query.encode(), headers=QUERY_BODY)
    assert reply.status == 200
    return boolean_of(reply)


def is_success(status: int) -> bool:
    return 200 <= status < 400


def is_client_error(status: int) -> bool:
    return 400 <= status < 500


# Queries


def test_query_post_form_returns_true(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", **{"default-graph-uri": DATA0}),
        method="POST",
        data=b"query=ASK%20%7B%7D",
        headers=FORM,
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


ASK_DATA1_AND_DATA2 = f"ASK {{ <{DATA1}> a ?type . <{DATA2}> a ?type . }}"
ASK_NAMED_DATA1_AND_DATA2 = (
    f"ASK {{ GRAPH ?g1 {{ <{DATA1}> a ?type }} GRAPH ?g2 {{ <{DATA2}> a ?type }} }}"
)


def test_query_dataset_default_graphs_get_returns_true(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", query=ASK_DATA1_AND_DATA2, **{"default-graph-uri": [DATA1, DATA2]})
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_dataset_default_graphs_post_returns_true(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", **{"default-graph-uri": [DATA1, DATA2]}),
        method="POST",
        data=ASK_DATA1_AND_DATA2.encode(),
        headers=QUERY_BODY,
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_dataset_named_graphs_post_returns_true(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", **{"named-graph-uri": [DATA1, DATA2]}),
        method="POST",
        data=ASK_NAMED_DATA1_AND_DATA2.encode(),
        headers=QUERY_BODY,
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_dataset_named_graphs_get_returns_true(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", query=ASK_NAMED_DATA1_AND_DATA2, **{"named-graph-uri": [DATA1, DATA2]})
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_dataset_full_returns_true(live: LiveServer) -> None:
    query = f"""ASK {{
  <{DATA3}> a ?type
  GRAPH ?g1 {{ <{DATA1}> a ?type }}
  GRAPH ?g2 {{ <{DATA2}> a ?type }}
}}"""

    reply = send(
        url(live, "/sparql", **{"default-graph-uri": DATA3, "named-graph-uri": [DATA1, DATA2]}),
        method="POST",
        data=query.encode(),
        headers=QUERY_BODY,
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_multiple_dataset_uses_protocol_dataset(live: LiveServer) -> None:
    # The manifest's request path percent-encodes the "&" between its two named-graph-uri
    # parameters, which makes them one parameter value. Its expected result, true, needs both
    # graphs, so the test sends two parameters.
    query = f"ASK FROM <{DATA3}> " + ASK_NAMED_DATA1_AND_DATA2.removeprefix("ASK ")

    reply = send(
        url(live, "/sparql", **{"named-graph-uri": [DATA1, DATA2]}),
        method="POST",
        data=query.encode(),
        headers=QUERY_BODY,
    )

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_get_returns_true(live: LiveServer) -> None:
    reply = send(url(live, "/sparql", query="ASK {}", **{"default-graph-uri": DATA0}))

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def test_query_post_direct_returns_true(live: LiveServer) -> None:
    reply = send(f"{live.url}/sparql", method="POST", data=b"ASK {}", headers=QUERY_BODY)

    assert is_success(reply.status)
    assert boolean_of(reply) is True


def post_query_for_data0(live: LiveServer, query: str) -> HttpReply:
    return send(
        url(live, "/sparql", **{"default-graph-uri": DATA0}),
        method="POST",
        data=query.encode(),
        headers=QUERY_BODY,
    )


def test_query_content_type_select_is_tabular(live: LiveServer) -> None:
    reply = post_query_for_data0(live, "SELECT (1 AS ?value) {}")

    assert is_success(reply.status)
    assert reply.headers.get_content_type() in TABULAR_TYPES
    assert [solution["value"] for solution in solutions_of(reply)] == [ox.Literal(1)]


def test_query_content_type_ask_is_boolean(live: LiveServer) -> None:
    reply = post_query_for_data0(live, "ASK {}")

    assert is_success(reply.status)
    assert reply.headers.get_content_type() in BOOLEAN_TYPES
    assert boolean_of(reply) is True


def test_query_content_type_describe_is_rdf(live: LiveServer) -> None:
    reply = post_query_for_data0(live, "DESCRIBE <http://example.org/>")
    media_type = reply.headers.get_content_type()

    assert is_success(reply.status)
    assert media_type in RDF_TYPES
    assert list(ox.parse(reply.body, format=ox.RdfFormat.from_media_type(media_type))) == []


def test_query_content_type_construct_is_rdf(live: LiveServer) -> None:
    reply = post_query_for_data0(live, "CONSTRUCT { <s> <p> 1 } WHERE {}")
    media_type = reply.headers.get_content_type()
    triples = list(ox.parse(reply.body, format=ox.RdfFormat.from_media_type(media_type)))

    assert is_success(reply.status)
    assert media_type in RDF_TYPES
    # The endpoint's URL is the base IRI of the query's relative IRIs.
    assert [quad.subject for quad in triples] == [ox.NamedNode(f"{live.url}/s")]


# Malformed queries


def test_bad_query_method_returns_4xx(live: LiveServer) -> None:
    reply = send(
        url(live, "/sparql", query="ASK {}", **{"default-graph-uri": DATA0}),
        method="PUT",
        data=b"",
        headers=FORM,
    )

    assert is_client_error(reply.status)


def test_bad_multiple_queries_returns_4xx(live: LiveServer) -> None:
    reply = send(url(live, "/sparql", query=["ASK {}", "SELECT * {}"]))

    assert is_client_error(reply.status)


def test_bad_query_wrong_media_type_returns_4xx(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql", method="POST", data=b"ASK {}", headers={"Content-Type": "text/plain"}
    )

    assert is_client_error(reply.status)


def test_bad_query_missing_form_type_returns_4xx(live: LiveServer) -> None:
    status = post_without_content_type(live, "/sparql", b"query=ASK%20%7B%7D")

    assert is_client_error(status)


def test_bad_query_missing_direct_type_returns_4xx(live: LiveServer) -> None:
    status = post_without_content_type(live, "/sparql", b"ASK {}")

    assert is_client_error(status)


def test_bad_query_non_utf8_returns_4xx(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        # Python's utf-16 codec writes the byte order mark first, as the manifest's body has.
        data="ASK {}".encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )

    assert is_client_error(reply.status)


def test_bad_query_syntax_returns_4xx(live: LiveServer) -> None:
    reply = send(url(live, "/sparql", query="ASK {"))

    assert is_client_error(reply.status)


# Updates

UPDATE_PREFIXES = """PREFIX dc: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""

INSERT_THREE_DOCUMENTS = f"""INSERT DATA {{
    GRAPH <{DATA1}> {{ <{DATA1}> a foaf:Document }}
    GRAPH <{DATA2}> {{ <{DATA2}> a foaf:Document }}
    GRAPH <{DATA3}> {{ <{DATA3}> a foaf:Document }}
}}"""


def post_update(live: LiveServer, update: str, **parameters: str | list[str]) -> HttpReply:
    return send(
        url(live, "/update", **parameters),
        method="POST",
        data=update.encode(),
        headers=UPDATE_BODY,
    )


def test_update_dataset_default_graph_uses_using_graph(writable: LiveServer) -> None:
    update = (
        UPDATE_PREFIXES
        + f"""CLEAR ALL ;
INSERT DATA {{ GRAPH <{DATA1}> {{ <{DATA1}> a foaf:Document }} }} ;
INSERT {{
    GRAPH <http://example.org/protocol-update-dataset-test/> {{ ?s a dc:BibliographicResource }}
}}
WHERE {{ ?s a foaf:Document }}"""
    )

    reply = post_update(writable, update, **{"using-graph-uri": DATA1})

    assert is_success(reply.status)
    assert ask_post(
        writable,
        f"""ASK {{ GRAPH <http://example.org/protocol-update-dataset-test/> {{
            <{DATA1}> a <http://purl.org/dc/terms/BibliographicResource> }} }}""",
    )


def test_update_dataset_default_graphs_uses_both_graphs(writable: LiveServer) -> None:
    test_graph = "http://example.org/protocol-update-dataset-graphs-test/"
    update = (
        UPDATE_PREFIXES
        + f"""DROP ALL ;
{INSERT_THREE_DOCUMENTS} ;
INSERT {{ GRAPH <{test_graph}> {{ ?s a dc:BibliographicResource }} }}
WHERE {{ ?s a foaf:Document }}"""
    )

    reply = post_update(writable, update, **{"using-graph-uri": [DATA1, DATA2]})

    assert is_success(reply.status)
    assert ask_post(
        writable,
        f"""ASK {{
  GRAPH <{test_graph}> {{
    <{DATA1}> a <http://purl.org/dc/terms/BibliographicResource> .
    <{DATA2}> a <http://purl.org/dc/terms/BibliographicResource> .
  }}
  FILTER NOT EXISTS {{
    GRAPH <{test_graph}> {{ <{DATA3}> a <http://purl.org/dc/terms/BibliographicResource> }}
  }}
}}""",
    )


def test_update_dataset_named_graphs_uses_both_graphs(writable: LiveServer) -> None:
    test_graph = "http://example.org/protocol-update-dataset-named-graphs-test/"
    update = (
        UPDATE_PREFIXES
        + f"""DROP ALL ;
{INSERT_THREE_DOCUMENTS} ;
INSERT {{ GRAPH <{test_graph}> {{ ?s a dc:BibliographicResource }} }}
WHERE {{ GRAPH ?g {{ ?s a foaf:Document }} }}"""
    )

    reply = post_update(writable, update, **{"using-named-graph-uri": [DATA1, DATA2]})

    assert is_success(reply.status)
    assert ask_post(
        writable,
        f"""ASK {{
  GRAPH <{test_graph}> {{
    <{DATA1}> a <http://purl.org/dc/terms/BibliographicResource> .
    <{DATA2}> a <http://purl.org/dc/terms/BibliographicResource> .
  }}
  FILTER NOT EXISTS {{
    GRAPH <{test_graph}> {{ <{DATA3}> a <http://purl.org/dc/terms/BibliographicResource> }}
  }}
}}""",
    )


def test_update_dataset_full_uses_default_and_named(writable: LiveServer) -> None:
    test_graph = "http://example.org/protocol-update-dataset-full-test/"
    update = (
        UPDATE_PREFIXES
        + f"""DROP ALL ;
{INSERT_THREE_DOCUMENTS} ;
INSERT {{ GRAPH <{test_graph}> {{ ?s <http://example.org/in> ?in }} }}
WHERE {{
    {{ GRAPH ?g {{ ?s a foaf:Document }} BIND(?g AS ?in) }}
    UNION
    {{ ?s a foaf:Document . BIND("default" AS ?in) }}
}}"""
    )

    reply = post_update(
        writable, update, **{"using-graph-uri": DATA1, "using-named-graph-uri": DATA2}
    )

    assert is_success(reply.status)
    assert ask_post(
        writable,
        f"""ASK {{
  GRAPH <{test_graph}> {{
    <{DATA1}> <http://example.org/in> "default" .
    <{DATA2}> <http://example.org/in> <{DATA2}> .
  }}
  FILTER NOT EXISTS {{ GRAPH <{test_graph}> {{ <{DATA3}> ?p ?o }} }}
}}""",
    )


def test_update_post_form_clears_all(writable: LiveServer) -> None:
    reply = send(
        f"{writable.url}/update", method="POST", data=b"update=CLEAR+ALL", headers=UPDATE_FORM
    )

    assert is_success(reply.status)
    assert ask_post(writable, "ASK { GRAPH ?g { ?s ?p ?o } }") is False


def test_update_post_direct_clears_all(writable: LiveServer) -> None:
    reply = post_update(writable, "CLEAR ALL")

    assert is_success(reply.status)
    assert ask_post(writable, "ASK { GRAPH ?g { ?s ?p ?o } }") is False


def test_update_base_uri_resolves_relative_iri(writable: LiveServer) -> None:
    test_graph = "http://example.org/protocol-base-test/"
    update = f"""CLEAR GRAPH <{test_graph}> ;
INSERT DATA {{ GRAPH <{test_graph}> {{ <http://example.org/s> <http://example.org/p> <test> }} }}"""

    reply = post_update(writable, update)
    query = (
        f"SELECT ?o WHERE {{ GRAPH <{test_graph}> "
        "{ <http://example.org/s> <http://example.org/p> ?o } }"
    )
    solutions = solutions_of(
        send(f"{writable.url}/sparql", method="POST", data=query.encode(), headers=QUERY_BODY)
    )

    assert is_success(reply.status)
    assert len(solutions) == 1
    assert isinstance(solutions[0]["o"], ox.NamedNode)
    # The base IRI is the update endpoint's URL, which the protocol allows.
    assert solutions[0]["o"].value == f"{writable.url}/test"


# Malformed updates


def test_bad_update_get_returns_4xx(writable: LiveServer) -> None:
    reply = send(url(writable, "/update", update="CLEAR ALL"), headers=UPDATE_BODY)

    assert is_client_error(reply.status)


def test_bad_multiple_updates_returns_4xx(writable: LiveServer) -> None:
    reply = send(
        f"{writable.url}/update",
        method="POST",
        data=b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
        headers=UPDATE_FORM,
    )

    assert is_client_error(reply.status)


def test_bad_update_wrong_media_type_returns_4xx(writable: LiveServer) -> None:
    reply = send(
        f"{writable.url}/update",
        method="POST",
        data=b"CLEAR NAMED",
        headers={"Content-Type": "text/plain", "Authorization": f"Bearer {TOKEN}"},
    )

    assert is_client_error(reply.status)


def test_bad_update_missing_form_type_returns_4xx(writable: LiveServer) -> None:
    status = post_without_content_type(writable, "/update", b"update=CLEAR%20NAMED")

    assert is_client_error(status)


def test_bad_update_non_utf8_returns_4xx(writable: LiveServer) -> None:
    reply = send(
        f"{writable.url}/update",
        method="POST",
        data="CLEAR NAMED".encode("utf-16"),
        headers={
            "Content-Type": "application/sparql-update; charset=UTF-16",
            "Authorization": f"Bearer {TOKEN}",
        },
    )

    assert is_client_error(reply.status)


def test_bad_update_syntax_returns_4xx(writable: LiveServer) -> None:
    reply = send(
        f"{writable.url}/update", method="POST", data=b"update=CLEAR%20XYZ", headers=UPDATE_FORM
    )

    assert is_client_error(reply.status)


def test_bad_update_dataset_conflict_returns_4xx(writable: LiveServer) -> None:
    update = """PREFIX foaf:  <http://xmlns.com/foaf/0.1/>
WITH <http://example/addresses>
DELETE { ?person foaf:givenName 'Bill' }
INSERT { ?person foaf:givenName 'William' }
WHERE {
    ?person foaf:givenName 'Bill'
}"""

    reply = post_update(writable, update, **{"using-named-graph-uri": "http://example/people"})

    assert is_client_error(reply.status)


def test_bad_update_leaves_graphs_unchanged(writable: LiveServer) -> None:
    post_update(writable, "CLEAR ALL ; CLEAR XYZ")

    assert ask_post(writable, f"ASK {{ GRAPH <{DATA1}> {{ <{DATA1}> a ?type }} }}") is True
