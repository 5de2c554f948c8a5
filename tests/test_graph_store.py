"""The Graph Store Protocol on /store: reading by Accept, and token-guarded PUT, POST and DELETE."""

from __future__ import annotations

import hashlib
import json
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from servers import (
    HttpReply,
    LiveServer,
    parse_rdf_dataset,
    parse_rdf_graph,
    send,
    serve_sample_store,
)

TOKEN = "graph-store-token"
NOTE_GRAPH = "https://notekg.example/id/graph/ai"
PROVENANCE_GRAPH = "https://notekg.example/id/graph/ai/provenance"
WRITE_GRAPH = "https://notekg.example/id/graph/default"
NEW_GRAPH = "https://notekg.example/id/graph/new"
SAMPLE_QUADS = 59
NOTE_GRAPH_TRIPLES = 49

TURTLE_BODY = b"""@prefix ex: <https://notekg.example/id/> .
ex:alpha ex:knows ex:beta .
ex:beta ex:label "beta" .
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that gets only reads in this module."""
    with serve_sample_store(tmp_path_factory.mktemp("graph-store")) as server:
        yield server


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path, update_token=TOKEN) as server:
        yield server


def graph_url(live: LiveServer, graph: str | None) -> str:
    if graph is None:
        return f"{live.url}/store?default"
    return f"{live.url}/store?{urllib.parse.urlencode({'graph': graph})}"


def write(
    live: LiveServer,
    method: str,
    graph: str | None,
    body: bytes = b"",
    content_type: str = "text/turtle",
    token: str | None = TOKEN,
) -> HttpReply:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return send(graph_url(live, graph), method=method, data=body, headers=headers)


def triples_of(live: LiveServer, graph: str | None) -> set[tuple[str, str, str]]:
    reply = send(graph_url(live, graph), headers={"Accept": "application/n-triples"})
    if reply.status == 404:
        return set()
    assert reply.status == 200
    return {
        (str(quad.subject), str(quad.predicate), str(quad.object))
        for quad in ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES)
    }


# Reading


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_get_named_graph_follows_accept(
    live: LiveServer, media_type: str, rdflib_format: str
) -> None:
    reply = send(graph_url(live, NOTE_GRAPH), headers={"Accept": media_type})
    graph = parse_rdf_graph(reply.body, rdflib_format)

    assert reply.status == 200
    assert reply.headers.get_content_type() == media_type
    assert len(graph) == NOTE_GRAPH_TRIPLES
    assert (
        rdflib.URIRef("https://notekg.example/id/benchmark/mmlu"),
        rdflib.URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
        rdflib.Literal("MMLU"),
    ) in graph


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [("application/n-quads", "nquads"), ("application/trig", "trig")],
)
def test_get_named_graph_as_quads_keeps_name(
    live: LiveServer, media_type: str, rdflib_format: str
) -> None:
    reply = send(graph_url(live, NOTE_GRAPH), headers={"Accept": media_type})
    dataset = parse_rdf_dataset(reply.body, rdflib_format)
    graph_names = {str(context) for _s, _p, _o, context in dataset.quads((None, None, None, None))}

    assert reply.status == 200
    assert graph_names == {NOTE_GRAPH}


def test_get_default_returns_union(live: LiveServer) -> None:
    reply = send(graph_url(live, None), headers={"Accept": "text/turtle"})
    graph = parse_rdf_graph(reply.body, "turtle")

    assert reply.status == 200
    assert len(graph) == SAMPLE_QUADS


@pytest.mark.parametrize("engine_files_from", [10_000_000, 1])
def test_get_default_as_json_ld_is_one_graph(tmp_path: Path, engine_files_from: int) -> None:
    # The whole-graph download in JSON-LD keeps the named graphs, which the default graph must
    # not, whether the store is in memory or on the engine's files.
    with serve_sample_store(tmp_path, engine_files_from=engine_files_from) as server:
        reply = send(graph_url(server, None), headers={"Accept": "application/ld+json"})
        turtle = send(graph_url(server, None), headers={"Accept": "text/turtle"})
    graph = parse_rdf_graph(reply.body, "json-ld")
    objects = json.loads(reply.body)

    assert reply.status == 200
    assert len(graph) == len(parse_rdf_graph(turtle.body, "turtle"))
    assert not any("@graph" in item for item in objects)


def test_get_default_as_nquads_returns_406(live: LiveServer) -> None:
    reply = send(graph_url(live, None), headers={"Accept": "application/n-quads"})

    assert reply.status == 406


def test_get_unknown_graph_returns_404(live: LiveServer) -> None:
    reply = send(graph_url(live, "https://notekg.example/id/graph/none"))

    assert reply.status == 404
    assert "graph/none" in reply.json()["error"]["message"]


