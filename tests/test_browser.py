"""Drive Debian's chromium through the pages, over the real app serving the AI notes.

The server runs on 127.0.0.1 over a SQLite store filled by the real ingest of data/notes
with data/mappings/ai.yaml. Every page is checked to request nothing from other hosts.
Screenshots of the home, entity and query pages go to tests/screenshots/.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from servers import LiveServer, serve_bundled_notes

ROOT = Path(__file__).resolve().parent.parent
AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_RULES = ["color-contrast", "label", "image-alt", "document-title", "html-has-lang"]
PHONE = {"width": 375, "height": 800}
FIVE_TRIPLES = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_bundled_notes(tmp_path_factory.mktemp("browser")) as live:
        yield live


@pytest.fixture
def page(browser_page: Page, server: LiveServer) -> Iterator[Page]:
    """The conftest page, with every request to a host other than the server blocked."""
    blocked = _block_other_hosts(browser_page, server)
    yield browser_page
    assert blocked == [], f"the page requested other hosts: {blocked}"


@pytest.fixture
def script_free_page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A page in a context with JavaScript turned off."""
    context = browser.new_context(java_script_enabled=False)
    try:
        new_page = context.new_page()
        blocked = _block_other_hosts(new_page, server)
        yield new_page
        assert blocked == [], f"the page requested other hosts: {blocked}"
    finally:
        context.close()


def _block_other_hosts(page: Page, server: LiveServer) -> list[str]:
    blocked: list[str] = []
    origin = urllib.parse.urlsplit(server.url).netloc

    def route(route: object) -> None:
        request_url = route.request.url  # type: ignore[attr-defined]
        parts = urllib.parse.urlsplit(request_url)
        if parts.scheme in ("http", "https") and parts.netloc != origin:
            blocked.append(request_url)
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]

    page.route("**/*", route)
    return blocked


def run_axe(page: Page) -> list[dict[str, object]]:
    """Inject axe-core into the page and return the violations of AXE_RULES."""
    page.add_script_tag(path=str(AXE_PATH))
    result = page.evaluate(
        "rules => axe.run(document, {runOnly: {type: 'rule', values: rules}})", AXE_RULES
    )
    return [
        {"id": violation["id"], "nodes": [node["target"] for node in violation["nodes"]]}
        for violation in result["violations"]
    ]


# Following links from the home page to the note view


