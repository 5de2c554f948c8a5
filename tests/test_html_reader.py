"""Tests of the HTML reader (ingest/readers/html.py) on saved Docusaurus and plain pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents import assert_read_with_valid_spans
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.document import Document, LineSpan, Section
from ingest.problems import NoteSyntaxError
from ingest.readers.html import MAX_DEPTH, read_html
from ingest.run import READERS, find_notes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html"
THREE_FORMS = Path(__file__).resolve().parent / "fixtures" / "three_forms"


def read_bytes(data: bytes, name: str = "page.html") -> Document:
    return read_html(Path(name), name, data=data)


def section_named(document: Document, title: str) -> Section:
    return next(section for section in document.all_sections() if section.title == title)


def all_text(document: Document) -> str:
    parts = [document.title]
    for section in document.all_sections():
        parts.append(section.title)
        parts += [paragraph.text for paragraph in section.paragraphs]
        parts += [f"{item.key}: {item.value}" for item in section.items]
        parts += [link.text for link in section.links]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def docusaurus() -> Document:
    return read_html(FIXTURES / "docusaurus_page.html", "docusaurus_page.html")


@pytest.fixture(scope="module")
def material() -> Document:
    return read_html(THREE_FORMS / "ai.html", "ai.html")


# ---------------------------------------------------------------------------
# A saved Docusaurus page
# ---------------------------------------------------------------------------


def test_docusaurus_title_is_article_h1(docusaurus: Document) -> None:
    assert (docusaurus.title, docusaurus.title_span) == ("Vector Databases", LineSpan(41, 41))


@pytest.mark.parametrize(
    "chrome",
    [
        "Skip to main content",
        "Team Wiki",
        "Embeddings",
        "Home",
        "Edit this page",
        "Copyright",
        "theme",
    ],
)
def test_docusaurus_chrome_is_dropped(docusaurus: Document, chrome: str) -> None:
    assert chrome not in all_text(docusaurus)


def test_docusaurus_sections(docusaurus: Document) -> None:
    found = [(section.title, section.level, section.span) for section in docusaurus.all_sections()]
    assert found == [
        ("", 1, LineSpan(42, 43)),
        ("Options", 1, LineSpan(44, 62)),
        ("Comparison", 2, LineSpan(56, 62)),
        ("Glossary", 1, LineSpan(63, 68)),
        ("Usage", 1, LineSpan(70, 76)),
    ]


def test_docusaurus_intro_paragraph_joins_lines(docusaurus: Document) -> None:
    paragraph = docusaurus.sections[0].paragraphs[0]
    assert (paragraph.text, paragraph.span) == (
        "A vector database stores embeddings and answers nearest-neighbour queries.",
        LineSpan(42, 43),
    )


def test_docusaurus_list_items(docusaurus: Document) -> None:
    items = section_named(docusaurus, "Options").items
    assert [(item.key, item.value, item.span.start) for item in items] == [
        ("Hosted", "Pinecone", 46),
        ("Self-hosted", "Qdrant, Milvus", 47),
        ("Index type", "HNSW", 53),
    ]


def test_docusaurus_bullet_without_key_is_paragraph(docusaurus: Document) -> None:
    paragraphs = section_named(docusaurus, "Options").paragraphs
    assert [(paragraph.text, paragraph.span) for paragraph in paragraphs] == [
        ("Read the Qdrant docs", LineSpan(54, 54))
    ]


def test_docusaurus_table_without_thead(docusaurus: Document) -> None:
    table = section_named(docusaurus, "Comparison").tables[0]
    assert table.header == ["Database", "License", "Written in"]
    assert [row.cells for row in table.rows] == [
        ["Qdrant", "Apache-2.0", "Rust"],
        ["Milvus", "Apache-2.0, Go and C++", ""],
        ["Chroma", "", ""],
    ]


def test_docusaurus_table_spans(docusaurus: Document) -> None:
    table = section_named(docusaurus, "Comparison").tables[0]
    assert table.span == LineSpan(57, 62)
    assert table.header_span == LineSpan(58, 58)
    assert [row.span for row in table.rows] == [
        LineSpan(59, 59),
        LineSpan(60, 60),
        LineSpan(61, 61),
    ]


def test_docusaurus_definition_list(docusaurus: Document) -> None:
    items = section_named(docusaurus, "Glossary").items
    assert [(item.key, item.value, item.span) for item in items] == [
        ("Recall@k", "Share of true nearest neighbours among the k results.", LineSpan(65, 66)),
        ("ANN", "Approximate nearest neighbour search, see HNSW.", LineSpan(67, 68)),
    ]


def test_docusaurus_links(docusaurus: Document) -> None:
    links = [
        (link.text, link.target, link.span)
        for section in docusaurus.all_sections()
        for link in section.links
    ]
    assert links == [
        ("embeddings", "embeddings.html", LineSpan(42, 42)),
        ("Qdrant docs", "https://qdrant.tech/documentation/", LineSpan(54, 54)),
        ("HNSW", "../search/ann.html#hnsw", LineSpan(68, 68)),
    ]


def test_docusaurus_admonition_heading_dropped(docusaurus: Document) -> None:
    paragraphs = section_named(docusaurus, "Usage").paragraphs
    assert [paragraph.text for paragraph in paragraphs] == [
        "Normalise vectors before using cosine distance."
    ]


def test_docusaurus_code_lines_from_br(docusaurus: Document) -> None:
    block = section_named(docusaurus, "Usage").code_blocks[0]
    assert (block.language, block.code, block.span) == (
        "python",
        'from qdrant_client import QdrantClient\nclient = QdrantClient(":memory:")',
        LineSpan(76, 76),
    )


# ---------------------------------------------------------------------------
# A saved MkDocs Material page and a plain page
# ---------------------------------------------------------------------------


def test_material_drops_permalink_signs(material: Document) -> None:
    assert "¶" not in all_text(material)


def test_material_drops_navigation(material: Document) -> None:
    assert [section.title for section in material.sections][:2] == [
        "NN Memory",
        "Transformer Layers",
    ]


def test_material_code_block(material: Document) -> None:
    block = section_named(material, "Scikit-Learn").code_blocks[0]
    assert (block.language, block.span.start) == ("python", 267)
    assert (
        block.code.splitlines()[0]
        == "from sklearn.compose import ColumnTransformer, make_column_transformer, "
        "make_column_selector"
    )


def test_material_has_no_links(material: Document) -> None:
    assert [link for section in material.all_sections() for link in section.links] == []


def test_plain_page_title_from_title_element() -> None:
    document = read_html(FIXTURES / "plain_page.html", "plain_page.html")
    assert document.title == "Reading list"


def test_plain_page_drops_body_header() -> None:
    document = read_html(FIXTURES / "plain_page.html", "plain_page.html")
    assert "My Site" not in all_text(document)


def test_plain_page_br_lines_are_key_values() -> None:
    document = read_html(FIXTURES / "plain_page.html", "plain_page.html")
    items = section_named(document, "Books").items
    assert [(item.key, item.value, item.span.start) for item in items] == [
        ("Author", "Christopher Bishop", 6),
        ("Title", "Pattern Recognition and Machine Learning", 7),
        ("Year", "2006", 8),
        ("Status", "reading", 10),
        ("Rating", "5", 11),
    ]


def test_plain_page_code_language_lowercased() -> None:
    document = read_html(FIXTURES / "plain_page.html", "plain_page.html")
    block = section_named(document, "Books").code_blocks[0]
    assert (block.language, block.code) == ("shell", "pip install scikit-learn")


def test_html_suffixes_have_reader() -> None:
    assert READERS[".html"] is read_html
    assert READERS[".htm"] is read_html


def test_html_pages_are_discovered(tmp_path: Path) -> None:
    (tmp_path / "a.htm").write_text("<h1>A</h1>", encoding="utf-8")
    (tmp_path / "b.HTML").write_text("<h1>B</h1>", encoding="utf-8")
    (tmp_path / "c.css").write_text("p{}", encoding="utf-8")
    assert [note.key for note in find_notes([tmp_path])] == ["a.htm", "b.HTML"]


# ---------------------------------------------------------------------------
# Bad inputs: a Document or NoteSyntaxError with file and line, never a traceback
# ---------------------------------------------------------------------------


def test_binary_page_is_rejected() -> None:
    with pytest.raises(NoteSyntaxError, match=r"^blob\.html:1: the file is binary"):
        read_bytes(b"<p>\x00</p>", "blob.html")


def test_invalid_utf8_names_line() -> None:
    with pytest.raises(NoteSyntaxError, match=r"^bad\.html:2: invalid UTF-8 byte 0xe9"):
        read_bytes(b"<h1>T</h1>\n<p>caf\xe9</p>\n", "bad.html")


def test_bom_is_dropped() -> None:
    document = read_bytes("\ufeff<h1>Title</h1>\n<ul><li>Key: value</li></ul>\n".encode())
    assert document.title == "Title"


def test_crlf_keeps_line_numbers() -> None:
    document = read_bytes(
        b"<h1>T</h1>\r\n<h2>Part</h2>\r\n\r\n<ul>\r\n<li>Key: value</li>\r\n</ul>\r\n"
    )
    item = document.sections[0].items[0]
    assert (item.key, item.value, item.span) == ("Key", "value", LineSpan(5, 5))


def test_ten_megabyte_line_is_read() -> None:
    document = read_bytes(b"<h1>T</h1>\n<p>" + b"word " * 2_000_000 + b"</p>\n")
    assert len(document.sections[0].paragraphs[0].text) == 10_000_000 - 1


def test_empty_page_has_no_sections() -> None:
    document = read_bytes(b"  \n", "empty.html")
    assert (document.title, document.sections) == ("empty", [])


def test_duplicate_headings_stay_apart() -> None:
    document = read_bytes(b"<h1>T</h1>\n<h2>Same</h2>\n<p>a</p>\n<h2>Same</h2>\n<p>b</p>\n")
    assert [(section.title, section.span) for section in document.sections] == [
        ("Same", LineSpan(2, 3)),
        ("Same", LineSpan(4, 5)),
    ]


def test_unclosed_elements_are_closed() -> None:
    document = read_bytes(
        b"<h1>T</h1>\n<table><tr><th>a<th>b\n<tr><td>1<td>2\n</table>\n<ul><li>K: v\n<li>L: w\n"
    )
    section = document.sections[0]
    assert [row.cells for row in section.tables[0].rows] == [["1", "2"]]
    assert [(item.key, item.value) for item in section.items] == [("K", "v"), ("L", "w")]


def test_deep_nesting_names_line() -> None:
    page = b"<h1>T</h1>\n" + b"<div>" * (MAX_DEPTH + 50) + b"x"
    with pytest.raises(NoteSyntaxError, match=r"^deep\.html:2: elements are nested more than"):
        read_bytes(page, "deep.html")


def test_xml_declaration_is_accepted() -> None:
    document = read_bytes(b"<?xml version='1.0' encoding='latin-1'?>\n<h1>T\xc3\xa9</h1>\n")
    assert document.title == "Té"


# ---------------------------------------------------------------------------
# Properties on arbitrary text
# ---------------------------------------------------------------------------


HTML_PIECES = st.sampled_from(
    [
        "<h1>",
        "</h1>",
        "<h2>",
        "<h3>",
        "<p>",
        "</p>",
        "<ul>",
        "<li>",
        "</li>",
        "</ul>",
        "<dl>",
        "<dt>",
        "<dd>",
        "<table>",
        "<tr>",
        "<th>",
        "<td>",
        "</table>",
        "<pre>",
        "<code class='language-py'>",
        "</pre>",
        "<br>",
        "<a href='x.md'>",
        "</a>",
        "<nav>",
        "<main>",
        "<article>",
        "<script>",
        "<!--",
        "-->",
        "Key: value",
        "text",
        "\n",
        "\r\n",
        "&amp;",
        "&#0;",
        "<td colspan=99999>",
        "<",
        ">",
        "é",
        "\ufeff",
    ]
)
HTML_TEXT = st.one_of(st.text(), st.lists(HTML_PIECES, max_size=40).map("".join))


@settings(max_examples=300, deadline=None)
@given(HTML_TEXT)
def test_any_text_reads_with_valid_spans(text: str) -> None:
    assert_read_with_valid_spans(read_bytes, text)


def test_short_table_row_is_warned(tmp_path: Path) -> None:
    page = tmp_path / "servers.html"
    page.write_text(
        "<html><body><h1>Servers</h1>\n<table>\n"
        "<tr><th>Name</th><th>Host</th><th>Role</th></tr>\n"
        "<tr><td>web-1</td><td>w1</td><td>front</td></tr>\n"
        "<tr><td>web-2</td></tr>\n"
        '<tr><td colspan="3">all</td></tr>\n'
        "</table></body></html>\n",
        encoding="utf-8",
    )
    document = read_html(page, "servers.html")

    assert len(document.warnings) == 1
    line, message = document.warnings[0]
    assert line == 5
    assert message.startswith("table row has 1 cell but its header has 3")
