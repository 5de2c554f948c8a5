"""Tests of the Markdown reader (ingest/readers/markdown.py) on MkDocs and Obsidian notes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from documents import assert_read_with_valid_spans
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal
from rdflib.term import URIRef

from ingest.document import Document, LineSpan, Section
from ingest.problems import NoteSyntaxError
from ingest.readers.markdown import (
    MAX_FRONT_MATTER_NODES,
    NOT_A_MAPPING,
    UNCLOSED_FRONT_MATTER,
    read_markdown,
)
from ingest.run import find_notes, run_ingest
from ingest.vocab import KEY, NK, RDF, SKOS
from service.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "markdown"
VAULT = FIXTURES / "vault"
BASE = "https://notekg.example/id/"


def read_bytes(data: bytes, name: str = "note.md") -> Document:
    return read_markdown(Path(name), name, data=data)


def section_named(document: Document, title: str) -> Section:
    return next(section for section in document.all_sections() if section.title == title)


@pytest.fixture(scope="module")
def mkdocs_page() -> Document:
    return read_markdown(FIXTURES / "mkdocs_page.md", "mkdocs_page.md")


@pytest.fixture(scope="module")
def transformers() -> Document:
    return read_markdown(VAULT / "Transformers.md", "Transformers.md", notes_root=VAULT)


# ---------------------------------------------------------------------------
# An MkDocs page: front matter, admonition, nested bullets, table, code tabs
# ---------------------------------------------------------------------------


def test_mkdocs_title_from_front_matter(mkdocs_page: Document) -> None:
    assert mkdocs_page.title == "GPU Notes"


def test_mkdocs_metadata_has_tags(mkdocs_page: Document) -> None:
    assert mkdocs_page.metadata == {"title": "GPU Notes", "tags": ["hardware", "gpu"]}


def test_mkdocs_sections_and_levels(mkdocs_page: Document) -> None:
    found = [(section.title, section.level, section.span) for section in mkdocs_page.all_sections()]
    assert found == [
        ("", 1, LineSpan(8, 8)),
        ("Memory", 1, LineSpan(10, 28)),
        ("Sizes", 2, LineSpan(21, 28)),
        ("Setup", 1, LineSpan(30, 47)),
        ("Setup", 1, LineSpan(48, 50)),
    ]


def test_mkdocs_subsection_nests_under_memory(mkdocs_page: Document) -> None:
    memory = mkdocs_page.sections[1]
    assert [section.title for section in memory.subsections] == ["Sizes"]


def test_mkdocs_admonition_body_is_paragraph(mkdocs_page: Document) -> None:
    paragraphs = section_named(mkdocs_page, "Memory").paragraphs
    assert (paragraphs[0].text, paragraphs[0].span) == (
        "Plan for 16 bytes per parameter when training with Adam in mixed precision.",
        LineSpan(13, 13),
    )


def test_mkdocs_admonition_title_is_dropped(mkdocs_page: Document) -> None:
    texts = [paragraph.text for paragraph in section_named(mkdocs_page, "Memory").paragraphs]
    assert not any("Rule of thumb" in text for text in texts)


def test_mkdocs_bullets_are_key_values(mkdocs_page: Document) -> None:
    items = section_named(mkdocs_page, "Memory").items
    assert [(item.key, item.value, item.span) for item in items] == [
        ("Vendor", "NVIDIA", LineSpan(15, 15)),
        ("Interconnect", "NVLink, PCIe 5.0", LineSpan(16, 18)),
    ]


def test_mkdocs_links_resolve_note_and_keep_url(mkdocs_page: Document) -> None:
    links = section_named(mkdocs_page, "Memory").links
    assert [(link.text, link.target, link.span) for link in links] == [
        ("the H100 page", "h100.md#specs", LineSpan(19, 19)),
        ("vendor docs", "https://www.nvidia.com/en-us/data-center/h100/", LineSpan(19, 19)),
    ]


def test_mkdocs_table_cells_follow_gfm(mkdocs_page: Document) -> None:
    table = section_named(mkdocs_page, "Sizes").tables[0]
    assert table.header == ["Feature", "A100", "H100"]
    assert [row.cells for row in table.rows] == [
        ["VRAM", "80 GB", "80 GB"],
        ["Pipe | escaped", "a | b", "c"],
        ["Ragged", "only one", ""],
        ["Too many", "1", "2"],
    ]


def test_mkdocs_table_spans(mkdocs_page: Document) -> None:
    table = section_named(mkdocs_page, "Sizes").tables[0]
    assert table.span == LineSpan(23, 28)
    assert table.header_span == LineSpan(23, 23)
    assert [row.span for row in table.rows] == [LineSpan(line, line) for line in range(25, 29)]


def test_mkdocs_code_tabs_give_code_blocks(mkdocs_page: Document) -> None:
    blocks = section_named(mkdocs_page, "Setup").code_blocks
    assert [(block.language, block.code, block.span) for block in blocks] == [
        ("python", "import torch\nprint(torch.cuda.is_available())", LineSpan(34, 37)),
        ("bash", "nvidia-smi", LineSpan(41, 43)),
    ]


def test_mkdocs_tab_labels_are_not_paragraphs(mkdocs_page: Document) -> None:
    assert section_named(mkdocs_page, "Setup").paragraphs == []


def test_mkdocs_definition_list_is_key_value(mkdocs_page: Document) -> None:
    items = section_named(mkdocs_page, "Setup").items
    assert [(item.key, item.value) for item in items] == [("Driver", "Version 550 or later")]


def test_mkdocs_intro_is_untitled_section(mkdocs_page: Document) -> None:
    intro = mkdocs_page.sections[0]
    assert [paragraph.text for paragraph in intro.paragraphs] == [
        "Notes on the GPUs we rent for training."
    ]


# ---------------------------------------------------------------------------
# An Obsidian vault: front matter id, wiki links, Dataview inline fields
# ---------------------------------------------------------------------------


def test_vault_title_is_first_h1(transformers: Document) -> None:
    assert (transformers.title, transformers.title_span) == ("Transformers", LineSpan(8, 8))


def test_vault_front_matter_id(transformers: Document) -> None:
    assert transformers.metadata["id"] == "transformer-architecture"
    assert transformers.metadata["tags"] == ["ml", "architecture"]


def test_vault_inline_fields_are_key_values(transformers: Document) -> None:
    intro = transformers.sections[0]
    assert [(item.key, item.value, item.span) for item in intro.items] == [
        ("Introduced by", "Vaswani et al.", LineSpan(10, 10)),
        ("Year", "2017", LineSpan(11, 11)),
    ]


def test_vault_prose_line_stays_paragraph(transformers: Document) -> None:
    intro = transformers.sections[0]
    assert [paragraph.text for paragraph in intro.paragraphs] == [
        "The core building block is Attention, stacked with feed-forward layers."
    ]


def test_vault_wiki_links_resolve_to_note_paths(transformers: Document) -> None:
    links = [
        (link.text, link.target, link.span)
        for section in transformers.all_sections()
        for link in section.links
    ]
    assert links == [
        ("Vaswani et al.", "people/Ashish Vaswani.md", LineSpan(10, 10)),
        ("Attention", "Attention.md", LineSpan(13, 13)),
        ("scaled attention", "Attention.md#Scaled dot-product", LineSpan(19, 19)),
    ]


def test_vault_links_to_existing_notes_are_not_missing(transformers: Document) -> None:
    links = [link for section in transformers.all_sections() for link in section.links]

    assert links
    assert not any(link.missing for link in links)


def test_links_to_absent_notes_are_missing(tmp_path: Path) -> None:
    (tmp_path / "Other.md").write_text("# Other\n", encoding="utf-8")
    note = tmp_path / "index.md"
    note.write_text(
        "# Index\n\n[[Other]] [[Gone]] [b](gone.md) [c](Other.md#part) [w](https://127.0.0.1/x.md)\n",
        encoding="utf-8",
    )

    document = read_markdown(note, "index.md", notes_root=tmp_path)

    found = [(link.text, link.missing) for link in document.sections[0].links]
    assert found == [
        ("Other", False),
        ("Gone", True),
        ("b", True),
        ("c", False),
        ("w", False),
    ]


def ingest_one_note(tmp_path: Path, name: str, text: str) -> tuple[list[str], Store]:
    """Ingest a folder that has one note into a new store; return the warnings and the store."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / name).write_text(text, encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    report = run_ingest([notes], store, mapping_path=None, base_iri=BASE)
    return [str(problem) for problem in report.warnings], store


