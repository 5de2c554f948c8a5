"""The VoID description of the graph at /.well-known/void (RFC 5785, VoID section 7.2).

The description is computed from the graph on each request: the dataset's triple, entity,
class and property counts, a partition per class and per property, the SPARQL endpoint, the
dumps and the vocabularies in use. RDF clients get Turtle, JSON-LD, N-Triples or RDF/XML by
Accept or ``?format=``; a request that prefers HTML gets a readable page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Blueprint, Response, make_response, render_template, url_for

from service import browse_queries, negotiation, results, sparql
from service import page_queries as queries
from service.views.common import (
    binding_value,
    class_page_link,
    fetch_labels,
    resource_url,
    select_rows,
    service_config,
)
from service.views.ontology import ONTOLOGY_IRI

blueprint = Blueprint("void", __name__)

VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode(queries.RDF_TYPE)
DCTERMS_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")

# Offered media types, Turtle first: a client that accepts anything gets Turtle.
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
HTML = "text/html"


@dataclass(frozen=True)
class DatasetStatistics:
    """Counts of the whole graph and its partitions: (class, members), (property, triples)."""

    triples: int
    entities: int
    classes: int
    properties: int
    class_partitions: list[tuple[str, int]]
    property_partitions: list[tuple[str, int]]
    vocabularies: list[str]


def void_term(name: str) -> ox.NamedNode:
    return ox.NamedNode(VOID + name)


@blueprint.get("/.well-known/void")
def void_description() -> Response:
    media_type = negotiation.choose([*RDF_FORMATS, HTML], negotiation.GRAPH_FORMAT_NAMES)
    statistics = collect_statistics()
    if media_type == HTML:
        response = make_response(render_template("void.html", **_page_context(statistics)))
    else:
        triples = void_triples(statistics)
        prefixes = {"void": VOID, **results.common_prefixes(service_config().base_iri)}
        body = ox.serialize(triples, format=RDF_FORMATS[media_type], prefixes=prefixes)
        response = Response(body, mimetype=media_type)
    response.vary.add("Accept")
    return response


# Statistics


def collect_statistics() -> DatasetStatistics:
    """Count the graph's triples, entities, classes and properties and partition them."""
    totals = select_rows(browse_queries.dataset_statistics())[0]
    classes = select_rows(browse_queries.class_total())[0]
    class_counts = _pairs(queries.class_counts(), "class")
    property_counts = _pairs(browse_queries.property_counts(), "property")
    terms = [iri for iri, _ in class_counts] + [iri for iri, _ in property_counts]
    return DatasetStatistics(
        triples=int(binding_value(totals, "triples") or 0),
        entities=int(binding_value(totals, "entities") or 0),
        classes=int(binding_value(classes, "classes") or 0),
        properties=int(binding_value(totals, "properties") or 0),
        class_partitions=class_counts,
        property_partitions=property_counts,
        vocabularies=vocabularies(terms),
    )


def _pairs(sparql: str, variable: str) -> list[tuple[str, int]]:
    return [
        (binding_value(row, variable) or "", int(binding_value(row, "count") or 0))
        for row in select_rows(sparql)
    ]


def vocabularies(term_iris: list[str]) -> list[str]:
    """Return the namespaces of the terms, cut after the last ``#`` or ``/``, sorted.

    The notekg namespace is written as the ontology IRI, which is where its document is.
    """
    namespaces = set()
    for iri in term_iris:
        match = re.match(r"^(.*[#/])[^#/]*$", iri)
        if match:
            namespaces.add(match.group(1))
    return sorted(ONTOLOGY_IRI if ns == queries.NK else ns for ns in namespaces)


# RDF


def void_triples(statistics: DatasetStatistics) -> list[ox.Triple]:
    """Write the statistics as VoID triples about the dataset ``<…/.well-known/void#dataset>``."""
    dataset = ox.NamedNode(url_for("void.void_description", _external=True) + "#dataset")
    triples = [
        ox.Triple(dataset, RDF_TYPE, void_term("Dataset")),
        ox.Triple(dataset, DCTERMS_TITLE, ox.Literal("notekg knowledge graph", language="en")),
        ox.Triple(
            dataset,
            void_term("sparqlEndpoint"),
            ox.NamedNode(url_for("sparql.endpoint", _external=True)),
        ),
        ox.Triple(dataset, void_term("uriSpace"), ox.Literal(service_config().base_iri)),
    ]
    for name in ("triples", "entities", "classes", "properties"):
        count = getattr(statistics, name)
        triples.append(ox.Triple(dataset, void_term(name), _integer(count)))
    for name in sparql.DOWNLOADS:
        download = url_for("sparql.download", name=name, _external=True)
        triples.append(ox.Triple(dataset, void_term("dataDump"), ox.NamedNode(download)))
    for namespace in statistics.vocabularies:
        triples.append(ox.Triple(dataset, void_term("vocabulary"), ox.NamedNode(namespace)))

    triples += _partitions(dataset, "class", "entities", statistics.class_partitions)
    triples += _partitions(dataset, "property", "triples", statistics.property_partitions)
    return triples


def _partitions(
    dataset: ox.NamedNode, key: str, count_property: str, counts: list[tuple[str, int]]
) -> list[ox.Triple]:
    """Write void:classPartition or void:propertyPartition blank nodes, one per term.

    The blank nodes are named by their kind and position, so that the same statistics give
    the same bytes and the same ETag each time the description is written.
    """
    triples = []
    for number, (iri, count) in enumerate(counts, start=1):
        partition = ox.BlankNode(f"{key}{number}")
        triples.append(ox.Triple(dataset, void_term(key + "Partition"), partition))
        triples.append(ox.Triple(partition, void_term(key), ox.NamedNode(iri)))
        triples.append(ox.Triple(partition, void_term(count_property), _integer(count)))
    return triples


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=XSD_INTEGER)


# HTML


def _page_context(statistics: DatasetStatistics) -> dict[str, object]:
    class_iris = [iri for iri, _ in statistics.class_partitions]
    property_iris = [iri for iri, _ in statistics.property_partitions]
    labels = fetch_labels(class_iris + property_iris)
    dumps = [url_for("sparql.download", name=name, _external=True) for name in sparql.DOWNLOADS]
    return {
        "statistics": statistics,
        "classes": [
            (class_page_link(iri, labels), count) for iri, count in statistics.class_partitions
        ],
        "properties": [
            (iri, labels[iri], resource_url(iri), count)
            for iri, count in statistics.property_partitions
        ],
        "endpoint": url_for("sparql.endpoint", _external=True),
        "dumps": dumps,
        "formats": {
            name: url_for("void.void_description", format=name)
            for name in ("turtle", "jsonld", "ntriples", "rdfxml")
        },
    }