def test_browse_home_to_note_view(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_role("link", name="benchmark", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("benchmark")

    page.get_by_role("link", name="MMLU", exact=True).click()
    expect(page.locator("h1")).to_have_text("MMLU")

    page.locator("dl.properties").get_by_role(
        "link", name="General knowledge & reasoning"
    ).first.click()
    expect(page.locator("h1")).to_have_text("General knowledge & reasoning")

    page.locator("#incoming").get_by_role("link", name="MMLU", exact=True).click()
    expect(page.locator("h1")).to_have_text("MMLU")

    page.locator("a.source").first.click()
    assert "lines=" in page.url
    expect(page.locator("tr.highlighted")).to_have_count(1)
    expect(page.locator("tr.highlighted")).to_contain_text("MMLU")


def test_entity_page_draws_neighbourhood(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/id/benchmark/mmlu")
    svg = page.locator("svg.neighbourhood-svg")

    expect(svg).to_be_visible()
    expect(svg.locator("a")).to_have_count(3)
    svg.locator("a", has_text="Accuracy").click()
    expect(page.locator("h1")).to_have_text("Accuracy")


# Search suggestions


def test_search_suggestions_open_entity(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.locator("#site-search").press_sequentially("mml", delay=30)
    options = page.locator("#site-search-suggestions [role=option]")

    expect(options.first).to_contain_text("MMLU")
    page.locator("#site-search").press("ArrowDown")
    page.locator("#site-search").press("Enter")
    expect(page.locator("h1")).to_have_text("MMLU")


def test_search_without_javascript_submits_form(script_free_page: Page, server: LiveServer) -> None:
    script_free_page.goto(server.url + "/")
    script_free_page.locator("#site-search").fill("MMLU")
    script_free_page.locator("#site-search").press("Enter")

    expect(script_free_page.locator("h1")).to_contain_text("Search results")
    expect(script_free_page.locator("ol.results a.result-label").first).to_have_text("MMLU")


# Query page


def test_query_example_opens_result_page(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/query")
    expect(page.locator(".yasgui .CodeMirror")).to_be_visible()
    expect(page.locator("#plain-query-form")).to_be_hidden()

    page.get_by_role("link", name="Benchmarks that share a metric with MMLU (two hops)").click()
    result_links = page.locator(".yasr a.iri")
    expect(result_links.first).to_be_visible()

    first_link = result_links.first
    assert first_link.get_attribute("href").startswith("/id/")
    first_link.click()
    expect(page.locator("article.entity h1")).to_be_visible()


def test_query_grouped_counts_draw_chart(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/query")
    page.get_by_role("link", name="Benchmarks per focus area").click()

    expect(page.locator("#results-chart svg rect.bar").first).to_be_visible()
    assert page.locator("#results-chart svg rect.bar").count() == 17


def test_query_links_follow_editor(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/query")
    page.get_by_role("link", name="The description of MMLU (CONSTRUCT)").click()
    formats = page.locator("#download-links a").evaluate_all(
        "links => links.map(link => link.dataset.format)"
    )

    assert formats == ["turtle", "ntriples", "jsonld", "rdfxml"]
    reopen = page.locator("#reopen-link").get_attribute("href")
    assert "CONSTRUCT" in urllib.parse.parse_qs(urllib.parse.urlsplit(reopen).query)["query"][0]


def test_ask_query_offers_json_and_xml(page: Page, server: LiveServer) -> None:
    query = "ASK { ?s a <https://notekg.example/ontology#GPU> }"
    page.goto(server.url + "/query?" + urllib.parse.urlencode({"query": query}))
    expect(page.locator(".yasgui .CodeMirror")).to_contain_text("ASK")
    links = page.locator("#download-links a")
    formats = links.evaluate_all("links => links.map(link => link.dataset.format)")

    assert formats == ["json", "xml"]
    for href in links.evaluate_all("links => links.map(link => link.href)"):
        assert page.request.get(href).status == 200


def test_query_reopen_link_restores_query(page: Page, server: LiveServer) -> None:
    query = "SELECT ?s WHERE { ?s a <https://notekg.example/ontology#GPU> }"
    page.goto(server.url + "/query?" + urllib.parse.urlencode({"query": query}))

    expect(page.locator(".yasgui .CodeMirror")).to_contain_text("ontology#GPU")


def test_query_without_javascript_posts_form(script_free_page: Page, server: LiveServer) -> None:
    script_free_page.goto(server.url + "/query")
    expect(script_free_page.locator("#plain-query-form")).to_be_visible()
    script_free_page.locator("#plain-format").select_option("csv")

    with script_free_page.expect_response(re.compile(r"/sparql$")) as response_info:
        script_free_page.locator("#plain-query-form button").click()
    assert response_info.value.status == 200


def test_home_sparql_form_shows_results_table(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    form = page.locator("section[aria-labelledby=sparql-heading] form")
    form.get_by_role("button", name="Run query").click()

    expect(page.locator("h1")).to_have_text("SPARQL results")
    rows = page.locator("table.sparql-results tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    first_link = page.locator("table.sparql-results td.iri a").first
    assert first_link.get_attribute("href").startswith("/")


# Views


def test_views_show_benchmarks_and_gpus(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_role("link", name="Benchmarks by focus area").first.click()
    expect(page.locator("h1")).to_have_text("Benchmarks by focus area")
    expect(page.locator("section.view-group").first).to_be_visible()

    page.goto(server.url + "/views/gpus")
    expect(page.locator("table.comparison")).to_contain_text("192 GB")
    expect(page.locator("table.comparison thead th")).to_have_count(4)


# Phone width, accessibility and screenshots


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/id/benchmark/mmlu",
        "/class?iri=https%3A%2F%2Fnotekg.example%2Fontology%23Benchmark",
        "/search?q=score",
        "/query",
        "/views/benchmarks",
        "/views/gpus",
        "/ontology",
        "/notes",
        "/classes",
        "/properties",
        "/sparql",
        "/sparql?" + urllib.parse.urlencode({"query": FIVE_TRIPLES}),
    ],
)
def test_phone_width_fits_page(page: Page, server: LiveServer, path: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")

    assert width <= PHONE["width"], f"{path} is {width} px wide at a {PHONE['width']} px viewport"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/id/benchmark/mmlu",
        "/class?iri=https%3A%2F%2Fnotekg.example%2Fontology%23Benchmark",
        "/search?q=score",
        "/query",
        "/sparql",
        "/sparql?" + urllib.parse.urlencode({"query": FIVE_TRIPLES}),
    ],
)
def test_axe_finds_no_violations(page: Page, server: LiveServer, path: str) -> None:
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")

    assert run_axe(page) == []


def test_screenshots_of_main_pages(page: Page, server: LiveServer, screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    shots = {
        "home.png": "/",
        "entity-mmlu.png": "/id/benchmark/mmlu",
        "entity-focus-area.png": "/id/focus-area/general-knowledge-reasoning",
    }
    for name, path in shots.items():
        page.goto(server.url + path)
        page.screenshot(path=str(screenshot_dir / name), full_page=True)
        assert (screenshot_dir / name).stat().st_size > 0

    page.goto(server.url + "/query")
    page.get_by_role("link", name="Metrics in use, with benchmark counts").click()
    expect(page.locator("#results-chart svg rect.bar").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "query.png"), full_page=True)
    assert (screenshot_dir / "query.png").stat().st_size > 0

    page.set_viewport_size(PHONE)
    page.goto(server.url + "/id/benchmark/mmlu")
    page.screenshot(path=str(screenshot_dir / "entity-mmlu-phone.png"), full_page=True)
    assert (screenshot_dir / "entity-mmlu-phone.png").stat().st_size > 0
