"""The SPARQL endpoint for browsers and for SPARQLWrapper's defaults, over the real server.

Browsers get query results and errors as HTML pages. Programs that name a type, send ``*/*``
or no Accept header keep the SPARQL and RDF formats, and the ``format`` parameter means RDF/XML
or SPARQL XML by the kind of query, as SPARQLWrapper expects.
"""

from __future__ import annotations

import urllib.parse
import warnings
from collections.abc import Iterator
from xml.dom.minidom import Document

import pytest
import rdflib
from bs4 import BeautifulSoup, Tag
from servers import HttpReply, LiveServer, parse_rdf_graph, send, serve_sample_store
from SPARQLWrapper import GET, POST, QueryResult, SPARQLWrapper

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}

NK = "https://notekg.example/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
MMLU = "https://notekg.example/id/benchmark/mmlu"

BENCHMARK_LABELS = f"""PREFIX nk: <{NK}>
PREFIX skos: <{SKOS}>
SELECT ?benchmark ?label WHERE {{ ?benchmark a nk:Benchmark ; skos:prefLabel ?label }}
ORDER BY ?label"""
BENCHMARK_COUNT = 2

ASK_BENCHMARK = f"ASK {{ ?benchmark a <{NK}Benchmark> }}"
CONSTRUCT_LABELS = (
    f"CONSTRUCT {{ ?b <{SKOS}prefLabel> ?l }} "
    f"WHERE {{ ?b a <{NK}Benchmark> ; <{SKOS}prefLabel> ?l }}"
)
DESCRIBE_MMLU = f"DESCRIBE <{MMLU}>"
MALFORMED = "SELECT ?s WHERE { ?s ?p"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("sparql-browser")) as server:
        yield server