def test_missing_link_is_warned_with_its_line(tmp_path: Path) -> None:
    warnings, store = ingest_one_note(tmp_path, "index.md", "# Index\n\nSee [[Missing Note]].\n")
    store.close()

    expected = (
        "index.md:3: warning: link '[[Missing Note]]' leads to Missing Note.md, which is not a note"
    )
    assert any(expected in warning for warning in warnings), warnings


def test_reader_warning_reaches_the_report(tmp_path: Path) -> None:
    text = "---\ntitle: Unclosed\n\n# Unclosed\n"
    warnings, store = ingest_one_note(tmp_path, "unclosed.md", text)
    store.close()

    expected = f"unclosed.md:1: warning: {UNCLOSED_FRONT_MATTER}"
    assert any(warning.endswith(expected) for warning in warnings), warnings


def test_non_text_tags_are_warned(tmp_path: Path) -> None:
    text = "---\ntags: {a: 1}\naliases: [Alpha, {b: 2}]\n---\n# T\n\ntext\n"
    warnings, store = ingest_one_note(tmp_path, "t.md", text)
    generation = store.current_generation_id()
    assert generation is not None
    alternative_labels = {
        quad.object.value
        for data in store.iter_nquads(generation)
        for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS)
        if quad.predicate.value == str(SKOS.altLabel)
    }
    store.close()

    tags_warning = "t.md:2: warning: front matter key 'tags' has 1 value(s)"
    assert any(tags_warning in warning for warning in warnings), warnings
    aliases_warning = "t.md:3: warning: front matter key 'aliases' has 1 value(s)"
    assert any(aliases_warning in warning for warning in warnings), warnings
    assert alternative_labels == {"Alpha"}


