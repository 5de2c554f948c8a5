"""Test the views, indexes, query page and entity-page additions without a browser.

Most tests use the real ingest of data/notes. The IRI tests use a small fixture graph with a
non-ASCII IRI and an IRI with a fragment.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from servers import (
    LiveServer,
    fill_store_from_dataset,
    send,
    serve_bundled_notes,
    serve_notes,
    serve_store,
)

from service.views.neighbourhood import NeighbourLink, lay_out, merge_links, shorten
from service.views.query_ui import query_form

ROOT = Path(__file__).resolve().parent.parent
ID = "https://notekg.example/id/"

ODD_IRIS_DATASET = """\
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix nk: <https://notekg.example/ontology#> .

<https://notekg.example/id/graph/odd> {
  <https://notekg.example/id/concept/énoncé> a skos:Concept ;
      skos:prefLabel "Énoncé" ;
      skos:related <https://notekg.example/id/x#frag> .
  <https://notekg.example/id/x#frag> a skos:Concept ;
      skos:prefLabel "Fragment concept" .
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_bundled_notes(tmp_path_factory.mktemp("views")) as live:
        yield live


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("odd-iris")
    dataset = directory / "odd.trig"
    dataset.write_text(ODD_IRIS_DATASET, encoding="utf-8")
    database_url = f"sqlite:///{directory / 'notekg.sqlite'}"
    fill_store_from_dataset(database_url, str(dataset))
    with serve_store(database_url) as live:
        yield live


def page(server: LiveServer, path: str, status: int = 200) -> BeautifulSoup:
    reply = send(server.url + path, headers={"Accept": "text/html"})
    assert reply.status == status, f"GET {path} returned {reply.status}: {reply.text[:300]}"
    return BeautifulSoup(reply.text, "html.parser")


def query_of(href: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["query"][0]


# Views


def test_benchmarks_view_groups_by_focus_area(server: LiveServer) -> None:
    soup = page(server, "/views/benchmarks")
    headings = [h2.get_text(" ", strip=True) for h2 in soup.select("section.view-group h2")]

    assert len(headings) == 17
    assert "General knowledge & reasoning (1)" in headings


def test_benchmarks_view_shows_metric_and_scale(server: LiveServer) -> None:
    soup = page(server, "/views/benchmarks")
    row = next(tr for tr in soup.select("table.benchmarks tbody tr") if tr.a.get_text() == "MMLU")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]

    assert cells == ["MMLU", "Accuracy", "Accuracy (%)", "%"]


def test_benchmarks_view_shows_its_query(server: LiveServer) -> None:
    soup = page(server, "/views/benchmarks")
    details = soup.select_one("details.view-query")
    link = details.find("a")

    assert "nk:focusArea" in details.pre.get_text()
    assert urllib.parse.urlsplit(link["href"]).path == "/query"
    assert query_of(link["href"]) == details.pre.get_text()


def test_view_query_runs_at_endpoint(server: LiveServer) -> None:
    soup = page(server, "/views/gpus")
    query = soup.select_one("details.view-query pre").get_text()
    reply = send(
        server.url + "/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"},
    )

    assert reply.status == 200
    assert len(reply.json()["results"]["bindings"]) > 0


def test_gpu_view_has_variant_columns(server: LiveServer) -> None:
    soup = page(server, "/views/gpus")
    columns = [th.get_text(strip=True) for th in soup.select("table.comparison thead th")]

    assert columns == ["Property", "H100 NVL", "H100 PCIe", "H100 SXM"]


def test_gpu_view_writes_quantities(server: LiveServer) -> None:
    soup = page(server, "/views/gpus")
    row = next(
        tr
        for tr in soup.select("table.comparison tbody tr")
        if tr.th.get_text(strip=True) == "memory size"
    )

    assert [td.get_text(strip=True) for td in row.find_all("td")] == ["192 GB", "80 GB", "80 GB"]


def test_home_links_views_and_indexes(server: LiveServer) -> None:
    soup = page(server, "/")
    hrefs = {link["href"] for link in soup.select("main a")}

    for path in ("/views/benchmarks", "/views/gpus", "/classes", "/properties", "/notes"):
        assert path in hrefs


def test_header_links_indexes(server: LiveServer) -> None:
    soup = page(server, "/views")
    hrefs = [link["href"] for link in soup.select("header nav a")]

    assert hrefs == ["/", "/classes", "/properties", "/notes", "/views", "/query", "/ontology"]


