"""Test /ontology and /.well-known/void over HTTP, parsing their RDF with rdflib.

The store contains the real ingest of data/notes with data/mappings/ai.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from bs4 import BeautifulSoup
from rdflib.namespace import OWL, RDF, RDFS, XSD
from servers import LiveServer, send, serve_bundled_notes

ROOT = Path(__file__).resolve().parent.parent
NK = rdflib.Namespace("https://notekg.example/ontology#")
ONTOLOGY = rdflib.URIRef("https://notekg.example/ontology")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_bundled_notes(tmp_path_factory.mktemp("ontology-pages")) as live:
        yield live


def fetch_graph(url: str, accept: str, rdflib_format: str) -> rdflib.Graph:
    reply = send(url, headers={"Accept": accept})
    assert reply.status == 200, reply.text[:300]
    return rdflib.Graph().parse(data=reply.body, format=rdflib_format)


def html(server: LiveServer, path: str) -> BeautifulSoup:
    reply = send(server.url + path, headers={"Accept": "text/html"})
    assert reply.status == 200, reply.text[:300]
    return BeautifulSoup(reply.text, "html.parser")


# Ontology


def test_ontology_turtle_declares_benchmark(server: LiveServer) -> None:
    graph = fetch_graph(server.url + "/ontology", "text/turtle", "turtle")

    assert (NK.Benchmark, RDF.type, OWL.Class) in graph
    assert (NK.Benchmark, RDFS.subClassOf, SKOS.Concept) in graph
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in graph


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [("application/rdf+xml", "xml"), ("application/n-triples", "nt")],
)
def test_ontology_formats_by_accept(server: LiveServer, accept: str, rdflib_format: str) -> None:
    graph = fetch_graph(server.url + "/ontology", accept, rdflib_format)

    assert (NK.focusArea, RDFS.domain, NK.Benchmark) in graph
    assert (NK.focusArea, RDFS.range, NK.FocusArea) in graph


def test_ontology_jsonld_by_format_parameter(server: LiveServer) -> None:
    reply = send(server.url + "/ontology?format=jsonld")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/ld+json")
    assert "https://notekg.example/ontology#Benchmark" in reply.text


def test_ontology_varies_by_accept(server: LiveServer) -> None:
    reply = send(server.url + "/ontology", headers={"Accept": "text/turtle"})

    assert "Accept" in reply.headers["Vary"]


def test_ontology_html_has_term_anchors(server: LiveServer) -> None:
    soup = html(server, "/ontology")

    assert soup.find(id="Benchmark") is not None
    assert soup.find(id="focusArea") is not None
    assert soup.select_one("#Benchmark h3").get_text(" ", strip=True).startswith("benchmark")


def test_ontology_html_shows_domain_and_range(server: LiveServer) -> None:
    soup = html(server, "/ontology")
    entry = soup.find(id="focusArea")
    links = {link.get_text(strip=True): link["href"] for link in entry.select("dd a")}

    assert links["nk:Benchmark"] == "#Benchmark"
    assert links["nk:FocusArea"] == "#FocusArea"


def test_ontology_html_counts_usage(server: LiveServer) -> None:
    soup = html(server, "/ontology")

    assert soup.select_one("#Benchmark .usage").get_text(strip=True) == "17 members"
    assert soup.select_one("#focusArea .usage").get_text(strip=True) == "17 triples"


def test_ontology_html_lists_three_examples(server: LiveServer) -> None:
    soup = html(server, "/ontology")

    assert len(soup.select("#Benchmark ul.examples li")) == 3
    assert len(soup.select("#metric ul.examples li")) == 3


def test_ontology_html_links_superclass(server: LiveServer) -> None:
    soup = html(server, "/ontology")
    concept_links = [link["href"] for link in soup.select("#Benchmark dd a")]

    assert "http://www.w3.org/2004/02/skos/core#Concept" in concept_links


def test_property_link_opens_ontology_entry(server: LiveServer) -> None:
    soup = html(server, "/id/benchmark/mmlu")
    term = next(
        dt for dt in soup.select("dl.properties dt") if dt.get_text(strip=True) == "focus area"
    )

    assert term.find("a")["href"] == "/ontology#focusArea"


# VoID


@pytest.fixture(scope="module")
def void_graph(server: LiveServer) -> rdflib.Graph:
    return fetch_graph(server.url + "/.well-known/void", "text/turtle", "turtle")


def dataset(graph: rdflib.Graph) -> rdflib.term.Node:
    subjects = list(graph.subjects(RDF.type, VOID.Dataset))
    assert len(subjects) == 1
    return subjects[0]


def test_void_counts_triples(server: LiveServer, void_graph: rdflib.Graph) -> None:
    reply = send(
        server.url + "/sparql?query=" + "SELECT%20(COUNT(*)%20AS%20?n)%20WHERE%20{?s%20?p%20?o}",
        headers={"Accept": "application/sparql-results+json"},
    )
    expected = int(reply.json()["results"]["bindings"][0]["n"]["value"])

    assert void_graph.value(dataset(void_graph), VOID.triples).toPython() == expected


def test_void_counts_classes_and_entities(void_graph: rdflib.Graph) -> None:
    node = dataset(void_graph)

    assert void_graph.value(node, VOID.classes).toPython() == 14
    assert void_graph.value(node, VOID.entities).datatype == XSD.integer


def test_void_class_partition_of_benchmark(void_graph: rdflib.Graph) -> None:
    node = dataset(void_graph)
    partitions = {
        void_graph.value(partition, VOID["class"]): void_graph.value(partition, VOID.entities)
        for partition in void_graph.objects(node, VOID.classPartition)
    }

    assert partitions[NK.Benchmark].toPython() == 17


def test_void_property_partition_of_focus_area(void_graph: rdflib.Graph) -> None:
    node = dataset(void_graph)
    partitions = {
        void_graph.value(partition, VOID.property): void_graph.value(partition, VOID.triples)
        for partition in void_graph.objects(node, VOID.propertyPartition)
    }

    assert partitions[NK.focusArea].toPython() == 17


def test_void_names_endpoint_and_dumps(server: LiveServer, void_graph: rdflib.Graph) -> None:
    node = dataset(void_graph)
    dumps = {str(dump) for dump in void_graph.objects(node, VOID.dataDump)}

    assert void_graph.value(node, VOID.sparqlEndpoint) == rdflib.URIRef(server.url + "/sparql")
    assert server.url + "/download/graph.ttl" in dumps
    assert len(dumps) == 6


def test_void_names_vocabularies(void_graph: rdflib.Graph) -> None:
    vocabularies = set(void_graph.objects(dataset(void_graph), VOID.vocabulary))

    assert ONTOLOGY in vocabularies
    assert rdflib.URIRef(str(SKOS)) in vocabularies


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
        ("application/ld+json", "json-ld"),
    ],
)
def test_void_formats_by_accept(server: LiveServer, accept: str, rdflib_format: str) -> None:
    import warnings

    # rdflib 7's JSON-LD parser warns about its own deprecated ConjunctiveGraph.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="rdflib")
        graph = fetch_graph(server.url + "/.well-known/void", accept, rdflib_format)

    assert len(list(graph.subjects(RDF.type, VOID.Dataset))) == 1


def test_void_html_page_for_browsers(server: LiveServer) -> None:
    soup = html(server, "/.well-known/void")

    assert soup.h1.get_text(strip=True) == "Dataset description (VoID)"
    assert soup.select_one("#void-classes").get_text(strip=True) == "14"


def test_void_varies_by_accept(server: LiveServer) -> None:
    reply = send(server.url + "/.well-known/void", headers={"Accept": "text/turtle"})

    assert "Accept" in reply.headers["Vary"]


def test_void_is_the_same_each_time(server: LiveServer) -> None:
    headers = {"Accept": "text/turtle", "Cache-Control": "no-cache"}
    first = send(server.url + "/.well-known/void", headers=headers)
    second = send(server.url + "/.well-known/void", headers=headers)

    assert first.body == second.body
    assert first.headers["ETag"] == second.headers["ETag"]
