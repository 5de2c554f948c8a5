"""Serialize a query result in the formats the SPARQL endpoint sends.

SELECT and ASK results follow the W3C result formats:

- SPARQL 1.1 Query Results JSON Format, https://www.w3.org/TR/sparql11-results-json/
- SPARQL Query Results XML Format (Second Edition), https://www.w3.org/TR/rdf-sparql-XMLres/
- SPARQL 1.1 Query Results CSV and TSV Formats, https://www.w3.org/TR/sparql11-results-csv-tsv/

CSV and TSV are defined for SELECT results only, so ASK results are offered in JSON and XML.
CONSTRUCT and DESCRIBE results are serialized by pyoxigraph with the prefixes of
``common_prefixes``.

A result cut to ``max_rows`` is marked by two response headers, ``NoteKG-Truncated: true``
and ``NoteKG-Max-Rows: N``, and never inside the body. The result formats have no field for
it, CSV, TSV and the RDF formats cannot carry one, and a header reaches every client the same
way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from ontology import NAMESPACE as NOTEKG_NAMESPACE
from service.engine import QueryResult, Term

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"

TRUNCATED_HEADER = "NoteKG-Truncated"
MAX_ROWS_HEADER = "NoteKG-Max-Rows"

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
SPARQL_RESULTS_NAMESPACE = "http://www.w3.org/2005/sparql-results#"

# RDF formats for CONSTRUCT and DESCRIBE results, by media type, in the server's order of
# preference. The quad formats put every triple in the default graph.
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}

# Media types that clients send for the same formats. They are offered after the standard
# types, so a wildcard Accept gets the standard one.
RESULT_ALIASES = {"application/json": SPARQL_JSON, "application/xml": SPARQL_XML}
GRAPH_ALIASES = {"text/plain": "application/n-triples"}


class UnsupportedFormat(ValueError):
    """The media type is not one the serializer can write for this kind of result."""


def common_prefixes(base_iri: str) -> dict[str, str]:
    """Return the prefixes written in Turtle, TriG, JSON-LD and RDF/XML output."""
    prefixes = {
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": XSD,
        "owl": "http://www.w3.org/2002/07/owl#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "dcterms": "http://purl.org/dc/terms/",
        "schema": "https://schema.org/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "prov": "http://www.w3.org/ns/prov#",
        "nk": NOTEKG_NAMESPACE,
    }
    # NOTE: no prefix is declared for base_iri. Entity IRIs have slashes after the base
    # (benchmark/mmlu), which Turtle writers escape in prefixed names (id:benchmark\/mmlu), so
    # full IRIs read better.
    return prefixes


def offered_types(kind: str) -> list[str]:
    """Return the media types the endpoint can send for a result kind, preferred first."""
    if kind == "graph":
        return [*GRAPH_FORMATS, *GRAPH_ALIASES]
    if kind == "boolean":
        return [SPARQL_JSON, SPARQL_XML, *RESULT_ALIASES]
    return [SPARQL_JSON, SPARQL_XML, CSV, TSV, *RESULT_ALIASES]


def serialize(result: QueryResult, media_type: str, prefixes: dict[str, str]) -> bytes:
    """Serialize the result in the format of the media type, which offered_types listed."""
    if media_type not in offered_types(result.kind):
        raise UnsupportedFormat(
            f"cannot write a {result.kind} result as {media_type}; "
            f"use one of: {', '.join(offered_types(result.kind))}"
        )

    if result.kind == "graph":
        rdf_format = GRAPH_FORMATS[GRAPH_ALIASES.get(media_type, media_type)]
        return serialize_triples(result.triples, rdf_format, prefixes)

    writer = _WRITERS[RESULT_ALIASES.get(media_type, media_type)]
    return writer(result).encode("utf-8")


def serialize_triples(
    triples: list[ox.Triple], rdf_format: ox.RdfFormat, prefixes: dict[str, str]
) -> bytes:
    """Serialize triples with pyoxigraph into bytes."""
    # pyoxigraph returns None only when given an output file, which this call never passes.
    data = ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    assert data is not None
    return data


def truncation_headers(truncated: bool, max_rows: int) -> dict[str, str]:
    """Return the headers that mark a result cut to max_rows, or none for a whole result."""
    if not truncated:
        return {}
    return {TRUNCATED_HEADER: "true", MAX_ROWS_HEADER: str(max_rows)}


@dataclass(frozen=True)
class WrittenResult:
    """A result serialized in the media type chosen for its kind."""

    kind: str
    media_type: str
    body: bytes
    truncated: bool


@dataclass(frozen=True)
class ResultWriter:
    """Serializes a result where the query ran, in the media type negotiated for its kind.

    The kind of a result is known only after the query ran, so the request negotiates a media
    type for each kind beforehand. A kind without one (None), or with one that the writer does
    not write, such as HTML, gets the result back as it is, for the request to handle.
    """

    media_types: dict[str, str | None]
    prefixes: dict[str, str]

    def __call__(self, result: QueryResult) -> WrittenResult | QueryResult:
        media_type = self.media_types.get(result.kind)
        if media_type is None or media_type not in offered_types(result.kind):
            return result
        body = serialize(result, media_type, self.prefixes)
        return WrittenResult(result.kind, media_type, body, result.truncated)


# SPARQL 1.1 Query Results JSON Format


def write_json(result: QueryResult) -> str:
    """Write an ASK or SELECT result as SPARQL Results JSON."""
    if result.kind == "boolean":
        document = {"head": {}, "boolean": bool(result.boolean)}
        return json.dumps(document, ensure_ascii=False)

    # The document is joined from JSON text pieces, and each distinct term is encoded once,
    # because terms repeat across rows and json.dumps of one dictionary per row is slow.
    keys = [json.dumps(name, ensure_ascii=False) + ":" for name in result.variables]
    encoded: dict[Term, str] = {}
    bindings = []
    for row in result.rows:
        fields = []
        for key, term in zip(keys, row, strict=True):
            if term is None:
                continue
            text = encoded.get(term)
            if text is None:
                text = encoded[term] = json_term_text(term)
            fields.append(key + text)
        bindings.append("{" + ",".join(fields) + "}")

    head = json.dumps({"vars": result.variables}, ensure_ascii=False)
    return '{"head":' + head + ',"results":{"bindings":[' + ",".join(bindings) + "]}}"


def json_term_text(term: Term) -> str:
    """Return the JSON text of one RDF term, as ``json.dumps(json_term(term))`` writes it."""
    # Joining the text is several times faster than json.dumps of a dictionary, and IRIs,
    # blank nodes and literals are nearly every term of a result.
    if isinstance(term, ox.NamedNode):
        return '{"type": "uri", "value": ' + _json_string(term.value) + "}"
    if isinstance(term, ox.BlankNode):
        return '{"type": "bnode", "value": ' + _json_string(term.value) + "}"
    if isinstance(term, ox.Triple):
        return json.dumps(json_term(term), ensure_ascii=False)

    text = '{"type": "literal", "value": ' + _json_string(term.value)
    if term.language:
        return text + ', "xml:lang": ' + _json_string(term.language) + "}"
    datatype = term.datatype.value
    if datatype != XSD_STRING:
        return text + ', "datatype": ' + _json_string(datatype) + "}"
    return text + "}"


def json_term(term: Term) -> dict[str, object]:
    """Return the JSON object of one RDF term."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        parts = {"subject": term.subject, "predicate": term.predicate, "object": term.object}
        return {"type": "triple", "value": {key: json_term(part) for key, part in parts.items()}}

    encoded: dict[str, object] = {"type": "literal", "value": term.value}
    if term.language:
        encoded["xml:lang"] = term.language
    elif term.datatype.value != XSD + "string":
        encoded["datatype"] = term.datatype.value
    return encoded