# Indexes


def test_classes_index_counts_members(server: LiveServer) -> None:
    soup = page(server, "/classes")
    counts = {
        tr.td.get_text(strip=True): tr.select_one("td.number").get_text(strip=True)
        for tr in soup.select("table.class-index tbody tr")
    }

    assert counts["benchmark"] == "17"
    assert counts["GPU variant"] == "3"


def test_properties_index_counts_triples(server: LiveServer) -> None:
    soup = page(server, "/properties")
    counts = {
        tr.td.get_text(strip=True): tr.select_one("td.number").get_text(strip=True)
        for tr in soup.select("table.property-index tbody tr")
    }

    assert counts["focus area"] == "17"
    assert counts["memory size"] == "3"


def test_notes_index_lists_sections(server: LiveServer) -> None:
    soup = page(server, "/notes")
    sections = soup.select("ul.note-sections li")

    starts = [
        int(a["href"].split("lines=")[1].split("-")[0])
        for a in soup.select("ul.note-sections li a[href*='lines=']")
    ]

    assert len(sections) == 7
    assert sections[0].a.get_text(strip=True) == "NN Memory"
    assert starts == sorted(starts)


def test_notes_index_links_section_lines(server: LiveServer) -> None:
    soup = page(server, "/notes")
    lines_link = soup.select("ul.note-sections li")[0].find_all("a")[1]
    note_view = page(server, lines_link["href"])

    assert "lines=" in lines_link["href"]
    assert len(note_view.select("tr.highlighted")) > 0


# Query page


def test_query_page_has_eight_examples(server: LiveServer) -> None:
    soup = page(server, "/query")

    assert len(soup.select("ul.query-examples a")) >= 8


def test_query_examples_all_run(server: LiveServer) -> None:
    soup = page(server, "/query")
    for link in soup.select("ul.query-examples a"):
        query = link["data-query"]
        reply = send(
            server.url + "/sparql?" + urllib.parse.urlencode({"query": query}),
            headers={"Accept": "application/sparql-results+json, text/turtle"},
        )
        assert reply.status == 200, f"{link.get_text()}: {reply.text[:300]}"


def test_query_examples_return_rows(server: LiveServer) -> None:
    soup = page(server, "/query")
    for link in soup.select("ul.query-examples a"):
        query = link["data-query"]
        if query_form(query) in ("CONSTRUCT", "DESCRIBE"):
            continue
        reply = send(
            server.url + "/sparql?" + urllib.parse.urlencode({"query": query, "format": "json"})
        )
        assert reply.json()["results"]["bindings"], f"{link.get_text()} returned no rows"


def test_query_page_plain_form_posts_to_sparql(server: LiveServer) -> None:
    soup = page(server, "/query")
    form = soup.select_one("#plain-query-form")

    assert form["action"] == "/sparql"
    assert form["method"] == "post"
    assert form.find("textarea", attrs={"name": "query"}) is not None


def test_query_page_reopens_given_query(server: LiveServer) -> None:
    query = "ASK { ?s ?p ?o }"
    soup = page(server, "/query?" + urllib.parse.urlencode({"query": query}))

    assert soup.select_one("#plain-query").get_text() == query
    assert query_of(soup.select_one("#reopen-link")["href"]) == query


def test_query_page_download_formats(server: LiveServer) -> None:
    soup = page(server, "/query")
    formats = [link["data-format"] for link in soup.select("#download-links a")]

    assert formats == ["json", "xml", "csv", "tsv"]


def test_query_page_loads_only_local_scripts(server: LiveServer) -> None:
    soup = page(server, "/query")
    sources = [script["src"] for script in soup.select("script[src]")]
    sources += [link["href"] for link in soup.select("link[rel=stylesheet]")]

    assert all(source.startswith("/static/") for source in sources)
    assert "/static/vendor/yasgui/yasgui.min.js" in sources


def test_vendored_yasgui_is_served(server: LiveServer) -> None:
    reply = send(server.url + "/static/vendor/yasgui/yasgui.min.js")

    assert reply.status == 200
    assert len(reply.body) > 500_000


