"""Test the HTML pages through the real app, served over HTTP on 127.0.0.1.

The store is a SQLite file filled from tests/fixtures/graphs/sample.trig plus a generated graph
of 105 records, which gives the pagers and the search ranking something to work on.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
from bs4 import BeautifulSoup, Tag
from servers import (
    LiveServer,
    fill_store_from_dataset,
    recorded_arguments,
    serve_app,
    serve_store,
)

from service import browse_queries, page_queries
from service import pages as pages_module
from service.app import create_app, holder
from service.engine import OxigraphEngine
from service.views import entity_lists, neighbourhood

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "graphs"
ID = "https://notekg.example/id/"
NK = rdflib.Namespace("https://notekg.example/ontology#")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
MMLU = rdflib.URIRef(ID + "benchmark/mmlu")
GENERAL_KNOWLEDGE = rdflib.URIRef(ID + "focus-area/general-knowledge-reasoning")
RECORD_COUNT = 105
# The hub links to every record and was read from HUB_SOURCE_COUNT lines of hub.md.
HUB_SOURCE_COUNT = 60
# More than the entity page embeds as JSON-LD.
LARGE_HUB_LINK_COUNT = 1_001
LARGE_HUB_KEYWORDS = ["gamma", "alpha", "beta"]
TWO_LISTS_FANS = 55

EXTRA_GRAPH_HEADER = """\
@prefix nk: <https://notekg.example/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix id: <https://notekg.example/id/> .

id:graph\\/extra {
  id:concept\\/reasoning a skos:Concept ; skos:prefLabel "Reasoning" .
  id:concept\\/reasoning-depth a skos:Concept ; skos:prefLabel "Reasoning depth" .
  id:concept\\/zeta-logic a skos:Concept ; skos:prefLabel "Zeta logic" ; skos:altLabel "reasoning" .
  id:topic\\/paging-target a skos:Concept ; skos:prefLabel "Paging target" .
"""


@dataclass
class Reply:
    """An HTTP response read to the end."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def html(self) -> BeautifulSoup:
        return BeautifulSoup(self.text, "html.parser")


def get(url: str, accept: str = "text/html") -> Reply:
    """Send a GET request and return the response, whatever its status."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers.items()), error.read())


def parse_rdf(text: str, rdflib_format: str) -> rdflib.Graph:
    """Parse RDF text with rdflib into one graph."""
    if rdflib_format != "json-ld":
        return rdflib.Graph().parse(data=text, format=rdflib_format)

    # rdflib 7.6's JSON-LD parser builds a ConjunctiveGraph and reads Dataset.default_context
    # itself, and both raise DeprecationWarning whatever graph the caller passes.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="rdflib")
        return rdflib.Graph().parse(data=text, format=rdflib_format)


def write_dataset(path: Path) -> None:
    """Write sample.trig followed by a graph of generated records, as one TriG file."""
    records = [
        f'  id:record\\/r{number:03d} a nk:Record ; skos:prefLabel "Record {number:03d}" ;'
        f" nk:mentions id:topic\\/paging-target ."
        for number in range(1, RECORD_COUNT + 1)
    ]
    hub = ['  id:topic\\/hub a skos:Concept ; skos:prefLabel "Hub" .']
    hub += [
        f"  id:topic\\/hub nk:mentions id:record\\/r{number:03d} ."
        for number in range(1, RECORD_COUNT + 1)
    ]
    hub += [
        f"  id:topic\\/hub nk:source id:note\\/hub\\#L{line}-L{line} ."
        f" id:note\\/hub\\#L{line}-L{line} a nk:SourceSpan ; nk:inNote id:note\\/hub ;"
        f" nk:startLine {line} ; nk:endLine {line} ."
        for line in range(1, HUB_SOURCE_COUNT + 1)
    ]
    hub.append(
        '  id:note\\/hub a nk:Note ; nk:filePath "hub.md" ;'
        ' <https://schema.org/keywords> "infra/pgbouncer" .'
    )
    for note in ("Alpha", "Beta"):
        slug = note.lower()
        hub.append(
            f'  id:note\\/{slug} a nk:Note ; dcterms:title "{note}" .'
            f' id:section\\/{slug}\\/facts a nk:Section ; skos:prefLabel "Facts" ;'
            f" dcterms:isPartOf id:note\\/{slug} ."
            f" id:topic\\/shared-facts nk:definedIn id:section\\/{slug}\\/facts ."
        )
    hub.append('  id:topic\\/shared-facts a skos:Concept ; skos:prefLabel "Shared facts" .')
    # Two entities of one label, each defined in a section of its own note.
    for note in ("alpha", "beta"):
        hub.append(
            f'  id:port\\/{note}-server a skos:Concept ; skos:prefLabel "Server" ;'
            f" nk:definedIn id:section\\/{note}\\/facts ."
        )
    hub.append(
        '  id:topic\\/servers skos:prefLabel "Servers" ;'
        " nk:mentions id:port\\/alpha-server, id:port\\/beta-server ."
    )
    hub.append(
        '  id:topic\\/numbered a skos:Concept ; skos:prefLabel "Numbered" ;'
        '  nk:pageCount 10, 9, 100 ; nk:alias "beta", "tag 10", "Alpha", "tag 2", "alpha" .'
    )
    hub.append(
        '  id:topic\\/blank-linked a skos:Concept ; skos:prefLabel "Blank linked" .'
        '  [] skos:prefLabel "Anonymous source" ; nk:mentions id:topic\\/blank-linked .'
        '  id:topic\\/source-10 skos:prefLabel "Source 10" ; nk:mentions id:topic\\/blank-linked .'
        '  id:topic\\/source-2 skos:prefLabel "Source 2" ; nk:mentions id:topic\\/blank-linked .'
    )
    hub.append(
        '  id:topic\\/large-hub a skos:Concept ; skos:prefLabel "Large hub" ;'
        f" <https://schema.org/keywords> {', '.join(map(json.dumps, LARGE_HUB_KEYWORDS))} ."
    )
    hub += [
        f"  id:topic\\/large-hub nk:mentions id:topic\\/t{number:04d} ."
        for number in range(1, LARGE_HUB_LINK_COUNT + 1)
    ]
    # Two lists of links to one topic: one longer than a page, one short.
    hub += [
        f'  id:topic\\/fan-{number} skos:prefLabel "Fan {number}" ;'
        " nk:mentions id:topic\\/two-lists ."
        for number in range(1, TWO_LISTS_FANS + 1)
    ]
    hub.append(
        '  id:topic\\/two-lists skos:prefLabel "Two lists" .'
        " id:topic\\/shared-facts skos:related id:topic\\/two-lists ."
    )
    extra = EXTRA_GRAPH_HEADER + "\n".join(records + hub) + "\n}\n"
    path.write_text(
        (FIXTURES / "sample.trig").read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("pages")
    dataset = directory / "dataset.trig"
    write_dataset(dataset)
    database_url = f"sqlite:///{directory / 'notekg.sqlite'}"
    fill_store_from_dataset(database_url, str(dataset))
    with serve_store(database_url) as live:
        yield live


def page(server: LiveServer, path: str) -> BeautifulSoup:
    reply = get(server.url + path)
    assert reply.status == 200, f"GET {path} returned {reply.status}: {reply.text[:500]}"
    return reply.html()


def link_by_text(soup: BeautifulSoup | Tag, text: str) -> Tag:
    links = [link for link in soup.find_all("a") if link.get_text(strip=True) == text]
    assert links, f"no link with the text {text!r}"
    return links[0]


def absolute(server: LiveServer, href: str) -> str:
    return urllib.parse.urljoin(server.url + "/", href)


def property_values(soup: BeautifulSoup, property_label: str) -> list[Tag]:
    """Return the <dd> elements under the <dt> whose text is the property label."""
    term = next(
        dt for dt in soup.select("dl.properties dt") if dt.a.get_text(strip=True) == property_label
    )
    values = []
    for sibling in term.find_next_siblings(["dt", "dd"]):
        if sibling.name == "dt":
            break
        values.append(sibling)
    return values


def link_texts(soup: BeautifulSoup, property_label: str) -> list[str]:
    """Return the texts of the links listed under a property, without its pager."""
    return [
        value.get_text(strip=True)
        for value in property_values(soup, property_label)
        if "link" in value["class"]
    ]


def crawl_links(server: LiveServer, soup: BeautifulSoup) -> dict[str, int]:
    """GET every link and stylesheet of the page and return each URL's status."""
    hrefs = {element["href"] for element in soup.select("a[href], link[href]")}
    urls = {absolute(server, href).split("#")[0] for href in hrefs if not href.startswith("#")}
    return {url: get(url, accept="text/html,*/*;q=0.8").status for url in sorted(urls)}


# Home page


def test_home_lists_class_counts(server: LiveServer) -> None:
    soup = page(server, "/")
    rows = {
        row.find("a").get_text(strip=True): row.select_one("td.number").get_text(strip=True)
        for row in soup.select("table.class-counts tbody tr")
    }

    assert rows["benchmark"] == "2"
    assert rows["record"] == str(RECORD_COUNT)


def test_home_class_link_opens_class_page(server: LiveServer) -> None:
    soup = page(server, "/")
    class_page = page(server, link_by_text(soup, "benchmark")["href"])

    assert class_page.h1.get_text(strip=True) == "benchmark"


def test_home_shows_graph_size(server: LiveServer) -> None:
    soup = page(server, "/")
    engine = holder(server.app).engine()

    assert (
        soup.select_one("#triple-count").get_text(strip=True) == f"{engine.merged_triple_count:,}"
    )
    assert soup.select_one("#quad-count").get_text(strip=True) == f"{engine.triple_count:,}"


def test_home_example_queries_open_sparql(server: LiveServer) -> None:
    soup = page(server, "/")
    links = soup.select("ul.examples a")

    assert len(links) == 3
    for link in links:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link["href"]).query)["query"][0]
        reply = get(
            absolute(server, "/sparql?" + urllib.parse.urlencode({"query": query})),
            accept="application/sparql-results+json",
        )
        assert reply.status == 200, f"{link.get_text()}: {reply.text[:300]}"