@pytest.fixture(scope="module")
def cut_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that returns at most one row or triple for each query."""
    with serve_sample_store(tmp_path_factory.mktemp("sparql-cut"), max_rows=1) as server:
        yield server


def query_url(live: LiveServer, query: str, **parameters: str) -> str:
    return f"{live.url}/sparql?{urllib.parse.urlencode({'query': query, **parameters})}"


def browse(live: LiveServer, query: str, **parameters: str) -> HttpReply:
    return send(query_url(live, query, **parameters), headers={"Accept": BROWSER_ACCEPT})


def page_of(reply: HttpReply) -> BeautifulSoup:
    return BeautifulSoup(reply.text, "html.parser")


def result_table(reply: HttpReply) -> Tag:
    table = page_of(reply).find("table", class_="sparql-results")
    assert isinstance(table, Tag), "the page has no table.sparql-results"
    return table


def body_rows(table: Tag) -> list[Tag]:
    return table.select("tbody tr")


# Results for browsers


def test_browser_select_gets_results_table(live: LiveServer) -> None:
    reply = browse(live, BENCHMARK_LABELS)
    table = result_table(reply)
    headings = [cell.get_text() for cell in table.select("thead th")]

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/html"
    assert headings == ["?benchmark", "?label"]
    assert len(body_rows(table)) == BENCHMARK_COUNT


def test_browser_select_iri_links_to_page(live: LiveServer) -> None:
    rows = body_rows(result_table(browse(live, BENCHMARK_LABELS)))
    mmlu_row = rows[1]
    link = mmlu_row.select_one("td.iri a")

    assert link is not None
    assert link["href"] == "/id/benchmark/mmlu"
    assert link.get_text() == MMLU
    assert mmlu_row.select("td")[1].get_text(strip=True) == "MMLU"
    assert send(f"{live.url}{link['href']}", headers={"Accept": "text/html"}).status == 200


def test_browser_select_shows_language_and_datatype(live: LiveServer) -> None:
    query = (
        'SELECT ?text ?number ?plain WHERE { BIND("Hallo"@de AS ?text) '
        'BIND(42 AS ?number) BIND("plain" AS ?plain) }'
    )
    cells = body_rows(result_table(browse(live, query)))[0].select("td")
    notes = [cell.select_one("small.literal-type") for cell in cells]

    assert notes[0] is not None
    assert notes[0].get_text() == "@de"
    assert notes[1] is not None
    assert notes[1].get_text() == "xsd:integer"
    assert notes[2] is None


def test_browser_select_unbound_cell_is_empty(live: LiveServer) -> None:
    query = "SELECT ?bound ?unbound WHERE { BIND(1 AS ?bound) }"
    cells = body_rows(result_table(browse(live, query)))[0].select("td")

    assert cells[1].get_text(strip=True) == ""


def test_browser_ask_gets_sentence(live: LiveServer) -> None:
    reply = browse(live, ASK_BENCHMARK)
    sentence = page_of(reply).select_one("p.ask-result")

    assert reply.status == 200
    assert sentence is not None
    assert sentence.strong is not None
    assert sentence.strong.get_text() == "yes"


def test_browser_construct_gets_triple_table(live: LiveServer) -> None:
    table = result_table(browse(live, CONSTRUCT_LABELS))
    headings = [cell.get_text() for cell in table.select("thead th")]
    predicates = {row.select("td")[1].get_text(strip=True) for row in body_rows(table)}

    assert headings == ["subject", "predicate", "object"]
    assert len(body_rows(table)) == BENCHMARK_COUNT
    assert predicates == {"skos:prefLabel"}


def test_browser_describe_gets_triple_table(live: LiveServer) -> None:
    table = result_table(browse(live, DESCRIBE_MMLU))
    subjects = {row.select("td")[0].get_text(strip=True) for row in body_rows(table)}

    assert body_rows(table)
    assert subjects == {MMLU}


def test_browser_empty_result_says_so(live: LiveServer) -> None:
    page = page_of(browse(live, "SELECT ?s WHERE { ?s a <https://notekg.example/none> }"))

    assert page.select_one("p.no-results") is not None
    assert page.select_one("table.sparql-results") is None


def test_results_page_form_holds_query(live: LiveServer) -> None:
    form = page_of(browse(live, BENCHMARK_LABELS)).select_one("form.sparql-form")
    assert form is not None
    textarea = form.select_one("textarea[name=query]")
    selected = form.select_one("select[name=format] option")

    assert form["action"] == "/sparql"
    assert textarea is not None
    assert textarea.get_text() == BENCHMARK_LABELS
    assert selected is not None
    assert selected["value"] == "html"


def test_results_page_keeps_dataset_in_form(live: LiveServer) -> None:
    graph = "https://notekg.example/id/graph/ai"
    reply = browse(live, BENCHMARK_LABELS, **{"default-graph-uri": graph})
    hidden = page_of(reply).select_one("form.sparql-form input[name=default-graph-uri]")

    assert hidden is not None
    assert hidden["value"] == graph


@pytest.mark.parametrize(
    ("query", "expected_types"),
    [
        (
            BENCHMARK_LABELS,
            [
                "application/sparql-results+json",
                "application/sparql-results+xml",
                "text/csv",
                "text/tab-separated-values",
            ],
        ),
        (ASK_BENCHMARK, ["application/sparql-results+json", "application/sparql-results+xml"]),
        (
            CONSTRUCT_LABELS,
            [
                "text/turtle",
                "application/n-triples",
                "application/ld+json",
                "application/rdf+xml",
                "application/n-quads",
                "application/trig",
            ],
        ),
    ],
)
def test_results_page_download_links_work(
    live: LiveServer, query: str, expected_types: list[str]
) -> None:
    links = page_of(browse(live, query)).select("p.result-links a:not(.open-in-query-page)")
    replies = [
        send(live.url + str(link["href"]), headers={"Accept": BROWSER_ACCEPT}) for link in links
    ]

    assert [reply.headers.get_content_type() for reply in replies] == expected_types
    assert [reply.status for reply in replies] == [200] * len(expected_types)


def test_results_page_links_to_query_page(live: LiveServer) -> None:
    link = page_of(browse(live, BENCHMARK_LABELS)).select_one("a.open-in-query-page")
    assert link is not None
    parts = urllib.parse.urlsplit(str(link["href"]))

    assert parts.path == "/query"
    assert urllib.parse.parse_qs(parts.query)["query"] == [BENCHMARK_LABELS]


def test_results_page_shows_truncation_notice(cut_live: LiveServer) -> None:
    reply = browse(cut_live, BENCHMARK_LABELS)
    notice = page_of(reply).select_one(".truncation-notice")

    assert reply.headers["NoteKG-Truncated"] == "true"
    assert notice is not None
    assert "first 1 rows" in " ".join(notice.get_text().split())
    assert len(body_rows(result_table(reply))) == 1


def test_whole_result_has_no_truncation_notice(live: LiveServer) -> None:
    page = page_of(browse(live, BENCHMARK_LABELS))

    assert page.select_one(".truncation-notice") is None


# Programs keep the result formats


@pytest.mark.parametrize("headers", [{"Accept": "*/*"}, {}], ids=["wildcard", "no-accept"])
def test_program_select_gets_sparql_json(live: LiveServer, headers: dict[str, str]) -> None:
    reply = send(query_url(live, BENCHMARK_LABELS), headers=headers)

    assert reply.headers.get_content_type() == "application/sparql-results+json"
    assert len(reply.json()["results"]["bindings"]) == BENCHMARK_COUNT


def test_program_construct_with_wildcard_gets_turtle(live: LiveServer) -> None:
    reply = send(query_url(live, CONSTRUCT_LABELS), headers={"Accept": "*/*"})

    assert reply.headers.get_content_type() == "text/turtle"


def test_explicit_sparql_xml_gets_xml(live: LiveServer) -> None:
    reply = send(
        query_url(live, BENCHMARK_LABELS), headers={"Accept": "application/sparql-results+xml"}
    )

    assert reply.status == 200
    assert reply.headers.get_content_type() == "application/sparql-results+xml"


def test_format_parameter_wins_over_browser_accept(live: LiveServer) -> None:
    reply = browse(live, BENCHMARK_LABELS, format="csv")

    assert reply.headers.get_content_type() == "text/csv"


def test_format_html_gets_page_without_accept(live: LiveServer) -> None:
    reply = send(query_url(live, BENCHMARK_LABELS, format="html"))

    assert reply.headers.get_content_type() == "text/html"


# Errors for browsers and programs


def test_browser_malformed_query_gets_error_page(live: LiveServer) -> None:
    reply = browse(live, MALFORMED)
    page = page_of(reply)
    message = page.select_one("p.error-message")
    textarea = page.select_one("form.sparql-form textarea[name=query]")

    assert reply.status == 400
    assert reply.headers.get_content_type() == "text/html"
    assert message is not None
    # Oxigraph's parser names the line and column of the error.
    assert message.get_text().startswith("the query is invalid: syntax error on line 1 near")
    assert textarea is not None
    assert textarea.get_text() == MALFORMED


def test_json_client_malformed_query_gets_json(live: LiveServer) -> None:
    reply = send(query_url(live, MALFORMED), headers={"Accept": "application/json"})
    error = reply.json()["error"]

    assert reply.status == 400
    assert reply.headers.get_content_type() == "application/json"
    assert set(error) == {"status", "title", "message"}
    assert error["status"] == 400
    assert error["message"].startswith("the query is invalid: syntax error on line 1 near")


def test_browser_form_post_error_is_page(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=urllib.parse.urlencode({"query": MALFORMED}).encode(),
        headers={**FORM_TYPE, "Accept": BROWSER_ACCEPT},
    )

    assert reply.status == 400
    assert reply.headers.get_content_type() == "text/html"


# The format parameter by kind of query


@pytest.mark.parametrize(
    ("format_value", "media_type", "rdflib_format"),
    [
        ("xml", "application/rdf+xml", "xml"),
        ("rdf", "application/rdf+xml", "xml"),
        ("rdfxml", "application/rdf+xml", "xml"),
        ("rdf+xml", "application/rdf+xml", "xml"),
        ("json", "application/ld+json", "json-ld"),
        ("json-ld", "application/ld+json", "json-ld"),
        ("jsonld", "application/ld+json", "json-ld"),
        ("turtle", "text/turtle", "turtle"),
        ("ttl", "text/turtle", "turtle"),
        ("nt", "application/n-triples", "nt"),
        ("ntriples", "application/n-triples", "nt"),
        ("nquads", "application/n-quads", "nquads"),
        ("trig", "application/trig", "trig"),
        ("text/turtle", "text/turtle", "turtle"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
    ],
)
def test_construct_format_parameter_gives_rdf(
    live: LiveServer, format_value: str, media_type: str, rdflib_format: str
) -> None:
    reply = send(query_url(live, CONSTRUCT_LABELS, format=format_value))
    graph = parse_rdf_graph(reply.body, rdflib_format)

    assert reply.status == 200
    assert reply.headers.get_content_type() == media_type
    assert (rdflib.URIRef(MMLU), rdflib.URIRef(SKOS + "prefLabel"), rdflib.Literal("MMLU")) in graph


@pytest.mark.parametrize(
    ("format_value", "media_type"),
    [
        ("xml", "application/sparql-results+xml"),
        ("json", "application/sparql-results+json"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv; charset=utf-8", "text/csv"),
    ],
)
def test_select_format_parameter_gives_results(
    live: LiveServer, format_value: str, media_type: str
) -> None:
    reply = send(query_url(live, BENCHMARK_LABELS, format=format_value))

    assert reply.status == 200
    assert reply.headers.get_content_type() == media_type


def test_ask_format_csv_returns_406_listing_names(live: LiveServer) -> None:
    reply = send(query_url(live, ASK_BENCHMARK, format="csv"))
    message = reply.json()["error"]["message"]

    assert reply.status == 406
    assert "application/sparql-results+xml" in message
    assert "format parameter set to one of: json, xml, html" in message


def test_format_in_form_body_applies(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=urllib.parse.urlencode({"query": BENCHMARK_LABELS, "format": "csv"}).encode(),
        headers={**FORM_TYPE, "Accept": BROWSER_ACCEPT},
    )

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/csv"


# SPARQLWrapper 2.0.0 with its default return format, XML


def wrapper_for(live: LiveServer, query: str, method: str) -> SPARQLWrapper:
    client = SPARQLWrapper(f"{live.url}/sparql")
    client.setQuery(query)
    client.setMethod(method)
    return client


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_default_select_parses(live: LiveServer, method: str) -> None:
    response = wrapper_for(live, BENCHMARK_LABELS, method).query()
    document = response.convert()

    assert response.response.status == 200
    assert isinstance(document, Document)
    assert len(document.getElementsByTagName("result")) == BENCHMARK_COUNT


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_default_ask_parses(live: LiveServer, method: str) -> None:
    response = wrapper_for(live, ASK_BENCHMARK, method).query()
    document = response.convert()

    assert response.response.status == 200
    assert isinstance(document, Document)
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "true"  # type: ignore[union-attr]


def convert_rdf(response: QueryResult) -> object:
    """Return SPARQLWrapper's rdflib graph of an RDF/XML response."""
    # SPARQLWrapper 2.0.0 parses RDF/XML into an rdflib ConjunctiveGraph, which rdflib 7.6
    # deprecates with a warning whatever the caller does.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="ConjunctiveGraph is deprecated", category=DeprecationWarning
        )
        return response.convert()


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_default_construct_parses(live: LiveServer, method: str) -> None:
    response = wrapper_for(live, CONSTRUCT_LABELS, method).query()
    graph = convert_rdf(response)

    assert response.response.status == 200
    assert isinstance(graph, rdflib.Graph)
    assert len(graph) == BENCHMARK_COUNT


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_default_describe_parses(live: LiveServer, method: str) -> None:
    response = wrapper_for(live, DESCRIBE_MMLU, method).query()
    graph = convert_rdf(response)

    assert response.response.status == 200
    assert isinstance(graph, rdflib.Graph)
    assert (rdflib.URIRef(MMLU), rdflib.URIRef(SKOS + "prefLabel"), rdflib.Literal("MMLU")) in graph