# SPARQL Query Results XML Format


def write_xml(result: QueryResult) -> str:
    """Write an ASK or SELECT result as SPARQL Results XML."""
    # NOTE: XML 1.0 cannot contain the control characters U+0001 to U+001F other than tab,
    # newline and carriage return, so a literal that has one makes the document invalid.
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<sparql xmlns={quoteattr(SPARQL_RESULTS_NAMESPACE)}>\n",
    ]

    if result.kind == "boolean":
        parts.append("<head/>\n")
        parts.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>\n")
    else:
        parts.append(_xml_head(result.variables))
        parts.append("<results>\n")
        parts.extend(_xml_result(result.variables, row) for row in result.rows)
        parts.append("</results>\n")

    parts.append("</sparql>\n")
    return "".join(parts)


def _xml_head(variables: list[str]) -> str:
    names = "".join(f"<variable name={quoteattr(name)}/>" for name in variables)
    return f"<head>{names}</head>\n"


def _xml_result(variables: list[str], row: tuple[Term | None, ...]) -> str:
    bindings = "".join(
        f"<binding name={quoteattr(name)}>{xml_term(term)}</binding>"
        for name, term in zip(variables, row, strict=True)
        if term is not None
    )
    return f"<result>{bindings}</result>\n"


def xml_term(term: Term) -> str:
    """Return the XML element of one RDF term."""
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{xml_term(term.subject)}</subject>"
            f"<predicate>{xml_term(term.predicate)}</predicate>"
            f"<object>{xml_term(term.object)}</object></triple>"
        )

    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != XSD + "string":
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


# SPARQL 1.1 Query Results CSV and TSV Formats


def write_csv(result: QueryResult) -> str:
    """Write a SELECT result as CSV: plain values, RFC 4180 quoting and CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow(["" if term is None else csv_value(term) for term in row])
    return buffer.getvalue()


def csv_value(term: Term) -> str:
    """Return the CSV field of one term: an IRI, a literal's lexical form or _:label."""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return tsv_term(term)
    return term.value


def write_tsv(result: QueryResult) -> str:
    """Write a SELECT result as TSV: terms in Turtle syntax and LF line ends."""
    lines = ["\t".join("?" + name for name in result.variables)]
    for row in result.rows:
        lines.append("\t".join("" if term is None else tsv_term(term) for term in row))
    return "\n".join(lines) + "\n"


# Turtle's grammar for the abbreviated numeric and boolean literals (RDF 1.1 Turtle,
# https://www.w3.org/TR/turtle/). A lexical form that does not match is written in full.
_ABBREVIATED = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
    XSD + "boolean": re.compile(r"true|false"),
}

_TURTLE_STRING_ESCAPES = str.maketrans(
    {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}
)


def tsv_term(term: Term) -> str:
    """Return one term in Turtle syntax, with tab, newline and carriage return escaped."""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return f"<< {tsv_term(term.subject)} {tsv_term(term.predicate)} {tsv_term(term.object)} >>"

    datatype = term.datatype.value
    pattern = _ABBREVIATED.get(datatype)
    if pattern is not None and pattern.fullmatch(term.value):
        return term.value

    quoted = '"' + term.value.translate(_TURTLE_STRING_ESCAPES) + '"'
    if term.language:
        return f"{quoted}@{term.language}"
    if datatype in (XSD + "string", RDF_LANG_STRING):
        return quoted
    return f"{quoted}^^<{datatype}>"


_WRITERS: dict[str, Callable[[QueryResult], str]] = {
    SPARQL_JSON: write_json,
    SPARQL_XML: write_xml,
    CSV: write_csv,
    TSV: write_tsv,
}