def test_vault_bullet_inline_field(transformers: Document) -> None:
    items = section_named(transformers, "Variants").items
    assert [(item.key, item.value) for item in items] == [
        ("Encoder-only", "BERT"),
        ("Decoder-only", "GPT"),
    ]


def test_vault_link_from_subfolder_finds_note() -> None:
    person = read_markdown(
        VAULT / "people" / "Ashish Vaswani.md", "Ashish Vaswani.md", notes_root=VAULT
    )
    assert [link.target for link in person.sections[0].links] == ["Transformers.md"]


def test_vault_code_keeps_language() -> None:
    attention = read_markdown(VAULT / "Attention.md", "Attention.md", notes_root=VAULT)
    blocks = section_named(attention, "Scaled dot-product").code_blocks
    assert [(block.language, block.span) for block in blocks] == [("python", LineSpan(15, 17))]


def test_vault_notes_are_discovered(tmp_path: Path) -> None:
    shutil.copytree(VAULT, tmp_path / "vault")
    (tmp_path / "vault" / ".obsidian").mkdir()
    (tmp_path / "vault" / ".obsidian" / "workspace.md").write_text("# hidden\n", encoding="utf-8")
    keys = [note.key for note in find_notes([tmp_path / "vault"])]
    assert keys == ["Attention.md", "Transformers.md", "people/Ashish Vaswani.md"]


@pytest.fixture(scope="module")
def vault_graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, list[str]]:
    """Ingest the vault without a mapping; return the merged facts and the warning messages."""
    folder = tmp_path_factory.mktemp("vault_store")
    store = Store(f"sqlite:///{folder}/store.sqlite")
    report = run_ingest([VAULT], store, mapping_path=None, base_iri=BASE)
    generation = store.current_generation_id()
    assert generation is not None

    facts = Graph()
    for version, chunk in zip(
        store.graph_versions(generation), store.iter_nquads(generation), strict=True
    ):
        if not version.graph_iri.endswith("/provenance"):
            suffix = f" <{version.graph_iri}> .".encode()
            ntriples = b"\n".join(line[: -len(suffix)] + b" ." for line in chunk.splitlines())
            facts.parse(data=ntriples.decode("utf-8"), format="nt")
    return facts, [problem.message for problem in report.problems]


def test_vault_ingest_gives_three_notes(vault_graph: tuple[Graph, list[str]]) -> None:
    facts, _ = vault_graph
    titles = {str(facts.value(note, SKOS.prefLabel)) for note in facts.subjects(RDF.type, NK.Note)}
    assert titles == {"Transformers", "Attention", "Ashish Vaswani"}


def test_vault_ingest_gives_sections(vault_graph: tuple[Graph, list[str]]) -> None:
    facts, _ = vault_graph
    titles = {
        str(facts.value(section, SKOS.prefLabel))
        for section in facts.subjects(RDF.type, NK.Section)
    }
    assert {"Variants", "Scaled dot-product"} <= titles


def test_vault_inline_field_is_generic_property(vault_graph: tuple[Graph, list[str]]) -> None:
    facts, _ = vault_graph
    assert (KEY["year"], RDF.type, RDF.Property) in facts
    assert set(facts.objects(None, KEY["year"])) == {Literal("2017")}


