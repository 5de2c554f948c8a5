"""Content negotiation of the SPARQL endpoint: Accept q-values, wildcards, ?format= and Vary."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from servers import HttpReply, LiveServer, send, serve_sample_store

SELECT = "SELECT ?s WHERE { ?s a <https://notekg.example/ontology#GPU> }"
CONSTRUCT = "CONSTRUCT WHERE { ?s a <https://notekg.example/ontology#GPU> }"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("negotiation")) as server:
        yield server


def ask_for(
    live: LiveServer, query: str, accept: str | None = None, **parameters: str
) -> HttpReply:
    url = f"{live.url}/sparql?{urllib.parse.urlencode({'query': query, **parameters})}"
    return send(url, headers={} if accept is None else {"Accept": accept})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (
            "application/sparql-results+json;q=0.5, application/sparql-results+xml",
            "application/sparql-results+xml",
        ),
        ("text/csv;q=0.9, text/tab-separated-values", "text/tab-separated-values"),
        ("application/sparql-results+json;q=0, */*", "application/sparql-results+xml"),
        ("text/*", "text/csv"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/json"),
    ],
)
def test_select_follows_accept(live: LiveServer, accept: str, expected: str) -> None:
    reply = ask_for(live, SELECT, accept)

    assert reply.status == 200
    assert reply.headers.get_content_type() == expected


def test_select_without_accept_returns_json(live: LiveServer) -> None:
    reply = ask_for(live, SELECT)

    assert reply.headers.get_content_type() == "application/sparql-results+json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml;q=1, text/turtle;q=0.5", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples, */*;q=0.1", "application/n-triples"),
        ("*/*", "text/turtle"),
        # Turtle is Notation3 too.
        ("text/n3", "text/turtle"),
        # Parameters of a range do not rule its type out.
        ("text/turtle; charset=utf-8", "text/turtle"),
        (
            'application/ld+json; profile="http://www.w3.org/ns/json-ld#expanded"',
            "application/ld+json",
        ),
        ("text/rdf+n3;q=0.9", "text/turtle"),
    ],
)
def test_construct_follows_accept(live: LiveServer, accept: str, expected: str) -> None:
    reply = ask_for(live, CONSTRUCT, accept)

    assert reply.status == 200
    assert reply.headers.get_content_type() == expected


@pytest.mark.parametrize(
    ("format_name", "expected"),
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
    ],
)
def test_format_parameter_overrides_accept(
    live: LiveServer, format_name: str, expected: str
) -> None:
    reply = ask_for(live, SELECT, "application/sparql-results+json", format=format_name)

    assert reply.status == 200
    assert reply.headers.get_content_type() == expected


@pytest.mark.parametrize(
    ("format_name", "expected"),
    [
        ("turtle", "text/turtle"),
        ("ntriples", "application/n-triples"),
        ("jsonld", "application/ld+json"),
        ("rdfxml", "application/rdf+xml"),
        ("nquads", "application/n-quads"),
        ("trig", "application/trig"),
        ("n-triples", "application/n-triples"),
        ("nq", "application/n-quads"),
        ("n-quads", "application/n-quads"),
    ],
)
def test_format_parameter_picks_rdf_format(
    live: LiveServer, format_name: str, expected: str
) -> None:
    reply = ask_for(live, CONSTRUCT, "text/html", format=format_name)

    assert reply.status == 200
    assert reply.headers.get_content_type() == expected


def test_unknown_format_parameter_returns_400(live: LiveServer) -> None:
    reply = ask_for(live, SELECT, format="yaml")

    assert reply.status == 400
    assert "'yaml'" in reply.json()["error"]["message"]
    assert "turtle" in reply.json()["error"]["message"]
    assert "csv" in reply.json()["error"]["message"], "the formats of every kind of result"


def test_format_unfit_for_query_returns_406(live: LiveServer) -> None:
    reply = ask_for(live, CONSTRUCT, format="csv")

    assert reply.status == 406
    assert "text/turtle" in reply.json()["error"]["message"]


def test_unacceptable_accept_returns_406_listing_types(live: LiveServer) -> None:
    reply = ask_for(live, SELECT, "image/png")
    message = reply.json()["error"]["message"]

    assert reply.status == 406
    assert "image/png" in message
    for media_type in [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ]:
        assert media_type in message


def test_accept_with_only_zero_quality_returns_406(live: LiveServer) -> None:
    reply = ask_for(live, SELECT, "application/sparql-results+json;q=0")

    assert reply.status == 406


def test_negotiated_response_varies_on_accept(live: LiveServer) -> None:
    reply = ask_for(live, SELECT, "text/csv")

    assert "Accept" in reply.headers["Vary"]


def test_406_response_varies_on_accept(live: LiveServer) -> None:
    reply = ask_for(live, SELECT, "image/png")

    assert "Accept" in reply.headers["Vary"]


def test_form_and_description_vary_on_accept(live: LiveServer) -> None:
    form = send(f"{live.url}/sparql", headers={"Accept": "text/html"})
    description = send(f"{live.url}/sparql", headers={"Accept": "text/turtle"})

    assert "Accept" in form.headers["Vary"]
    assert "Accept" in description.headers["Vary"]
