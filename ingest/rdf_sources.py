"""RDF files as ingest sources, stored beside the notes so curated data can be queried with them.

A file in a triple format (Turtle, N-Triples, RDF/XML, JSON-LD) becomes one named graph. A file
in a quad format (N-Quads, TriG) keeps the graph names it carries; its default-graph triples go
to the file's own graph. Parsing is pyoxigraph's, which reads RDF/XML without expanding
external entities and JSON-LD without fetching remote contexts.
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

from ingest.problems import NoteSyntaxError

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
}


def read_rdf_source(
    data: bytes, suffix: str, display_path: str, file_graph: str
) -> dict[str, bytes]:
    """Parse an RDF file and return its triples as N-Quads, one entry per named graph.

    Raises NoteSyntaxError with the parser's line for a file that is not valid RDF.
    """
    rdf_format = RDF_FORMATS[suffix]
    try:
        quads = list(ox.parse(data, format=rdf_format, base_iri=f"file:///{display_path}"))
    except SyntaxError as error:
        raise NoteSyntaxError(
            display_path, _line_of(error), f"invalid {rdf_format.name}: {error}"
        ) from error

    by_graph: dict[str, list[ox.Quad]] = defaultdict(list)
    target = ox.NamedNode(file_graph)
    for quad in quads:
        graph = quad.graph_name if isinstance(quad.graph_name, ox.NamedNode) else target
        by_graph[graph.value].append(ox.Quad(quad.subject, quad.predicate, quad.object, graph))

    return {graph_iri: _nquads(graph_quads) for graph_iri, graph_quads in by_graph.items()}


def _nquads(quads: list[ox.Quad]) -> bytes:
    data = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    assert data is not None  # serialize returns bytes when no output is given
    return data


def _line_of(error: SyntaxError) -> int:
    """Return the line pyoxigraph reports for a syntax error, or 1 when it names none."""
    location = getattr(error, "lineno", None)
    return location if isinstance(location, int) and location > 0 else 1


LABEL_PREDICATES = frozenset(
    {
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
        ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    }
)


def entity_labels(nquads: bytes) -> list[tuple[str, str]]:
    """Return (IRI, label) for every skos:prefLabel and rdfs:label of a named node."""
    return [
        (quad.subject.value, quad.object.value)
        for quad in ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
        if quad.predicate in LABEL_PREDICATES
        and isinstance(quad.subject, ox.NamedNode)
        and isinstance(quad.object, ox.Literal)
    ]