def test_query_form_detection() -> None:
    construct = "PREFIX a: <http://x/select#>\nCONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert query_form(construct) == "CONSTRUCT"
    assert query_form("# construct\nSELECT * WHERE { ?s ?p ?o }") == "SELECT"
    assert query_form("describe <http://x/y>") == "DESCRIBE"
    assert query_form("PREFIX a: <http://x/construct#>\nask { ?s ?p 'select' }") == "ASK"
    assert query_form("# no query yet") == "SELECT"


def test_ask_query_downloads(server: LiveServer) -> None:
    soup = page(server, "/query?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}))
    links = soup.select("#download-links a")

    assert [link["data-format"] for link in links] == ["json", "xml"]
    assert all(send(server.url + link["href"]).status == 200 for link in links)


# Entity pages


def test_entity_page_draws_neighbourhood(server: LiveServer) -> None:
    soup = page(server, "/id/focus-area/general-knowledge-reasoning")
    svg = soup.select_one("svg.neighbourhood-svg")
    links = {a["href"] for a in svg.find_all("a")}

    assert "/id/benchmark/mmlu" in links
    assert "edge-in" in " ".join(" ".join(line["class"]) for line in svg.find_all("line"))


def test_neighbourhood_writes_quantities(server: LiveServer) -> None:
    soup = page(server, "/id/gpu-variant/h100-sxm")
    labels = [text.get_text() for text in soup.select("svg.neighbourhood-svg a text")]

    assert "80 GB" in labels


def test_entity_page_writes_quantities(server: LiveServer) -> None:
    soup = page(server, "/id/gpu-variant/h100-nvl")
    values = [dd.get_text(strip=True) for dd in soup.select("dl.properties dd.link")]

    assert "192 GB" in values


def test_entity_page_embeds_jsonld(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    script = soup.find("script", attrs={"type": "application/ld+json"})

    assert ID + "benchmark/mmlu" in script.get_text()


def test_entity_page_provenance_highlights_lines(server: LiveServer) -> None:
    soup = page(server, "/id/benchmark/mmlu")
    source = soup.select_one("a.source")
    note_view = page(server, source["href"])

    assert "lines=32-32" in source["href"]
    assert "MMLU" in note_view.select_one("tr.highlighted").get_text()


def test_neighbourhood_layout_caps_links() -> None:
    links = [
        NeighbourLink(f"{ID}n{index}", f"Node {index}", f"/id/n{index}", "related", True)
        for index in range(20)
    ]
    picture = lay_out("Centre", links, 35)

    assert len(picture.nodes) == 20
    assert picture.hidden_count == 15


def test_neighbourhood_merges_parallel_links() -> None:
    links = [
        NeighbourLink(ID + "a", "A", "/id/a", "metric", True),
        NeighbourLink(ID + "a", "A", "/id/a", "mentions", True),
        NeighbourLink(ID + "a", "A", "/id/a", "mentions", False),
    ]
    merged = merge_links(links)

    assert [link.property_label for link in merged] == ["metric, mentions", "mentions"]


def test_neighbourhood_shortens_long_labels() -> None:
    assert shorten("Massive Multitask Language Understanding", 12) == "Massive Mul…"


# Non-ASCII and fragment IRIs, and the 404 page


def test_non_ascii_iri_page(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/id/concept/" + urllib.parse.quote("énoncé"))

    assert soup.h1.get_text(strip=True) == "Énoncé"


def test_fragment_iri_link_opens_page(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/id/concept/" + urllib.parse.quote("énoncé"))
    link = next(a for a in soup.select("dl.properties a") if a.get_text() == "Fragment concept")
    target = page(odd_server, link["href"])

    assert link["href"].startswith("/resource?iri=")
    assert target.h1.get_text(strip=True) == "Fragment concept"


def test_fragment_iri_incoming_link(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/resource?iri=" + urllib.parse.quote(ID + "x#frag", safe=""))
    incoming = [a.get_text() for a in soup.select("#incoming a")]

    assert "Énoncé" in incoming


def test_unknown_iri_suggests_labels(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/id/concept/enonce-fragment", status=404)
    suggestions = [a.get_text() for a in soup.select("ul.suggestions a")]

    assert "Fragment concept" in suggestions


def test_home_hides_views_without_their_classes(odd_server: LiveServer) -> None:
    reply = send(f"{odd_server.url}/", headers={"Accept": "text/html"})
    links = {
        anchor["href"] for anchor in BeautifulSoup(reply.body, "html.parser").select("a[href]")
    }
    assert "/views/benchmarks" not in links
    assert "/views/gpus" not in links


def test_views_index_hides_views_without_their_classes(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/views")
    links = {anchor["href"] for anchor in soup.select("main a[href], article a[href]")}

    assert "/views/benchmarks" not in links
    assert "/views/gpus" not in links
    assert "has none of either" in soup.get_text(" ", strip=True)


def test_views_index_lists_views_of_bundled_notes(server: LiveServer) -> None:
    links = {anchor["href"] for anchor in page(server, "/views").select("ul.view-list a")}

    assert links == {"/views/benchmarks", "/views/gpus"}


def test_query_page_offers_examples_that_fit_the_graph(odd_server: LiveServer) -> None:
    soup = page(odd_server, "/query")
    titles = [link.get_text(strip=True) for link in soup.select("ul.query-examples a")]

    assert "Classes with member counts" in titles
    assert not any("MMLU" in title or "Benchmarks" in title for title in titles), titles
    assert "GPU variants by memory size" not in titles


def test_home_links_views_of_bundled_notes(server: LiveServer) -> None:
    reply = send(f"{server.url}/", headers={"Accept": "text/html"})
    links = {
        anchor["href"] for anchor in BeautifulSoup(reply.body, "html.parser").select("a[href]")
    }
    assert "/views/benchmarks" in links
    assert "/views/gpus" in links


# Paging of the notes index


@pytest.fixture
def three_notes(tmp_path: Path) -> Iterator[LiveServer]:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("c", "a", "b"):
        (notes / f"{name}.md").write_text(f"# Note {name}\n\n## Part\n\nText.\n", encoding="utf-8")
    with serve_notes(tmp_path, notes) as live:
        yield live


def test_notes_index_pages_by_path(
    three_notes: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.views import indexes

    monkeypatch.setattr(indexes, "NOTES_PAGE_SIZE", 2)
    first = page(three_notes, "/notes")
    second = page(three_notes, first.select_one("a[rel=next]")["href"])
    beyond = page(three_notes, "/notes?page=3")

    def paths(soup: BeautifulSoup) -> list[str]:
        return [code.get_text() for code in soup.select("section.note-entry code")]

    assert paths(first) == ["a.md", "b.md"]
    assert "Notes 1 to 2 of 3" in first.get_text()
    assert first.select_one("a[rel=prev]") is None
    assert paths(second) == ["c.md"]
    assert second.select_one("a[rel=next]") is None
    assert second.select_one("a[rel=prev]")["href"] == "/notes?page=1"
    assert "past the last note" in beyond.get_text()


def test_notes_index_labels_top_section(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "redis.md").write_text(
        "# Redis\n\nAn in-memory store.\n\n## Persistence\n\nSnapshots.\n", encoding="utf-8"
    )
    with serve_notes(tmp_path, notes) as live:
        soup = page(live, "/notes")

    labels = [li.a.get_text(strip=True) for li in soup.select("ul.note-sections li")]

    # The text before the first heading is a section labelled with the note's title.
    assert labels == ["Redis", "Persistence"]


def test_notes_index_rejects_bad_page(three_notes: LiveServer) -> None:
    reply = send(f"{three_notes.url}/notes?page=0")

    assert reply.status == 400
    assert "invalid page number" in reply.text


# The benchmarks view of a graph with more benchmarks than a page and the row limit


def _many_benchmarks_dataset() -> tuple[str, list[str]]:
    """Return a TriG dataset of 450 benchmarks and 120 notes, and the benchmark names in order.

    Focus areas sort by label whatever its case, benchmarks without one come last, and one
    benchmark in two focus areas is listed in each.
    """
    areas = {"alpha": "Alpha area", "beta": "beta area"}
    lines = [
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix nk: <https://notekg.example/ontology#> .",
        f"<{ID}graph/many> {{",
        *(f'<{ID}focus-area/{key}> skos:prefLabel "{label}" .' for key, label in areas.items()),
        f'<{ID}metric/accuracy> skos:prefLabel "Accuracy" .',
    ]
    by_area: dict[str | None, list[str]] = {"alpha": [], "beta": [], None: []}
    for number in range(450):
        # Names whose order differs from the order of the numbers.
        name = f"Bench {(number * 7919) % 450:03d}"
        area = ("alpha", "beta", None)[number % 3]
        statements = [
            "a nk:Benchmark",
            f'skos:prefLabel "{name}"',
            f"nk:metric <{ID}metric/accuracy>",
        ]
        if area is not None:
            statements.append(f"nk:focusArea <{ID}focus-area/{area}>")
        if number == 1:
            statements.append(f"nk:focusArea <{ID}focus-area/alpha>")
            by_area["alpha"].append(name)
        lines.append(f"<{ID}benchmark/b{number}> " + " ; ".join(statements) + " .")
        by_area[area].append(name)
    # GPU variants for more than two pages of the GPU view.
    for number in range(30):
        name = f"GPU {29 - number:02d}"
        lines.append(
            f'<{ID}gpu-variant/v{number:02d}> a nk:GPUVariant ; skos:prefLabel "{name}" ;'
            f' nk:releaseYear "{2000 + number}" .'
        )
    # More notes than the row limit too, for the notes index.
    for number in range(120):
        lines.append(f'<{ID}note/n{number:03d}> a nk:Note ; nk:filePath "notes/n{number:03d}.md" .')
    lines.append("}")
    order = [name for area in ("alpha", "beta", None) for name in sorted(by_area[area])]
    return "\n".join(lines) + "\n", order


@pytest.fixture(scope="module")
def many_benchmarks(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, list[str]]]:
    directory = tmp_path_factory.mktemp("many-benchmarks")
    dataset, order = _many_benchmarks_dataset()
    (directory / "many.trig").write_text(dataset, encoding="utf-8")
    database_url = f"sqlite:///{directory / 'notekg.sqlite'}"
    fill_store_from_dataset(database_url, str(directory / "many.trig"))
    # A row limit below the number of benchmarks: the view must still list every one.
    with serve_store(database_url, max_rows=50) as live:
        yield live, order


def test_benchmarks_view_counts_every_benchmark(
    many_benchmarks: tuple[LiveServer, list[str]],
) -> None:
    server, _ = many_benchmarks
    summary = page(server, "/views/benchmarks").select_one("h1 + p").get_text(" ", strip=True)

    assert summary == "451 benchmarks in 3 groups; this page shows 1 to 200."


def test_benchmark_pages_keep_view_order(
    many_benchmarks: tuple[LiveServer, list[str]],
) -> None:
    server, order = many_benchmarks
    names: list[str] = []
    path: str | None = "/views/benchmarks"
    pages = 0
    while path is not None:
        soup = page(server, path)
        rows = soup.select("table.benchmarks tbody tr")
        assert len(rows) <= 200
        names.extend(row.td.get_text(" ", strip=True) for row in rows)
        next_link = soup.select_one('nav.pager a[rel="next"]')
        path = next_link["href"] if next_link else None
        pages += 1

    assert pages == 3
    assert names == order


def test_benchmark_second_page_groups_metrics(
    many_benchmarks: tuple[LiveServer, list[str]],
) -> None:
    server, _ = many_benchmarks
    soup = page(server, "/views/benchmarks?page=2")
    headings = [h2.get_text(" ", strip=True) for h2 in soup.select("section.view-group h2")]
    first_row = soup.select_one("table.benchmarks tbody tr")

    # Page 1 has the 151 entries of "Alpha area" and 49 of the 150 of "beta area".
    assert headings == ["beta area (150, continued)", "No focus area (150)"]
    assert [td.get_text(" ", strip=True) for td in first_row.find_all("td")][1] == "Accuracy"
    assert soup.select_one('nav.pager a[rel="prev"]')["href"].endswith("page=1")
    assert soup.select_one('nav.pager a[rel="next"]')["href"].endswith("page=3")


def test_benchmarks_past_last_page(many_benchmarks: tuple[LiveServer, list[str]]) -> None:
    server, _ = many_benchmarks
    soup = page(server, "/views/benchmarks?page=4")
    notice = soup.select_one(".notice").get_text(" ", strip=True)

    assert notice.startswith("Page 4 is past the end of this list, which has 3 pages")
    assert soup.select_one('nav.pager a[rel="prev"]')["href"].endswith("page=3")
    assert soup.select("table.benchmarks") == []


def test_notes_index_ignores_row_limit(
    many_benchmarks: tuple[LiveServer, list[str]],
) -> None:
    server, _ = many_benchmarks
    soup = page(server, "/notes")
    paths = [code.get_text() for code in soup.select("section.note-entry code")]

    assert paths == [f"notes/n{number:03d}.md" for number in range(120)]


def test_gpu_view_pages_variants_by_name(many_benchmarks: tuple[LiveServer, list[str]]) -> None:
    server, _ = many_benchmarks
    first = page(server, "/views/gpus")
    last = page(server, "/views/gpus?page=3")

    def columns(soup: BeautifulSoup) -> list[str]:
        return [th.get_text(strip=True) for th in soup.select("table.comparison thead th")][1:]

    assert columns(first) == [f"GPU {number:02d}" for number in range(12)]
    assert first.select_one("table.comparison caption").get_text(" ", strip=True) == (
        "GPU variants 1 to 12 of 30, by name, one per column"
    )
    assert columns(last) == [f"GPU {number:02d}" for number in range(24, 30)]
    assert last.select_one('nav.pager a[rel="next"]') is None
    past = page(server, "/views/gpus?page=5").select_one(".notice").get_text(" ", strip=True)
    assert past.startswith("Page 5 is past the end of this list, which has 3 pages")


def test_large_class_pages_follow_iri_order(
    many_benchmarks: tuple[LiveServer, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service import pages

    server, order = many_benchmarks
    monkeypatch.setattr(pages, "MAX_LABEL_ORDERED_MEMBERS", 100)
    path: str | None = "/class?" + urllib.parse.urlencode(
        {"iri": "https://notekg.example/ontology#Benchmark"}
    )
    pages_seen: list[list[tuple[str, str]]] = []
    while path is not None:
        soup = page(server, path)
        links = soup.select("ol.members a")
        pages_seen.append([(link["href"], link.get_text(strip=True)) for link in links])
        next_link = soup.select_one("a[rel=next]")
        path = next_link["href"] if next_link else None

    iris = sorted(f"{ID}benchmark/b{number}" for number in range(450))
    assert (
        "more than 100 members"
        in page(
            server,
            "/class?"
            + urllib.parse.urlencode({"iri": "https://notekg.example/ontology#Benchmark"}),
        )
        .select_one("p.list-order")
        .get_text()
    )
    assert [len(members) for members in pages_seen] == [100, 100, 100, 100, 50]
    for number, members in enumerate(pages_seen):
        hrefs = {urllib.parse.unquote(href) for href, _ in members}
        expected = iris[number * 100 : (number + 1) * 100]
        assert hrefs == {"/" + iri.removeprefix("https://notekg.example/") for iri in expected}
        assert [label for _, label in members] == sorted(label for _, label in members)
    assert sorted(label for members in pages_seen for _, label in members) == sorted(set(order))


def test_picture_of_large_class_draws_unordered_links(
    many_benchmarks: tuple[LiveServer, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.views import neighbourhood

    server, _ = many_benchmarks
    monkeypatch.setattr(neighbourhood, "MAX_ORDERED_INCOMING", 100)
    soup = page(
        server,
        "/resource?" + urllib.parse.urlencode({"iri": "https://notekg.example/ontology#Benchmark"}),
    )
    drawn = soup.select("figure.neighbourhood line.edge-in")

    assert len(drawn) == neighbourhood.MAX_LINKS


def test_incoming_neighbours_orders_only_when_asked() -> None:
    from service import browse_queries

    ordered = browse_queries.incoming_neighbours(f"{ID}metric/score", 20)
    unordered = browse_queries.incoming_neighbours(f"{ID}metric/score", 20, first_by_iri=False)

    assert "ORDER BY ?property ?resource LIMIT 20" in ordered
    assert "ORDER BY ?property ?resource LIMIT" not in unordered
    assert "LIMIT 20" in unordered


def test_class_page_past_last_member(many_benchmarks: tuple[LiveServer, list[str]]) -> None:
    server, _ = many_benchmarks
    iri = "https://notekg.example/ontology#Benchmark"
    soup = page(server, "/class?" + urllib.parse.urlencode({"iri": iri, "page": 9}))

    assert "This page is past the last member." in soup.get_text()
    assert "No resource in the graph has this class" not in soup.get_text()


def test_notes_index_past_last_page(many_benchmarks: tuple[LiveServer, list[str]]) -> None:
    server, _ = many_benchmarks
    text = page(server, "/notes?page=2").get_text()

    assert "This page is past the last note." in text
    assert "Notes 201 to" not in text