def test_vault_ingest_warns_about_unmapped_keys(vault_graph: tuple[Graph, list[str]]) -> None:
    _, messages = vault_graph
    assert any("bullet key 'Year'" in message for message in messages)


def test_vault_note_iris_follow_paths(vault_graph: tuple[Graph, list[str]]) -> None:
    facts, _ = vault_graph
    assert (URIRef(BASE + "note/people-ashish-vaswani"), RDF.type, NK.Note) in facts


# ---------------------------------------------------------------------------
# Title and levels
# ---------------------------------------------------------------------------


def test_title_falls_back_to_stem() -> None:
    document = read_bytes(b"## Only\n\ntext\n", "notes/gpu-notes.md")
    assert document.title == "gpu-notes"


def test_h1_after_h2_is_not_title() -> None:
    document = read_bytes(b"## First\n\n# Later\n", "n.md")
    assert document.title == "n"
    assert [(section.title, section.level) for section in document.sections] == [
        ("First", 2),
        ("Later", 1),
    ]


def test_levels_count_from_highest_heading() -> None:
    document = read_bytes(b"# Title\n\n### Deep\n\n#### Deeper\n")
    assert [(section.title, section.level) for section in document.all_sections()] == [
        ("Deep", 1),
        ("Deeper", 2),
    ]


def test_setext_heading_is_title() -> None:
    document = read_bytes(b"Title\n=====\n\nSection\n-------\n")
    assert (document.title, document.title_span) == ("Title", LineSpan(1, 2))
    assert document.sections[0].span == LineSpan(4, 5)


def test_key_only_bullet_without_list_is_paragraph() -> None:
    document = read_bytes(b"- Authors:\n")
    assert [paragraph.text for paragraph in document.sections[0].paragraphs] == ["Authors:"]


def test_nested_key_values_are_items() -> None:
    document = read_bytes(b"- Model: GPT\n  - Size: 7B\n  - Context: 8k\n")
    items = document.sections[0].items
    assert [(item.key, item.value, item.span) for item in items] == [
        ("Model", "GPT", LineSpan(1, 1)),
        ("Size", "7B", LineSpan(2, 2)),
        ("Context", "8k", LineSpan(3, 3)),
    ]


def test_url_line_is_not_key_value() -> None:
    document = read_bytes(b"https://example.org/page\n")
    assert document.sections[0].items == []


# ---------------------------------------------------------------------------
# Bad inputs: a Document or NoteSyntaxError with file and line, never a traceback
# ---------------------------------------------------------------------------


def test_binary_note_is_rejected() -> None:
    with pytest.raises(NoteSyntaxError, match=r"^blob\.md:2: the file is binary"):
        read_bytes(b"# Title\n\x00\x01", "blob.md")


def test_invalid_utf8_names_line() -> None:
    with pytest.raises(NoteSyntaxError, match=r"^bad\.md:3: invalid UTF-8 byte 0xff"):
        read_bytes(b"# T\n\n\xff\n", "bad.md")


def test_bom_is_dropped() -> None:
    document = read_bytes("\ufeff# Title\n\n- Key: value\n".encode())
    assert document.title == "Title"


def test_crlf_keeps_line_numbers() -> None:
    document = read_bytes(b"# Title\r\n\r\n## Part\r\n\r\n- Key: value\r\n")
    item = document.sections[0].items[0]
    assert (item.key, item.value, item.span) == ("Key", "value", LineSpan(5, 5))


def test_ten_megabyte_line_is_read() -> None:
    document = read_bytes(b"# Title\n\n" + b"word " * 2_000_000 + b"\n")
    assert len(document.sections[0].paragraphs[0].text) == 10_000_000 - 1


def test_unclosed_fence_runs_to_end() -> None:
    document = read_bytes(b"# T\n\n## Code\n\n```python\nx = 1\n\n## Not a heading\n")
    block = document.sections[0].code_blocks[0]
    assert (block.code, block.span) == ("x = 1\n\n## Not a heading", LineSpan(5, 8))


def test_unclosed_fence_makes_one_section() -> None:
    document = read_bytes(b"# T\n\n## Code\n\n```python\nx = 1\n\n## Not a heading\n")
    assert [section.title for section in document.sections] == ["Code"]


def test_duplicate_headings_stay_apart() -> None:
    document = read_bytes(b"# T\n\n## Same\n\n- a: 1\n\n## Same\n\n- b: 2\n")
    assert [(section.title, section.span) for section in document.sections] == [
        ("Same", LineSpan(3, 5)),
        ("Same", LineSpan(7, 9)),
    ]