def test_head_returns_headers_without_body(live: LiveServer) -> None:
    reply = send(
        graph_url(live, PROVENANCE_GRAPH), method="HEAD", headers={"Accept": "text/turtle"}
    )

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/turtle"
    assert reply.body == b""


def test_head_of_unknown_graph_returns_404(live: LiveServer) -> None:
    reply = send(graph_url(live, "https://notekg.example/id/graph/none"), method="HEAD")

    assert reply.status == 404


@pytest.mark.parametrize("path", ["/store?default", "/download/graph.nt"])
def test_serialized_body_has_etag_of_its_bytes(live: LiveServer, path: str) -> None:
    # Each server process names blank nodes its own way, so a tag of the version alone could
    # stand for two different bodies.
    reply = send(live.url + path)

    assert reply.status == 200
    assert reply.headers["ETag"].strip('"').endswith(hashlib.sha256(reply.body).hexdigest()[:16])


def test_conditional_get_returns_304(live: LiveServer) -> None:
    first = send(graph_url(live, NOTE_GRAPH))

    second = send(graph_url(live, NOTE_GRAPH), headers={"If-None-Match": first.headers["ETag"]})

    assert second.status == 304


@pytest.mark.parametrize(
    "query",
    ["", "graph=a&graph=b", "default&graph=https%3A%2F%2Fx.example%2Fg", "graph=not%20an%20iri"],
)
def test_bad_graph_parameter_returns_400(live: LiveServer, query: str) -> None:
    reply = send(f"{live.url}/store?{query}")

    assert reply.status == 400


# Writing: the token


def test_put_without_token_returns_401(writable: LiveServer) -> None:
    reply = write(writable, "PUT", NEW_GRAPH, TURTLE_BODY, token=None)

    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_delete_with_wrong_token_returns_403(writable: LiveServer) -> None:
    reply = write(writable, "DELETE", NOTE_GRAPH, token="wrong")

    assert reply.status == 403
    assert len(triples_of(writable, NOTE_GRAPH)) == NOTE_GRAPH_TRIPLES


def test_write_without_configured_token_returns_403(live: LiveServer) -> None:
    reply = write(live, "PUT", NEW_GRAPH, TURTLE_BODY)

    assert reply.status == 403
    assert "writes are disabled" in reply.json()["error"]["message"]


# Writing: PUT, POST, DELETE


def test_put_new_graph_returns_201(writable: LiveServer) -> None:
    reply = write(writable, "PUT", NEW_GRAPH, TURTLE_BODY)

    assert reply.status == 201
    assert reply.headers["Location"] == graph_url(writable, NEW_GRAPH)
    assert reply.json()["generation"] == 2
    assert triples_of(writable, NEW_GRAPH) == {
        (
            "<https://notekg.example/id/alpha>",
            "<https://notekg.example/id/knows>",
            "<https://notekg.example/id/beta>",
        ),
        ("<https://notekg.example/id/beta>", "<https://notekg.example/id/label>", '"beta"'),
    }


def test_put_existing_graph_replaces_it(writable: LiveServer) -> None:
    reply = write(writable, "PUT", NOTE_GRAPH, TURTLE_BODY)

    assert reply.status == 204
    assert "Content-Type" not in reply.headers
    assert len(triples_of(writable, NOTE_GRAPH)) == 2
    assert len(triples_of(writable, PROVENANCE_GRAPH)) == SAMPLE_QUADS - NOTE_GRAPH_TRIPLES


def test_post_adds_to_existing_graph(writable: LiveServer) -> None:
    reply = write(writable, "POST", NOTE_GRAPH, TURTLE_BODY)

    assert reply.status == 204
    assert len(triples_of(writable, NOTE_GRAPH)) == NOTE_GRAPH_TRIPLES + 2


def test_post_keeps_blank_nodes_apart(writable: LiveServer) -> None:
    body = b'_:b0 <https://notekg.example/id/label> "first" .\n'
    write(writable, "POST", NEW_GRAPH, body, "application/n-triples")

    write(writable, "POST", NEW_GRAPH, body.replace(b"first", b"second"), "application/n-triples")
    subjects = {subject for subject, _p, _o in triples_of(writable, NEW_GRAPH)}

    assert len(subjects) == 2


def test_delete_drops_graph(writable: LiveServer) -> None:
    reply = write(writable, "DELETE", PROVENANCE_GRAPH)

    assert reply.status == 204
    assert send(graph_url(writable, PROVENANCE_GRAPH)).status == 404


def test_delete_unknown_graph_returns_404(writable: LiveServer) -> None:
    reply = write(writable, "DELETE", "https://notekg.example/id/graph/none")

    assert reply.status == 404
    assert send(f"{writable.url}/health").json()["generation"] == 1