# The query form on /sparql and the home page


def test_sparql_form_controls_are_labelled_in_order(live: LiveServer) -> None:
    page = page_of(send(f"{live.url}/sparql", headers={"Accept": BROWSER_ACCEPT}))
    form = page.select_one("form.sparql-form")
    assert form is not None
    controls = form.find_all(["label", "textarea", "select", "button"])
    labelled = [control for control in form.find_all(["textarea", "select"])]

    assert [control.name for control in controls] == [
        "label",
        "textarea",
        "label",
        "select",
        "button",
    ]
    for control in labelled:
        assert form.select_one(f"label[for={control['id']}]") is not None, control["id"]


def test_sparql_form_submission_gets_results_page(live: LiveServer) -> None:
    page = page_of(send(f"{live.url}/sparql", headers={"Accept": BROWSER_ACCEPT}))
    form = page.select_one("form.sparql-form")
    assert form is not None
    textarea = form.select_one("textarea")
    select = form.select_one("select")
    assert textarea is not None
    assert select is not None
    first_option = select.select_one("option")
    assert first_option is not None
    fields = {"query": textarea.get_text(), "format": str(first_option["value"])}

    reply = send(
        f"{live.url}{form['action']}?{urllib.parse.urlencode(fields)}",
        headers={"Accept": BROWSER_ACCEPT},
    )

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/html"
    assert body_rows(result_table(reply))


def test_home_form_post_gets_results_page(live: LiveServer) -> None:
    reply = send(
        f"{live.url}/sparql",
        method="POST",
        data=urllib.parse.urlencode({"query": BENCHMARK_LABELS}).encode(),
        headers={**FORM_TYPE, "Accept": BROWSER_ACCEPT},
    )

    assert reply.status == 200
    assert len(body_rows(result_table(reply))) == BENCHMARK_COUNT