def test_alias_bomb_is_rejected() -> None:
    lines = ["---", 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[level]
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    lines += ["---", "# Title", ""]
    with pytest.raises(
        NoteSyntaxError, match=rf"^bomb\.md:\d+: front matter rejected: .*{MAX_FRONT_MATTER_NODES}"
    ):
        read_bytes("\n".join(lines).encode(), "bomb.md")


def test_alias_bomb_error_names_alias_line() -> None:
    lines = ["---", "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(5)
    ]
    lines += ["---", ""]
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes("\n".join(lines).encode(), "bomb.md")
    # a has 11 nodes, b 111, c 1111 and d 11111: line 5, where d is defined, crosses the limit.
    assert raised.value.line == 5


def test_few_aliases_are_accepted() -> None:
    document = read_bytes(b"---\nbase: &base {gpu: H100}\ncopy: *base\n---\n# T\n")
    assert document.metadata == {"base": {"gpu": "H100"}, "copy": {"gpu": "H100"}}


def test_recursive_alias_is_rejected() -> None:
    with pytest.raises(
        NoteSyntaxError, match=r"^loop\.md:2: front matter rejected: an alias refers"
    ):
        read_bytes(b"---\na: &a [*a]\n---\n", "loop.md")


def test_invalid_front_matter_names_line() -> None:
    with pytest.raises(NoteSyntaxError, match=r"^fm\.md:3: invalid YAML front matter"):
        read_bytes(b"---\ntitle: ok\nbad: [unclosed\n---\n# T\n", "fm.md")


def test_scalar_front_matter_is_read_as_markdown() -> None:
    document = read_bytes(b"---\nJust a line\n---\n\n- Key: value\n")
    assert document.metadata == {}
    assert [item.key for item in document.sections[0].items] == ["Key"]
    assert document.warnings == [(1, NOT_A_MAPPING)]


def test_list_front_matter_is_warned() -> None:
    document = read_bytes(b"---\n- a\n- b\n---\n# T\n")
    assert document.metadata == {}
    assert document.warnings == [(1, NOT_A_MAPPING)]


def test_unclosed_front_matter_is_markdown() -> None:
    document = read_bytes(b"---\ntitle: x\n")
    assert document.metadata == {}
    assert document.warnings == [(1, UNCLOSED_FRONT_MATTER)]


def test_closed_front_matter_has_no_warning() -> None:
    document = read_bytes(b"---\ntitle: x\n---\n# T\n")
    assert document.metadata == {"title": "x"}
    assert document.warnings == []


def test_empty_note_has_no_sections() -> None:
    document = read_bytes(b"", "empty.md")
    assert (document.title, document.sections, document.line_count) == ("empty", [], 0)


def test_deep_nesting_is_read() -> None:
    document = read_bytes(b"> " * 5000 + b"text\n" + b"- " * 5000 + b"x\n")
    assert document.line_count == 2


# ---------------------------------------------------------------------------
# Properties on arbitrary text
# ---------------------------------------------------------------------------


MARKDOWN_PIECES = st.sampled_from(
    [
        "# ",
        "## ",
        "### ",
        "- ",
        "  - ",
        "1. ",
        "> ",
        "```",
        "~~~",
        "|",
        "---",
        "\n",
        "\n\n",
        "Key: ",
        "Key:: ",
        "[[",
        "]]",
        "|alias",
        "[t](",
        ")",
        "a.md",
        "!!! note",
        "    ",
        '=== "T"',
        ":   ",
        "*",
        "\\",
        "<div>",
        "\r\n",
        "\ufeff",
        "text",
        "é",
    ]
)
MARKDOWN_TEXT = st.one_of(st.text(), st.lists(MARKDOWN_PIECES, max_size=40).map("".join))


@settings(max_examples=300, deadline=None)
@given(MARKDOWN_TEXT)
def test_any_text_reads_with_valid_spans(text: str) -> None:
    assert_read_with_valid_spans(read_bytes, text)


def test_table_rows_of_other_widths_are_warned(tmp_path: Path) -> None:
    note = tmp_path / "hosts.md"
    note.write_text(
        "# Hosts\n\n"
        "| Name | Address | Role |\n| --- | --- | --- |\n"
        "| pg-1 | db1 | primary |\n"
        "| pg-2 | db2 |\n"
        "| pg-3 | db3 | replica | extra |\n"
        "| pg-4 | a \\| b | replica |\n"
        "pg-5 | db5 | replica\n",
        encoding="utf-8",
    )
    document = read_markdown(note, "hosts.md")

    assert [line for line, _ in document.warnings] == [6, 7]
    assert document.warnings[0][1].startswith("table row has 2 cells but its header has 3")
    assert document.warnings[1][1].startswith("table row has 4 cells but its header has 3")
    assert "the cells after the 3rd are left out" in document.warnings[1][1]


def test_image_alt_text_stays_in_paragraph(tmp_path: Path) -> None:
    note = tmp_path / "alpha.md"
    note.write_text("# Alpha\n\n## Part\n\nSee ![the *diagram*](img/pic.png) here.\n")
    document = read_markdown(note, "alpha.md")

    assert document.sections[0].paragraphs[0].text == "See the diagram here."


# Inline tags


TAGGED_NOTE = b"""# Tags #meta

A paragraph about #infra/db and #ops-2024, then #12, C# and a link
https://example.org/page#section.

- Key: value #bullet-tag
- `#not-in-code` and #under_score.

```
#not-in-a-fence
```
"""


def test_inline_tags_are_read_with_lines() -> None:
    document = read_bytes(TAGGED_NOTE)

    assert document.tags == [
        (1, "meta"),
        (3, "infra/db"),
        (3, "ops-2024"),
        (6, "bullet-tag"),
        (7, "under_score"),
    ]


def test_number_and_fragment_are_not_tags() -> None:
    tags = [tag for _, tag in read_bytes(TAGGED_NOTE).tags]

    assert "12" not in tags
    assert "section" not in tags
    assert "not-in-code" not in tags
    assert "not-in-a-fence" not in tags


# Dataview fields inside sentences, and sentences that are not keys


def test_inline_dataview_fields_are_read() -> None:
    document = read_bytes(
        b"# Pool\n\n## Settings\n\n"
        b"The default pool size is [Pool Size:: 20] and the timeout is (Timeout:: 30 s).\n\n"
        b"- Reconnect after [Retry:: 5 s] when it fails.\n"
    )
    section = section_named(document, "Settings")

    assert [(item.key, item.value, item.span.start) for item in section.items] == [
        ("Pool Size", "20", 5),
        ("Timeout", "30 s", 5),
        ("Retry", "5 s", 7),
    ]
    assert section.paragraphs[0].text.startswith("The default pool size is [Pool Size:: 20]")


def test_sentence_with_colon_is_not_a_key() -> None:
    document = read_bytes(
        b"# Stack\n\n## Languages\n\nSome services are written in C# with Npgsql. Tag: csharp\n\n"
        b"Memory (GB): 80\n"
    )
    section = section_named(document, "Languages")

    assert [item.key for item in section.items] == ["Memory (GB)"]
    assert [paragraph.text for paragraph in section.paragraphs] == [
        "Some services are written in C# with Npgsql. Tag: csharp"
    ]


def test_link_before_colon_is_not_a_key() -> None:
    document = read_bytes(
        b"# Log\n\n## Day\n\nTalked with [[bob]] about [[nginx#Upstreams]]: add app-3.\n\n"
        b"Maintainer: [[bob]]\n\n- [Redis](redis.md): cache\n- Owner: [[alice]]\n"
    )
    section = section_named(document, "Day")

    assert [(item.key, item.value) for item in section.items] == [
        ("Maintainer", "bob"),
        ("Owner", "alice"),
    ]
    assert [paragraph.text for paragraph in section.paragraphs] == [
        "Talked with bob about nginx > Upstreams: add app-3.",
        "Redis: cache",
    ]


def test_links_keep_how_the_note_writes_them() -> None:
    document = read_bytes(
        b"# Ops\n\nSee [[nginx|the proxy]], [[redis#Backups]], [[#Setup]] and [the db](pg.md).\n"
    )
    links = document.sections[0].links

    assert [link.text for link in links] == ["the proxy", "redis > Backups", "Setup", "the db"]
    assert [link.written for link in links] == [
        "[[nginx|the proxy]]",
        "[[redis#Backups]]",
        "[[#Setup]]",
        "[the db](pg.md)",
    ]


def test_unclosed_front_matter_list_names_its_start() -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes(b"---\ntitle: Alice\naliases: [Alice Jones\ntags: [people]\n---\n# Alice\n")

    assert raised.value.line == 4
    assert "(parsing a flow sequence, which starts on line 3)" in raised.value.message