def test_put_default_writes_write_graph(writable: LiveServer) -> None:
    reply = write(writable, "PUT", None, TURTLE_BODY)

    assert reply.status == 201
    assert len(triples_of(writable, WRITE_GRAPH)) == 2
    assert len(triples_of(writable, None)) == SAMPLE_QUADS + 2


def test_put_to_write_graph_iri_replaces_default(writable: LiveServer) -> None:
    write(writable, "PUT", None, TURTLE_BODY)

    write(
        writable,
        "PUT",
        WRITE_GRAPH,
        b'<https://notekg.example/id/a> <https://notekg.example/id/b> "c" .',
    )

    assert len(triples_of(writable, WRITE_GRAPH)) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/n-triples",
            b'<https://notekg.example/id/s> <https://notekg.example/id/p> "o" .\n',
        ),
        (
            "application/ld+json",
            json.dumps(
                {"@id": "https://notekg.example/id/s", "https://notekg.example/id/p": "o"}
            ).encode(),
        ),
        (
            "application/rdf+xml",
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns:ex="https://notekg.example/id/">'
            b'<rdf:Description rdf:about="https://notekg.example/id/s"><ex:p>o</ex:p>'
            b"</rdf:Description></rdf:RDF>",
        ),
    ],
)
def test_put_parses_each_format(writable: LiveServer, content_type: str, body: bytes) -> None:
    reply = write(writable, "PUT", NEW_GRAPH, body, content_type)

    assert reply.status == 201
    assert triples_of(writable, NEW_GRAPH) == {
        ("<https://notekg.example/id/s>", "<https://notekg.example/id/p>", '"o"')
    }


def test_put_relative_iri_resolves_against_graph(writable: LiveServer) -> None:
    write(writable, "PUT", NEW_GRAPH, b'<item> <https://notekg.example/id/p> "o" .')

    subjects = {subject for subject, _p, _o in triples_of(writable, NEW_GRAPH)}

    assert subjects == {"<https://notekg.example/id/graph/item>"}


def test_put_of_invalid_turtle_returns_400(writable: LiveServer) -> None:
    reply = write(writable, "PUT", NEW_GRAPH, b"<a> <b> .")

    assert reply.status == 400
    assert "text/turtle" in reply.json()["error"]["message"]


def test_put_of_nquads_returns_415(writable: LiveServer) -> None:
    reply = write(writable, "PUT", NEW_GRAPH, b"", "application/n-quads")

    assert reply.status == 415


def test_put_over_body_limit_returns_413(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path, update_token=TOKEN, max_body_bytes=100) as server:
        reply = write(server, "PUT", NEW_GRAPH, TURTLE_BODY * 3)

    assert reply.status == 413


def test_jsonld_named_graph_returns_400(writable: LiveServer) -> None:
    body = json.dumps(
        {
            "@id": "https://notekg.example/id/g",
            "@graph": [{"@id": "https://notekg.example/id/s", "https://notekg.example/id/p": "o"}],
        }
    ).encode()

    reply = write(writable, "PUT", NEW_GRAPH, body, "application/ld+json")

    assert reply.status == 400


# Payloads that must not make the server fetch or read anything


@pytest.mark.parametrize("context", ["http", "file"])
def test_jsonld_remote_context_is_not_fetched(
    writable: LiveServer, listener: socket.socket, context: str
) -> None:
    port = listener.getsockname()[1]
    location = (
        f"http://127.0.0.1:{port}/context.jsonld" if context == "http" else "file:///etc/hostname"
    )
    body = json.dumps({"@context": location, "@id": "https://notekg.example/id/s", "name": "o"})

    reply = write(writable, "PUT", NEW_GRAPH, body.encode(), "application/ld+json")

    assert reply.status == 400
    with pytest.raises(TimeoutError):
        connection, _address = listener.accept()
        connection.close()
    assert send(graph_url(writable, NEW_GRAPH)).status == 404


def test_rdfxml_external_entity_is_not_expanded(writable: LiveServer) -> None:
    hostname = Path("/etc/hostname").read_text().strip()
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "file:///etc/hostname"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="https://notekg.example/id/">
  <rdf:Description rdf:about="https://notekg.example/id/s"><ex:p>&secret;</ex:p></rdf:Description>
</rdf:RDF>"""

    reply = write(writable, "PUT", NEW_GRAPH, body, "application/rdf+xml")
    stored = send(graph_url(writable, NEW_GRAPH), headers={"Accept": "application/n-triples"})

    assert reply.status == 400
    assert hostname.encode() not in reply.body
    assert hostname.encode() not in stored.body
