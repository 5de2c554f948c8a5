"""Result serializers, checked by parsing each format back through the real endpoint."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.query import Result
from servers import LiveServer, parse_rdf_graph, send, serve_sample_store

from service import results

XSD = "http://www.w3.org/2001/XMLSchema#"
SPARQL_RESULTS = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SINGULARITY = "https://notekg.example/id/concept/singularity"
DEFINITION = "Énoncé with non-ASCII text: ∞"
TRICKY_TEXT = 'tab\there, "quoted", comma\nnew line'

# One row that has a language-tagged non-ASCII literal from the store, a typed literal, values
# that are false in Python, a blank node, a string that needs quoting in CSV and escaping in
# TSV, and an unbound variable. Oxigraph stores decimals in canonical form, so 192.0 and 0.0
# come back as "192" and "0".
EDGE_CASES = f"""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
SELECT ?concept ?definition ?memory ?zero ?zeroDecimal ?no ?date ?blank ?tricky ?missing WHERE {{
  ?concept skos:definition ?definition .
  ?size schema:value ?memory .
  OPTIONAL {{ ?concept <https://notekg.example/ontology#noSuchProperty> ?missing }}
  BIND(0 AS ?zero)
  BIND(0.0 AS ?zeroDecimal)
  BIND(false AS ?no)
  BIND("2024-05-01"^^<{XSD}date> AS ?date)
  BIND(BNODE() AS ?blank)
  BIND({json.dumps(TRICKY_TEXT)} AS ?tricky)
}}"""

VARIABLES = [
    "concept",
    "definition",
    "memory",
    "zero",
    "zeroDecimal",
    "no",
    "date",
    "blank",
    "tricky",
    "missing",
]

CONSTRUCT_BENCHMARKS = """PREFIX nk: <https://notekg.example/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
CONSTRUCT {
  ?benchmark skos:prefLabel ?label ; dcterms:description ?description ; nk:metric ?metric .
  ?concept skos:definition ?definition .
  ?size <https://schema.org/value> ?memory .
  ?benchmark nk:focusArea [ skos:prefLabel ?focusLabel ] .
} WHERE {
  { ?benchmark a nk:Benchmark ; skos:prefLabel ?label ; nk:metric ?metric ;
      nk:focusArea/skos:prefLabel ?focusLabel .
    OPTIONAL { ?benchmark dcterms:description ?description } }
  UNION { ?concept skos:definition ?definition }
  UNION { ?size <https://schema.org/value> ?memory }
}"""

RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("results")) as server:
        yield server


def query(live: LiveServer, sparql: str, accept: str) -> tuple[int, str, bytes]:
    url = f"{live.url}/sparql?{urllib.parse.urlencode({'query': sparql})}"
    reply = send(url, headers={"Accept": accept})
    return reply.status, reply.headers.get_content_type(), reply.body


# SPARQL 1.1 Query Results JSON


def test_json_select_keeps_every_term_kind(live: LiveServer) -> None:
    status, content_type, body = query(live, EDGE_CASES, "application/sparql-results+json")
    document = json.loads(body)
    row = document["results"]["bindings"][0]

    assert status == 200
    assert content_type == "application/sparql-results+json"
    assert document["head"]["vars"] == VARIABLES
    assert row["concept"] == {"type": "uri", "value": SINGULARITY}
    assert row["definition"] == {"type": "literal", "value": DEFINITION, "xml:lang": "en"}
    assert row["memory"] == {"type": "literal", "value": "192", "datatype": XSD + "decimal"}
    assert row["zero"] == {"type": "literal", "value": "0", "datatype": XSD + "integer"}
    assert row["zeroDecimal"] == {"type": "literal", "value": "0", "datatype": XSD + "decimal"}
    assert row["no"] == {"type": "literal", "value": "false", "datatype": XSD + "boolean"}
    assert row["date"] == {"type": "literal", "value": "2024-05-01", "datatype": XSD + "date"}
    assert row["blank"]["type"] == "bnode"
    assert row["tricky"] == {"type": "literal", "value": TRICKY_TEXT}
    assert "missing" not in row


def test_json_keeps_non_ascii_unescaped(live: LiveServer) -> None:
    _status, _content_type, body = query(live, EDGE_CASES, "application/sparql-results+json")

    assert DEFINITION.encode("utf-8") in body


def test_json_parses_in_rdflib(live: LiveServer) -> None:
    _status, _content_type, body = query(live, EDGE_CASES, "application/sparql-results+json")

    row = next(iter(Result.parse(io.BytesIO(body), format="json")))

    assert row.definition == rdflib.Literal(DEFINITION, lang="en")  # type: ignore[union-attr]
    assert row.memory == rdflib.Literal("192", datatype=rdflib.XSD.decimal)  # type: ignore[union-attr]
    assert row.missing is None  # type: ignore[union-attr]


def test_json_ask_returns_boolean(live: LiveServer) -> None:
    _status, _type, yes = query(
        live,
        "ASK { ?s a <https://notekg.example/ontology#Benchmark> }",
        "application/sparql-results+json",
    )
    _status, _type, no = query(
        live,
        "ASK { ?s a <https://notekg.example/ontology#Nothing> }",
        "application/sparql-results+json",
    )

    assert json.loads(yes) == {"head": {}, "boolean": True}
    assert json.loads(no) == {"head": {}, "boolean": False}


# SPARQL Query Results XML


def test_xml_select_keeps_every_term_kind(live: LiveServer) -> None:
    status, content_type, body = query(live, EDGE_CASES, "application/sparql-results+xml")
    root = ET.fromstring(body)
    variables = [element.get("name") for element in root.iter(SPARQL_RESULTS + "variable")]
    result = root.find(f"{SPARQL_RESULTS}results/{SPARQL_RESULTS}result")
    assert result is not None
    bindings = {binding.get("name"): binding[0] for binding in result}

    assert status == 200
    assert content_type == "application/sparql-results+xml"
    assert variables == VARIABLES
    assert bindings["concept"].tag == SPARQL_RESULTS + "uri"
    assert bindings["concept"].text == SINGULARITY
    assert bindings["definition"].text == DEFINITION
    assert bindings["definition"].get(XML_LANG) == "en"
    assert bindings["memory"].get("datatype") == XSD + "decimal"
    assert bindings["memory"].text == "192"
    assert bindings["zero"].text == "0"
    assert bindings["zeroDecimal"].text == "0"
    assert bindings["no"].text == "false"
    assert bindings["blank"].tag == SPARQL_RESULTS + "bnode"
    assert bindings["tricky"].text == TRICKY_TEXT
    assert bindings["tricky"].get("datatype") is None
    assert "missing" not in bindings


def test_xml_parses_in_rdflib(live: LiveServer) -> None:
    _status, _content_type, body = query(live, EDGE_CASES, "application/sparql-results+xml")

    row = next(iter(Result.parse(io.BytesIO(body), format="xml")))

    assert row.definition == rdflib.Literal(DEFINITION, lang="en")  # type: ignore[union-attr]
    assert row.zero == rdflib.Literal(0)  # type: ignore[union-attr]
    assert row.missing is None  # type: ignore[union-attr]


def test_xml_ask_returns_boolean(live: LiveServer) -> None:
    _status, _type, body = query(
        live,
        "ASK { ?s a <https://notekg.example/ontology#Benchmark> }",
        "application/sparql-results+xml",
    )

    boolean = ET.fromstring(body).find(SPARQL_RESULTS + "boolean")

    assert boolean is not None
    assert boolean.text == "true"


# SPARQL 1.1 Query Results CSV and TSV


def test_csv_writes_plain_values(live: LiveServer) -> None:
    status, content_type, body = query(live, EDGE_CASES, "text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    row = dict(zip(rows[0], rows[1], strict=True))

    assert status == 200
    assert content_type == "text/csv"
    assert rows[0] == VARIABLES
    assert row["concept"] == SINGULARITY
    assert row["definition"] == DEFINITION
    assert row["memory"] == "192"
    assert row["zero"] == "0"
    assert row["zeroDecimal"] == "0"
    assert row["no"] == "false"
    assert row["blank"].startswith("_:")
    assert row["tricky"] == TRICKY_TEXT
    assert row["missing"] == ""


def test_csv_ends_lines_with_crlf(live: LiveServer) -> None:
    _status, _content_type, body = query(live, EDGE_CASES, "text/csv")

    assert body.startswith(b"concept,definition,")
    assert body.split(b"\r\n")[0].endswith(b",missing")


def test_tsv_writes_turtle_terms(live: LiveServer) -> None:
    status, content_type, body = query(live, EDGE_CASES, "text/tab-separated-values")
    lines = body.decode("utf-8").split("\n")
    row = dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))

    assert status == 200
    assert content_type == "text/tab-separated-values"
    assert lines[0].split("\t") == ["?" + name for name in VARIABLES]
    assert row["?concept"] == f"<{SINGULARITY}>"
    assert row["?definition"] == f'"{DEFINITION}"@en'
    assert row["?memory"] == f'"192"^^<{XSD}decimal>'
    assert row["?zero"] == "0"
    assert row["?zeroDecimal"] == f'"0"^^<{XSD}decimal>'
    assert row["?no"] == "false"
    assert row["?date"] == f'"2024-05-01"^^<{XSD}date>'
    assert row["?blank"].startswith("_:")
    assert row["?tricky"] == '"tab\\there, \\"quoted\\", comma\\nnew line"'
    assert row["?missing"] == ""


def test_tsv_parses_in_rdflib(live: LiveServer) -> None:
    _status, _content_type, body = query(live, EDGE_CASES, "text/tab-separated-values")

    row = next(iter(Result.parse(io.BytesIO(body), format="tsv")))

    assert row.definition == rdflib.Literal(DEFINITION, lang="en")  # type: ignore[union-attr]
    assert row.memory == rdflib.Literal("192", datatype=rdflib.XSD.decimal)  # type: ignore[union-attr]
    assert row.tricky == rdflib.Literal(TRICKY_TEXT)  # type: ignore[union-attr]
    assert row.missing is None  # type: ignore[union-attr]


def test_ask_as_csv_returns_406(live: LiveServer) -> None:
    status, _content_type, body = query(live, "ASK {}", "text/csv")

    assert status == 406
    assert "application/sparql-results+json" in json.loads(body)["error"]["message"]


# CONSTRUCT in RDF formats


def test_construct_formats_parse_to_isomorphic_graphs(live: LiveServer) -> None:
    graphs = {}
    for media_type, rdflib_format in RDF_FORMATS.items():
        status, content_type, body = query(live, CONSTRUCT_BENCHMARKS, media_type)
        assert status == 200, media_type
        assert content_type == media_type
        graphs[media_type] = parse_rdf_graph(body, rdflib_format)

    reference = graphs["application/n-triples"]
    assert len(reference) == 12
    for media_type, graph in graphs.items():
        assert isomorphic(graph, reference), media_type


@pytest.mark.parametrize(("media_type", "rdflib_format"), list(RDF_FORMATS.items()))
def test_construct_keeps_literal_kinds(
    live: LiveServer, media_type: str, rdflib_format: str
) -> None:
    _status, _content_type, body = query(live, CONSTRUCT_BENCHMARKS, media_type)
    graph = parse_rdf_graph(body, rdflib_format)
    skos = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")

    definition = rdflib.Literal(DEFINITION, lang="en")

    assert (rdflib.URIRef(SINGULARITY), skos.definition, definition) in graph
    assert (
        None,
        rdflib.URIRef("https://schema.org/value"),
        rdflib.Literal("192", datatype=rdflib.XSD.decimal),
    ) in graph
    assert (
        rdflib.URIRef("https://notekg.example/id/benchmark/mmlu"),
        skos.prefLabel,
        rdflib.Literal("MMLU"),
    ) in graph


def test_turtle_uses_common_prefixes(live: LiveServer) -> None:
    _status, _content_type, body = query(live, CONSTRUCT_BENCHMARKS, "text/turtle")

    assert b"@prefix skos: <http://www.w3.org/2004/02/skos/core#> ." in body


# Truncation


@pytest.fixture(scope="module")
def two_row_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("two-rows"), max_rows=2) as server:
        yield server


def test_result_over_max_rows_is_cut_and_marked(two_row_live: LiveServer) -> None:
    url = f"{two_row_live.url}/sparql?{urllib.parse.urlencode({'query': 'SELECT * { ?s ?p ?o }'})}"

    reply = send(url, headers={"Accept": "application/sparql-results+json"})

    assert len(reply.json()["results"]["bindings"]) == 2
    assert reply.headers["NoteKG-Truncated"] == "true"
    assert reply.headers["NoteKG-Max-Rows"] == "2"


def test_construct_over_max_rows_is_marked(two_row_live: LiveServer) -> None:
    sparql = "CONSTRUCT WHERE { ?s ?p ?o }"
    url = f"{two_row_live.url}/sparql?{urllib.parse.urlencode({'query': sparql})}"

    reply = send(url, headers={"Accept": "application/n-triples"})

    assert len(parse_rdf_graph(reply.body, "nt")) == 2
    assert reply.headers["NoteKG-Truncated"] == "true"


def test_result_within_max_rows_is_not_marked(two_row_live: LiveServer) -> None:
    sparql = "SELECT ?s { ?s a <https://notekg.example/ontology#GPU> }"
    url = f"{two_row_live.url}/sparql?{urllib.parse.urlencode({'query': sparql})}"

    reply = send(url, headers={"Accept": "application/sparql-results+json"})

    assert len(reply.json()["results"]["bindings"]) == 1
    assert reply.headers["NoteKG-Truncated"] is None


@pytest.mark.parametrize(
    "term",
    [
        ox.NamedNode("https://notekg.example/id/café?q=1#x"),
        ox.BlankNode("b1"),
        ox.Literal('line\nbreak, "quotes", tab\t, \\ and \u2028 and \x01'),
        ox.Literal("Zürich", language="de-CH"),
        ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        ox.Literal("", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")),
        ox.Triple(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal("o", language="en")),
    ],
)
def test_json_term_text_equals_json_dumps(term: results.Term) -> None:
    text = results.json_term_text(term)

    assert text == json.dumps(results.json_term(term), ensure_ascii=False)
    assert json.loads(text) == results.json_term(term)