def test_home_leaves_out_examples_without_instances(tmp_path: Path) -> None:
    dataset = tmp_path / "people.trig"
    dataset.write_text(
        "<https://notekg.example/id/graph/people> {\n"
        "  <https://notekg.example/id/person/ada> a <https://schema.org/Person> .\n"
        "}\n",
        encoding="utf-8",
    )
    database_url = f"sqlite:///{tmp_path / 'people.sqlite'}"
    fill_store_from_dataset(database_url, str(dataset))
    app = create_app({"database_url": database_url})
    try:
        with serve_app(app) as live:
            titles = [link.get_text(strip=True) for link in page(live, "/").select("ul.examples a")]
    finally:
        holder(app).close()

    assert "Benchmarks with their focus areas" not in titles
    assert "Classes and how many resources each has" in titles


def test_home_links_resolve(server: LiveServer) -> None:
    statuses = crawl_links(server, page(server, "/"))

    failed = {url: status for url, status in statuses.items() if status >= 400}
    assert failed == {}


# Entity pages


def test_entity_page_shows_label(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")

    assert soup.h1.get_text(strip=True) == "MMLU"
    assert soup.title.get_text(strip=True).startswith("MMLU")


def test_entity_page_shows_full_name(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    names = [name.get_text(strip=True) for name in soup.select(".alternative-name")]

    assert names == ["Massive Multitask Language Understanding"]


def test_entity_page_links_type_to_class(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    type_link = soup.select_one("a.type")

    assert type_link.get_text(strip=True) == "benchmark"
    assert page(server, type_link["href"]).h1.get_text(strip=True) == "benchmark"


@pytest.mark.parametrize("page_path", ["/id/benchmark/mmlu", "/"])
def test_page_links_keep_the_mount_path(server: LiveServer, page_path: str) -> None:
    # A proxy that serves the app under /kg sets SCRIPT_NAME. The pages keep the links they
    # built, and the home page its class counts, so a link built for one mount path must not
    # appear under the other.
    client = server.app.test_client()
    headers = {"Accept": "text/html", "Cache-Control": "no-cache"}
    pages = [
        client.get(page_path, base_url=base_url, headers=headers)
        for base_url in ("http://localhost/", "http://localhost/kg/", "http://localhost/")
    ]

    links = [
        [link["href"] for link in BeautifulSoup(page.data, "html.parser").find_all("a", href=True)]
        for page in pages
    ]
    paths = [[href for href in hrefs if href.startswith("/")] for hrefs in links]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert paths[0] and paths[0] == paths[2]
    assert not any(path.startswith("/kg/") for path in paths[0])
    assert paths[1] == ["/kg" + path for path in paths[0]]


def test_entity_page_focus_area_link_opens(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    values = property_values(soup, "focus area")

    assert [value.get_text(strip=True) for value in values] == ["General knowledge & reasoning"]
    target = get(absolute(server, values[0].a["href"]))
    assert target.status == 200
    assert target.html().h1.get_text(strip=True) == "General knowledge & reasoning"


def test_focus_area_page_lists_incoming_links(server: LiveServer) -> None:
    soup = page(server, "/id/focus-area/general-knowledge-reasoning")
    group = soup.select_one("#incoming .incoming-group")

    assert group.h3.a.get_text(strip=True) == "focus area"
    assert group.select_one(".count").get_text(strip=True) == "(1)"
    assert [link.get_text(strip=True) for link in group.select("li a")] == ["MMLU"]


def test_incoming_links_paged_by_fifty(server: LiveServer) -> None:
    soup = page(server, "/id/topic/paging-target")
    group = soup.select_one("#incoming .incoming-group")
    first = [link.get_text(strip=True) for link in group.select("li a")]

    assert group.select_one(".count").get_text(strip=True) == f"({RECORD_COUNT})"
    assert first == [f"Record {number:03d}" for number in range(1, 51)]
    assert group.select_one(".list-order") is None, "a list ordered by label has no order note"

    second_page = page(server, group.select_one("a[rel=next]")["href"])
    second = [link.get_text(strip=True) for link in second_page.select("#incoming li a")]
    assert second == [f"Record {number:03d}" for number in range(51, 101)]


def test_single_section_link_keeps_its_label(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")

    assert link_texts(soup, "defined in") == ["Benchmarks"]


def test_sections_of_one_heading_name_their_notes(server: LiveServer) -> None:
    soup = page(server, "/id/topic/shared-facts")

    assert link_texts(soup, "defined in") == ["Facts (Alpha)", "Facts (Beta)"]
    # The picture names the sections as the list does.
    drawn = [title.get_text() for title in soup.select("figure.neighbourhood .node-out title")]
    assert "Facts (Alpha)" in drawn
    assert "Facts (Beta)" in drawn


def test_outgoing_links_paged_by_fifty(server: LiveServer) -> None:
    soup = page(server, "/id/topic/hub")
    first = link_texts(soup, "mentions")

    assert first == [f"Record {number:03d}" for number in range(1, 51)]
    heading = next(dt for dt in soup.select("dl.properties dt") if "mentions" in dt.get_text())
    assert heading.select_one(".count").get_text(strip=True) == f"({RECORD_COUNT})"

    assert soup.select_one("#links .list-order").get_text(strip=True) == entity_lists.BY_IRI

    second_page = page(server, soup.select_one("#links a[rel=next]")["href"])
    second = link_texts(second_page, "mentions")
    assert second == [f"Record {number:03d}" for number in range(51, 101)]

    third_page = page(server, second_page.select_one("#links a[rel=next]")["href"])
    third = link_texts(third_page, "mentions")
    assert third == [f"Record {number:03d}" for number in range(101, RECORD_COUNT + 1)]
    assert third_page.select_one("#links a[rel=next]") is None
    assert third_page.select_one("#links a[rel=prev]") is not None


def test_sources_paged_by_fifty(server: LiveServer) -> None:
    soup = page(server, "/id/topic/hub")
    first = [link.get_text(strip=True) for link in soup.select("#sources a.source")]

    assert soup.select_one("#sources-heading .count").get_text(strip=True) == (
        f"({HUB_SOURCE_COUNT})"
    )
    assert len(first) == 50
    lines = [int(text.rsplit(" ", 1)[1]) for text in first]
    assert lines == sorted(lines), "a page of sources is in line order"
    order = soup.select_one("#sources .list-order").get_text(strip=True)
    assert order == entity_lists.SOURCES_IN_STORE_ORDER

    second_page = page(server, soup.select_one("#sources a[rel=next]")["href"])
    second = [link.get_text(strip=True) for link in second_page.select("#sources a.source")]
    assert len(second) == HUB_SOURCE_COUNT - 50
    assert second_page.select_one("#sources a[rel=next]") is None
    shown = {int(text.rsplit(" ", 1)[1]) for text in first + second}
    assert shown == set(range(1, HUB_SOURCE_COUNT + 1))

    past_end = page(server, "/id/topic/hub?sources_page=5")
    assert past_end.select("#sources a.source") == []
    back = past_end.select_one("#sources a[rel=prev]")
    assert back is not None
    assert "sources_page=2" in back["href"], "a page past the end links to the last page"
    notice = past_end.select_one("#sources .notice").get_text(" ", strip=True)
    assert notice.startswith("Page 5 is past the end of this list, which has 2 pages")


def test_in_page_alone_pages_long_lists(server: LiveServer) -> None:
    soup = page(server, "/id/topic/two-lists?in_page=2")
    groups = {
        group.h3.a.get_text(strip=True): [
            link.get_text(strip=True) for link in group.select("li a")
        ]
        for group in soup.select("#incoming .incoming-group")
    }

    assert groups == {
        "mentions": [f"Fan {number}" for number in range(51, TWO_LISTS_FANS + 1)],
        "related": ["Shared facts"],
    }
    assert soup.select("#incoming .notice") == [], "no list is past its end"


@pytest.mark.parametrize(
    ("path", "selector", "argument"),
    [
        ("/id/topic/paging-target?in_property={property}&in_page=9", "#incoming", "in_page=3"),
        ("/id/topic/hub?out_property={property}&out_page=9", "#links", "out_page=3"),
    ],
)
def test_page_past_end_links_last(
    server: LiveServer, path: str, selector: str, argument: str
) -> None:
    soup = page(server, path.format(property=urllib.parse.quote(str(NK.mentions))))
    back = soup.select_one(f"{selector} a[rel=prev]")

    assert back is not None
    assert argument in back["href"]
    assert soup.select_one(f"{selector} a[rel=next]") is None
    notice = soup.select_one(f"{selector} .notice").get_text(" ", strip=True)
    assert notice.startswith("Page 9 is past the end of this list, which has 3 pages")


def test_short_source_list_has_no_pager(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")

    assert soup.select_one("#sources .pager") is None
    assert soup.select_one("#sources-heading .count") is None


def test_neighbourhood_counts_links_not_drawn(server: LiveServer) -> None:
    hub = page(server, "/id/topic/hub")
    target = page(server, "/id/topic/paging-target")

    assert f"{RECORD_COUNT - 20} more links not drawn" in hub.get_text(" ", strip=True)
    assert f"{RECORD_COUNT - 20} more links not drawn" in target.get_text(" ", strip=True)


def test_note_picture_leaves_out_source_spans(server: LiveServer) -> None:
    soup = page(server, "/id/note/hub")
    labels = [text.get_text(strip=True) for text in soup.select("figure.neighbourhood .edge-label")]
    incoming = soup.select_one("#incoming")

    assert "in note" not in labels
    assert incoming is not None, "the spans are still listed under Linked from"
    assert f"({HUB_SOURCE_COUNT})" in incoming.get_text()


def test_large_entity_links_json_ld_instead_of_embedding(server: LiveServer) -> None:
    soup = page(server, "/id/topic/large-hub")

    assert soup.select_one('script[type="application/ld+json"]') is None
    alternate = soup.select_one('link[rel=alternate][type="application/ld+json"]')
    reply = get(absolute(server, alternate["href"]), accept="application/ld+json")
    graph = parse_rdf(reply.text, "json-ld")
    hub = rdflib.URIRef(ID + "topic/large-hub")
    assert len(list(graph.objects(hub, NK.mentions))) == LARGE_HUB_LINK_COUNT


def uncached_page(server: LiveServer, path: str) -> BeautifulSoup:
    request = urllib.request.Request(
        absolute(server, path), headers={"Accept": "text/html", "Cache-Control": "no-cache"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return BeautifulSoup(response.read().decode("utf-8"), "html.parser")


def recorded_offsets(
    monkeypatch: pytest.MonkeyPatch, query_name: str, property_iri: str | None = None
) -> list[int]:
    """Record the offset of each page that a page query selects, of one property or of any."""
    offsets: list[int] = []
    original = getattr(page_queries, query_name)

    def recording(iri: str, paged_property: str, limit: int, offset: int) -> str:
        if property_iri in (None, paged_property):
            offsets.append(offset)
        return original(iri, paged_property, limit, offset)

    monkeypatch.setattr(page_queries, query_name, recording)
    return offsets


def test_long_incoming_list_paged_in_store_order(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entity_lists, "MAX_LABEL_ORDERED_LINKS", RECORD_COUNT - 1)
    store_order_pages = recorded_offsets(monkeypatch, "incoming_page_in_store_order")
    path = "/id/topic/paging-target?in_page=1"
    pages = []
    while path:
        soup = uncached_page(server, path)
        pages.append([link.get_text(strip=True) for link in soup.select("#incoming li a")])
        order = soup.select_one("#incoming .list-order")
        assert order is not None
        assert order.get_text(strip=True) == entity_lists.IN_STORE_ORDER
        next_link = soup.select_one("#incoming a[rel=next]")
        path = next_link["href"] if next_link else ""

    assert [len(links) for links in pages] == [50, 50, RECORD_COUNT - 100]
    assert all(links == sorted(links) for links in pages), "each page is in label order"
    assert store_order_pages == [0, 50, 100], "offsets of the pages read in the store's order"
    shown = [label for links in pages for label in links]
    assert sorted(shown) == [f"Record {number:03d}" for number in range(1, RECORD_COUNT + 1)]


def test_long_property_paged_in_store_order(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    offsets = recorded_offsets(monkeypatch, "value_page", str(NK.mentions))
    path = "/id/topic/large-hub"
    pages = []
    while path:
        soup = uncached_page(server, path)
        assert soup.h1.get_text(strip=True) == "Large hub", "the short properties are read"
        caption = soup.select_one("#neighbourhood-caption").get_text(" ", strip=True)
        hidden = LARGE_HUB_LINK_COUNT - neighbourhood.MAX_LINKS
        assert f"{hidden} more links not drawn" in caption, "the picture counts unread links"
        pages.append(link_texts(soup, "mentions"))
        heading = next(dt for dt in soup.select("dl.properties dt") if "mentions" in dt.get_text())
        assert heading.select_one(".count").get_text(strip=True) == f"({LARGE_HUB_LINK_COUNT})"
        order = soup.select_one("#links .list-order")
        assert order is not None
        assert order.get_text(strip=True) == entity_lists.IN_STORE_ORDER
        next_link = soup.select_one("#links a[rel=next]")
        path = next_link["href"] if next_link else ""

    page_count = -(-LARGE_HUB_LINK_COUNT // entity_lists.LINK_PAGE_SIZE)
    # After the first page, the picture reads the first values again (offset 0).
    later = [[number * entity_lists.LINK_PAGE_SIZE, 0] for number in range(1, page_count)]
    assert offsets == [0] + [offset for pair in later for offset in pair]
    assert all(texts == sorted(texts, key=str.lower) for texts in pages), "each page by label"
    listed = [text for texts in pages for text in texts]
    assert len(listed) == LARGE_HUB_LINK_COUNT
    assert len(set(listed)) == LARGE_HUB_LINK_COUNT, "the pages do not overlap"


def test_long_literal_property_as_text(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # With room for two values, the three keywords are read a page at a time too.
    monkeypatch.setattr(pages_module, "READ_WHOLE_VALUES", 2)
    soup = uncached_page(server, "/id/topic/large-hub")
    keywords = property_values(soup, "keywords")

    assert sorted(value.get_text(strip=True) for value in keywords) == sorted(LARGE_HUB_KEYWORDS)
    assert all(value.a is None for value in keywords), "a literal is not a link"
    assert soup.select_one('script[type="application/ld+json"]') is None


def test_incoming_neighbours_only_when_linked(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    queried = recorded_arguments(monkeypatch, browse_queries, "incoming_neighbours")
    unlinked = uncached_page(server, "/id/topic/shared-facts")
    linked = uncached_page(server, "/id/topic/paging-target")

    assert queried == [ID + "topic/paging-target"]
    assert not unlinked.select("figure.neighbourhood .edge-in")
    assert linked.select("figure.neighbourhood .edge-in")


@pytest.mark.parametrize("path", ["/id/section/ai/benchmarks", "/id/metric/accuracy"])
def test_picture_draws_listed_incoming_links(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    queried = recorded_arguments(monkeypatch, browse_queries, "incoming_neighbours")
    listed = uncached_page(server, path).select_one("figure.neighbourhood")

    assert queried == [], "the page's incoming lists have every link"
    assert listed.select(".edge-in")

    monkeypatch.setattr(neighbourhood, "listed_incoming_links", lambda groups, limit: None)
    from_query = uncached_page(server, path).select_one("figure.neighbourhood")

    assert len(queried) == 1
    assert str(listed) == str(from_query)


@pytest.mark.parametrize(
    "path",
    [
        "/id/section/ai/benchmarks",
        "/id/metric/accuracy",
        "/id/topic/paging-target",
        "/id/topic/paging-target?in_page=3",
    ],
)
def test_incoming_list_read_either_way(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    whole = uncached_page(server, path).select_one("#incoming")
    # Counted per property, each list read on its own.
    monkeypatch.setattr(entity_lists, "READ_WHOLE_INCOMING", 0)
    counted = uncached_page(server, path).select_one("#incoming")

    assert whole.select("li a")
    assert str(whole) == str(counted)


def test_incoming_links_read_in_one_query(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = recorded_arguments(monkeypatch, page_queries, "incoming_counts")
    listed = recorded_arguments(monkeypatch, page_queries, "incoming_resources")
    soup = uncached_page(server, "/id/metric/accuracy")

    assert soup.select("#incoming li a")
    assert counted == [], "one query read the links and their number"
    assert listed == []

    groups = len(soup.select("#incoming .incoming-group"))
    monkeypatch.setattr(entity_lists, "READ_WHOLE_INCOMING", 1)
    uncached_page(server, "/id/metric/accuracy")

    assert counted == [ID + "metric/accuracy"]
    assert len(listed) == groups


def test_incoming_list_natural_order(server: LiveServer) -> None:
    soup = uncached_page(server, "/id/note/hub")
    group = next(
        section
        for section in soup.select("#incoming .incoming-group")
        if "in note" in section.h3.get_text()
    )
    texts = [link.get_text(strip=True) for link in group.select("li a")]

    assert texts == [f"L{line}-L{line}" for line in range(1, 51)]


def test_blank_incoming_node_keeps_label(server: LiveServer) -> None:
    soup = uncached_page(server, "/id/topic/blank-linked")
    incoming = soup.select_one("#incoming")
    texts = [item.get_text(strip=True) for item in incoming.select("li")]

    assert texts == ["Anonymous source", "Source 2", "Source 10"], "numbers in labels by value"


def test_quantities_looked_up_once(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up = recorded_arguments(monkeypatch, page_queries, "quantity_parts")
    first = uncached_page(server, "/id/gpu-variant/h100-nvl")
    again = uncached_page(server, "/id/gpu-variant/h100-nvl")

    assert property_values(again, "memory size")[0].get_text(strip=True) == "192 GB"
    assert str(again) == str(first)
    assert len(looked_up) <= 1, "the second page takes the quantities from the memo"


def test_literal_values_numbers_by_value(server: LiveServer) -> None:
    soup = uncached_page(server, "/id/topic/numbered")
    numbers = [value.get_text(strip=True) for value in property_values(soup, "page count")]
    aliases = [value.get_text(strip=True) for value in property_values(soup, "alias")]

    assert numbers == ["9", "10", "100"]
    assert aliases == ["Alpha", "alpha", "beta", "tag 2", "tag 10"], "numbers in text by value"


def test_long_property_numbers_by_value(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With room for two values, the three numbers are read a page at a time.
    monkeypatch.setattr(pages_module, "READ_WHOLE_VALUES", 2)
    soup = uncached_page(server, "/id/topic/numbered")

    assert link_texts(soup, "page count") == ["9", "10", "100"]


def test_entity_page_shows_quantity_as_written(server: LiveServer) -> None:
    soup = page(server, "/id/gpu-variant/h100-nvl")
    values = property_values(soup, "memory size")

    assert [value.get_text(strip=True) for value in values] == ["192 GB"]
    assert values[0].a["title"] == "192 GB total (2x 96 GB)"


def test_entity_page_links_provenance_to_note(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    source = soup.select_one("a.source")

    assert source.get_text(strip=True) == "ai.txt, line 7"
    assert urllib.parse.urlsplit(source["href"]).fragment == "L7"
    note = page(server, source["href"])
    assert [row["id"] for row in note.select("table.note-text tr.highlighted")] == ["L7"]
    assert note.select_one("tr.highlighted mark").get_text() == "MMLU line"


def test_entity_page_embeds_json_ld(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    script = soup.select_one('script[type="application/ld+json"]')
    graph = parse_rdf(script.string, "json-ld")

    assert (MMLU, SKOS.prefLabel, rdflib.Literal("MMLU")) in graph
    assert (MMLU, NK.focusArea, GENERAL_KNOWLEDGE) in graph
    assert (MMLU, NK.fullName, rdflib.Literal("Massive Multitask Language Understanding")) in graph


def test_entity_turtle_by_accept(server: LiveServer) -> None:
    reply = get(server.url + "/id/benchmark/mmlu", accept="text/turtle")
    graph = parse_rdf(reply.text, "turtle")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/turtle")
    assert "Accept" in reply.headers["Vary"]
    assert (MMLU, SKOS.prefLabel, rdflib.Literal("MMLU")) in graph
    assert (MMLU, NK.focusArea, GENERAL_KNOWLEDGE) in graph


def test_entity_description_includes_incoming_triples(server: LiveServer) -> None:
    reply = get(server.url + "/id/focus-area/general-knowledge-reasoning", accept="text/turtle")
    graph = parse_rdf(reply.text, "turtle")

    assert (MMLU, NK.focusArea, GENERAL_KNOWLEDGE) in graph


def test_entity_html_response_varies_on_accept(server: LiveServer) -> None:
    reply = get(server.url + "/id/benchmark/mmlu")

    assert reply.headers["Content-Type"].startswith("text/html")
    assert "Accept" in reply.headers["Vary"]


@pytest.mark.parametrize(
    ("name", "media_type", "rdflib_format"),
    [
        ("turtle", "text/turtle", "turtle"),
        ("jsonld", "application/ld+json", "json-ld"),
        ("ntriples", "application/n-triples", "nt"),
        ("rdfxml", "application/rdf+xml", "xml"),
        ("ttl", "text/turtle", "turtle"),
        ("nt", "application/n-triples", "nt"),
        ("json-ld", "application/ld+json", "json-ld"),
        ("rdf", "application/rdf+xml", "xml"),
        ("xml", "application/rdf+xml", "xml"),
        # "+" unescaped in a query string arrives as a space.
        ("rdf+xml", "application/rdf+xml", "xml"),
    ],
)
def test_entity_format_parameter(
    server: LiveServer, name: str, media_type: str, rdflib_format: str
) -> None:
    reply = get(f"{server.url}/id/benchmark/mmlu?format={name}")
    graph = parse_rdf(reply.text, rdflib_format)

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(media_type)
    assert (MMLU, NK.focusArea, GENERAL_KNOWLEDGE) in graph


def test_entity_unknown_format_lists_own(server: LiveServer) -> None:
    reply = get(f"{server.url}/id/benchmark/mmlu?format=yaml", accept="application/json")
    message = json.loads(reply.text)["error"]["message"]

    assert reply.status == 400
    assert "'yaml'" in message
    assert "turtle" in message
    assert "nquads" not in message, "an entity page sends no quad format"


def test_link_target_without_triples_says_so(server: LiveServer) -> None:
    # The large hub mentions topics that nothing describes.
    target = page(server, "/id/topic/t0001")
    described = page(server, "/id/benchmark/mmlu")

    assert "The graph has no triples about this resource" in target.get_text()
    assert "The graph has no triples about this resource" not in described.get_text()


def test_graph_iri_page_links_triples_and_note(server: LiveServer) -> None:
    soup = page(server, "/resource?" + urllib.parse.urlencode({"iri": ID + "graph/ai"}))
    hrefs = [link["href"] for link in soup.select("main li a")]

    assert soup.h1.get_text(strip=True) == "A graph of the store"
    assert _store_graph(hrefs[0]) == ID + "graph/ai"
    assert "/id/note/ai" in hrefs


def test_graph_iri_sends_rdf_client_to_store(server: LiveServer) -> None:
    url = server.url + "/resource?" + urllib.parse.urlencode({"iri": ID + "graph/ai"})
    request = urllib.request.Request(url, headers={"Accept": "text/turtle"})
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as raised:
        opener.open(request, timeout=30)
    raised.value.close()

    assert raised.value.code == 303
    assert _store_graph(raised.value.headers["Location"]) == ID + "graph/ai"


def _store_graph(url: str) -> str:
    """Return the graph that a URL of /store names, failing for any other URL."""
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/store", url
    return urllib.parse.parse_qs(parts.query)["graph"][0]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_resource_route_serves_any_iri(server: LiveServer) -> None:
    iri = "https://notekg.example/id/note/ai#L7-L7"
    soup = page(server, "/resource?" + urllib.parse.urlencode({"iri": iri}))

    assert soup.select_one(".iri code").get_text() == iri


def test_unknown_iri_returns_404_with_suggestion(server: LiveServer) -> None:
    reply = get(server.url + "/id/benchmark/mmlu-2")
    suggestions = reply.html().select("ul.suggestions a")

    assert reply.status == 404
    assert "MMLU" in [link.get_text(strip=True) for link in suggestions]
    mmlu = next(link for link in suggestions if link.get_text(strip=True) == "MMLU")
    assert get(absolute(server, mmlu["href"])).status == 200


def test_unknown_iri_as_turtle_returns_404(server: LiveServer) -> None:
    reply = get(server.url + "/id/benchmark/mmlu-2", accept="text/turtle")

    assert reply.status == 404


def test_unknown_iri_as_json_returns_404(server: LiveServer) -> None:
    reply = get(server.url + "/id/benchmark/mmlu-2", accept="application/json")

    assert reply.status == 404
    assert "no triples about" in json.loads(reply.text)["error"]["message"]


def test_invalid_iri_returns_400(server: LiveServer) -> None:
    reply = get(
        server.url + "/resource?" + urllib.parse.urlencode({"iri": "https://x.example/a b>"})
    )

    assert reply.status == 400
    assert "invalid IRI" in reply.html().select_one(".error-message").get_text()


def test_non_ascii_text_renders(server: LiveServer) -> None:
    reply = get(server.url + "/id/concept/singularity")
    descriptions = [
        element.get_text(strip=True) for element in reply.html().select("p.description")
    ]

    assert "charset=utf-8" in reply.headers["Content-Type"].lower()
    assert descriptions == ["Énoncé with non-ASCII text: ∞"]


def test_entity_page_links_resolve(server: LiveServer) -> None:
    statuses = crawl_links(server, page(server, "/id/benchmark/mmlu"))

    failed = {url: status for url, status in statuses.items() if status >= 400}
    assert failed == {}


# Class pages


def test_class_page_lists_members(server: LiveServer) -> None:
    soup = page(server, "/class?" + urllib.parse.urlencode({"iri": str(NK.Benchmark)}))
    members = [link.get_text(strip=True) for link in soup.select("ol.members a")]

    assert members == ["HellaSwag", "MMLU"]


def test_class_page_shows_ontology_comment(server: LiveServer) -> None:
    soup = page(server, "/class?" + urllib.parse.urlencode({"iri": str(NK.Benchmark)}))

    assert soup.select_one("p.description").get_text(strip=True).startswith("A test suite")


def test_class_page_pages_by_hundred(server: LiveServer) -> None:
    soup = page(server, "/class?" + urllib.parse.urlencode({"iri": str(NK.Record)}))
    second = page(server, soup.select_one("a[rel=next]")["href"])
    second_members = [link.get_text(strip=True) for link in second.select("ol.members a")]

    assert len(soup.select("ol.members a")) == 100
    assert second_members == [f"Record {number:03d}" for number in range(101, RECORD_COUNT + 1)]


# Search


def test_search_ranks_exact_prefix_then_word(server: LiveServer) -> None:
    soup = page(server, "/search?q=reasoning")
    labels = [link.get_text(strip=True) for link in soup.select("ol.results a.result-label")]

    assert labels == [
        "Reasoning",
        "Zeta logic",
        "Reasoning depth",
        "Commonsense reasoning",
        "General knowledge & reasoning",
    ]


def test_search_ignores_case(server: LiveServer) -> None:
    soup = page(server, "/search?q=hellaSWAG")
    labels = [link.get_text(strip=True) for link in soup.select("ol.results a.result-label")]

    assert labels == ["HellaSwag"]


def test_search_matches_descriptions(server: LiveServer) -> None:
    soup = page(server, "/search?q=everyday+scenario")
    result = soup.select_one("ol.results li")

    assert result.select_one("a.result-label").get_text(strip=True) == "HellaSwag"
    assert result.select_one(".result-class").get_text(strip=True) == "(benchmark)"
    assert (
        result.select_one(".snippet").get_text(strip=True)
        == "Tests everyday scenario understanding"
    )


def test_search_filters_by_class(server: LiveServer) -> None:
    query = urllib.parse.urlencode({"q": "reasoning", "class": str(NK.FocusArea)})
    soup = page(server, "/search?" + query)
    labels = [link.get_text(strip=True) for link in soup.select("ol.results a.result-label")]

    assert labels == ["Commonsense reasoning", "General knowledge & reasoning"]


def test_class_filter_names_candidate_limit(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The two best matches of "reasoning" are not focus areas, and the next two are.
    monkeypatch.setattr(pages_module, "MAX_CLASS_FILTER_CANDIDATES", 2)
    query = urllib.parse.urlencode({"q": "REASONING", "class": str(NK.FocusArea)})
    text = page(server, "/search?" + query).get_text(" ", strip=True)

    assert "No member of this class is among the best 2 matches of “REASONING”" in text
    assert "Nothing matches" not in text


def test_search_pages_results_with_total(server: LiveServer) -> None:
    first = page(server, "/search?q=record")
    labels = [link.get_text(strip=True) for link in first.select("ol.results a.result-label")]

    assert first.select_one("p.result-count").get_text(strip=True) == (
        f"Results 1 to 100 of {RECORD_COUNT}."
    )
    assert labels == [f"Record {number:03d}" for number in range(1, 101)]

    second = page(server, first.select_one("a[rel=next]")["href"])
    rest = [link.get_text(strip=True) for link in second.select("ol.results a.result-label")]
    assert rest == [f"Record {number:03d}" for number in range(101, RECORD_COUNT + 1)]
    assert second.select_one("ol.results")["start"] == "101"
    assert second.select_one("a[rel=next]") is None


def test_search_class_options_count_members(server: LiveServer) -> None:
    soup = page(server, "/search?q=fan")
    options = [option.get_text(strip=True) for option in soup.select("#search-class option")]

    assert options[0] == "Any class"
    assert all(option.endswith(" in the graph)") for option in options[1:]), options


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server", ["Server (Alpha)", "Server (Beta)", "Servers"]),
        ("facts", ["Facts (Alpha)", "Facts (Beta)", "Shared facts"]),
    ],
)
def test_search_names_notes_of_shared_labels(
    server: LiveServer, text: str, expected: list[str]
) -> None:
    soup = page(server, f"/search?q={text}")
    labels = [link.get_text(strip=True) for link in soup.select("ol.results a.result-label")]

    assert labels == expected


def test_shared_label_links_name_notes(server: LiveServer) -> None:
    soup = page(server, "/id/topic/servers")

    assert link_texts(soup, "mentions") == ["Server (Alpha)", "Server (Beta)"]


def test_search_orders_numbers_by_value(server: LiveServer) -> None:
    soup = page(server, "/search?q=fan")
    labels = [link.get_text(strip=True) for link in soup.select("ol.results a.result-label")]

    assert labels == [f"Fan {number}" for number in range(1, TWO_LISTS_FANS + 1)]


def test_search_past_last_page(server: LiveServer) -> None:
    past = page(server, "/search?q=record&page=5")
    notice = past.select_one(".pager + .notice, .notice").get_text(" ", strip=True)

    assert notice.startswith("Page 5 is past the end of this list, which has 2 pages")
    assert past.select_one("a[rel=prev]")["href"].endswith("page=2")


def test_search_matches_keywords(server: LiveServer) -> None:
    soup = page(server, "/search?q=pgbouncer")
    links = [link["href"] for link in soup.select("ol.results a.result-label")]

    assert links == ["/id/note/hub"]


def test_search_json_returns_suggestions(server: LiveServer) -> None:
    reply = get(server.url + "/search.json?q=h100", accept="application/json")
    suggestions = json.loads(reply.body)

    assert reply.headers["Content-Type"].startswith("application/json")
    assert [item["label"] for item in suggestions] == ["H100", "H100 NVL"]
    assert suggestions[0] == {
        "iri": ID + "gpu/h100",
        "label": "H100",
        "class": "GPU",
        "url": "/id/gpu/h100",
    }


def test_search_json_returns_at_most_ten(server: LiveServer) -> None:
    suggestions = json.loads(get(server.url + "/search.json?q=record").body)

    assert len(suggestions) == 10


SEARCHES = ["h100", "record", "bench", "ai notes", "nvl", "no such words here"]


def _suggestions(server: LiveServer) -> list[object]:
    return [
        json.loads(get(server.url + "/search.json?" + urllib.parse.urlencode({"q": text})).body)
        for text in SEARCHES
    ]


def test_search_index_file_written_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dataset = tmp_path / "dataset.trig"
    write_dataset(dataset)
    database_url = f"sqlite:///{tmp_path / 'notekg.sqlite'}"
    fill_store_from_dataset(database_url, str(dataset))
    caplog.set_level(logging.INFO, logger="service.search_index")

    with serve_store(database_url, engine_files_from=10_000_000) as in_memory:
        expected = _suggestions(in_memory)
    with serve_store(database_url, engine_files_from=1) as first:
        from_file = _suggestions(first)
        files = list(tmp_path.glob("notekg.sqlite.oxigraph/generation-*/search.sqlite"))
        written = files[0].stat().st_mtime_ns
        # The second app over the same store stands for another worker process.
        with serve_store(database_url, engine_files_from=1) as second:
            from_second = _suggestions(second)
        still_open = _open_files()

    assert any(expected)
    assert from_file == expected
    assert from_second == expected
    assert len(files) == 1
    assert files[0].stat().st_mtime_ns == written
    # A file kept open would outlive its generation's folder, also in forked query processes.
    assert str(files[0]) not in still_open
    messages = [record.getMessage() for record in caplog.records]
    assert len([message for message in messages if message.startswith("wrote the search")]) == 1


def _open_files() -> set[str]:
    """Return the paths of the files that this process has open (Linux)."""
    paths = set()
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            paths.add(os.readlink(f"/proc/self/fd/{descriptor}"))
        except OSError:  # closed meanwhile
            continue
    return paths


def test_unwritable_search_index_stays_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = tmp_path / "dataset.trig"
    write_dataset(dataset)
    database_url = f"sqlite:///{tmp_path / 'notekg.sqlite'}"
    fill_store_from_dataset(database_url, str(dataset))
    # The tests run as root, which may write into a read-only folder. So the index file goes
    # into a folder that does not exist.
    missing = tmp_path / "missing" / "search.sqlite"
    monkeypatch.setattr(OxigraphEngine, "search_index_file", property(lambda engine: missing))

    with serve_store(database_url, engine_files_from=10_000_000) as in_memory:
        expected = _suggestions(in_memory)
    with serve_store(database_url, engine_files_from=1) as server:
        found = _suggestions(server)

    assert found == expected
    assert any(
        record.getMessage().startswith(f"cannot write the search index {missing}")
        for record in caplog.records
    )


# Note view


def test_note_view_highlights_line_range(server: LiveServer) -> None:
    query = urllib.parse.urlencode({"iri": ID + "note/ai", "lines": "10-12"})
    soup = page(server, "/note?" + query)

    assert [row["id"] for row in soup.select("tr.highlighted")] == ["L10", "L11", "L12"]
    assert soup.select_one("#L1 .line").get_text() == "Skip to content"


def test_note_view_lists_resources_from_note(server: LiveServer) -> None:
    soup = page(server, "/note?" + urllib.parse.urlencode({"iri": ID + "note/ai"}))
    resources = [item.a.get_text(strip=True) for item in soup.select("ul.note-resources li")]

    assert resources == ["MMLU", "Singularity"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("9-3", "it ends before it starts; write 3-9"),
        ("0-3", "lines are numbered from 1, as in 1-3"),
        ("9000-9999", "9000-9999 starts after the last line of the note"),
    ],
)
def test_note_view_rejects_line_range(server: LiveServer, lines: str, message: str) -> None:
    reply = get(
        server.url + "/note?" + urllib.parse.urlencode({"iri": ID + "note/ai", "lines": lines})
    )

    assert reply.status == 400
    assert message in reply.text


def test_note_view_of_other_entity_names_its_page(server: LiveServer) -> None:
    reply = get(server.url + "/note?" + urllib.parse.urlencode({"iri": ID + "benchmark/mmlu"}))

    assert reply.status == 404
    assert "is not a note with text; its page is /id/benchmark/mmlu" in reply.text
    assert "no triples about" not in reply.text


def test_note_view_clips_range_end(server: LiveServer) -> None:
    whole = page(server, "/note?" + urllib.parse.urlencode({"iri": ID + "note/ai"}))
    last = len(whole.select("table.note-text tr"))
    query = urllib.parse.urlencode({"iri": ID + "note/ai", "lines": f"{last}-{last + 50}"})
    soup = page(server, "/note?" + query)

    assert [row["id"] for row in soup.select("tr.highlighted")] == [f"L{last}"]


# Every page


PAGES = [
    "/",
    "/id/benchmark/mmlu",
    "/class?" + urllib.parse.urlencode({"iri": str(NK.Benchmark)}),
    "/search?q=reasoning",
    "/note?" + urllib.parse.urlencode({"iri": ID + "note/ai", "lines": "7-7"}),
    "/id/benchmark/mmlu-2",
]


@pytest.mark.parametrize("path", PAGES)
def test_page_has_title_and_one_h1(server: LiveServer, path: str) -> None:
    soup = get(server.url + path).html()

    assert soup.title.get_text(strip=True).endswith("notekg")
    assert len(soup.find_all("h1")) == 1


@pytest.mark.parametrize("path", PAGES)
def test_page_form_controls_have_labels(server: LiveServer, path: str) -> None:
    soup = get(server.url + path).html()
    controls = soup.select("input:not([type=submit]):not([type=hidden]), select, textarea")
    labelled = {label.get("for") for label in soup.find_all("label")}

    assert controls
    for control in controls:
        assert control.get("id") in labelled, f"{control} has no label"


def test_search_index_rebuilt_for_new_generation(tmp_path: Path) -> None:
    from service.search_index import SearchIndexCache

    built: list[int] = []

    class Engine:
        generation = 1
        version = "generation-1-a"

    def build(engine: object) -> object:
        built.append(Engine.generation)
        return object()

    cache = SearchIndexCache()
    first = cache.get(Engine(), build)  # type: ignore[arg-type]
    again = cache.get(Engine(), build)  # type: ignore[arg-type]
    Engine.generation = 2
    Engine.version = "generation-2-a"
    cache.get(Engine(), build)  # type: ignore[arg-type]

    assert first is again
    assert built == [1, 2]


@pytest.mark.parametrize("name", ["favicon.svg", "vendor/yasgui/yasgui.min.js"])
def test_static_file_sent_whole(server: LiveServer, name: str) -> None:
    reply = get(server.url + "/static/" + name, accept="*/*")
    expected = (Path(__file__).resolve().parent.parent / "service" / "static" / name).read_bytes()

    assert reply.status == 200
    assert reply.body == expected
    assert reply.headers["Content-Length"] == str(len(expected))
    assert "ETag" in reply.headers


def test_static_route_sends_from_memory(tmp_path: Path) -> None:
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'store.sqlite'}"})
    try:
        endpoints = [rule.endpoint for rule in app.url_map.iter_rules() if "static" in rule.rule]
        with app.test_client() as client:
            reply = client.get("/static/favicon.svg")
            etag = reply.headers["ETag"]
            not_modified = client.get("/static/favicon.svg", headers={"If-None-Match": etag})

        assert endpoints == ["pages.static"]
        assert reply.status_code == 200
        assert not reply.direct_passthrough
        assert not_modified.status_code == 304
    finally:
        holder(app).close()
