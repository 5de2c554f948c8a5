"""RDF files as ingest sources, stored beside the notes so curated data can be queried with them.

A file in a triple format (Turtle, N-Triples, RDF/XML, JSON-LD) becomes one named graph. A file
in a quad format (N-Quads, TriG) keeps the graph names it carries; its default-graph triples go
to the file's own graph. Parsing is pyoxigraph's, which reads RDF/XML without expanding
external entities and JSON-LD without fetching remote contexts.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pyoxigraph as ox

from ingest.problems import NoteSyntaxError
from ingest.readers.common import check_utf8

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

    Relative IRIs resolve against ``file_graph``, the IRI of the file's own graph, so a file
    gives the same IRIs wherever it is and whichever path the ingest was given. Files other
    than RDF/XML, which declares its own encoding, must be UTF-8, with or without a byte order
    mark. Raises NoteSyntaxError with the parser's line for a file that is not valid RDF.
    """
    rdf_format = RDF_FORMATS[suffix]
    if rdf_format != ox.RdfFormat.RDF_XML:
        data = check_utf8(data, display_path)
    try:
        quads = list(ox.parse(data, format=rdf_format, base_iri=file_graph))
    except SyntaxError as error:
        line, message = _located(error)
        raise NoteSyntaxError(
            display_path, line, f"invalid {rdf_format.name}: {message}"
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


# The position that pyoxigraph 0.5 puts around the message of a syntax error.
_POSITION = re.compile(
    r"^Parser error at line \d+ column (?P<column>\d+): (?P<message>.*?)(?: \(line \d+\))?$",
    re.DOTALL,
)


def _located(error: SyntaxError) -> tuple[int, str]:
    """Return the line of a syntax error and its message with the column.

    The RDF/XML and JSON-LD parsers report no position, so the line is then 1 and the message
    adds that it is unknown.
    """
    line = getattr(error, "lineno", None)
    if not isinstance(line, int) or line < 1:
        return 1, f"{error} (the parser reports no line)"
    position = _POSITION.match(str(error))
    if position is None:
        return line, str(error)
    return line, f"{position.group('message')} (column {position.group('column')})"


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
