"""Tests of the plain-text reader (ingest/readers/text.py) and its decoding (common.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents import all_spans
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.document import Document, LineSpan, Section
from ingest.problems import NoteSyntaxError
from ingest.readers.text import read_text

REPO = Path(__file__).resolve().parent.parent
AI_NOTE = REPO / "data" / "notes" / "ai.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "text"


def read_fixture(name: str) -> Document:
    return read_text(FIXTURES / name, name)


def read_bytes(data: bytes, name: str = "note.txt") -> Document:
    return read_text(Path(name), name, data=data)


def section_named(document: Document, title: str) -> Section:
    return next(section for section in document.sections if section.title == title)


@pytest.fixture(scope="module")
def ai_note() -> Document:
    return read_text(AI_NOTE, "data/notes/ai.txt")


# ---------------------------------------------------------------------------
# The bundled note data/notes/ai.txt
# ---------------------------------------------------------------------------


def test_ai_note_title_skips_page_chrome(ai_note: Document) -> None:
    assert ai_note.title == "AI"
    assert ai_note.title_span == LineSpan(3, 3)


def test_ai_note_drops_skip_to_content(ai_note: Document) -> None:
    texts = [paragraph.text for section in ai_note.sections for paragraph in section.paragraphs]
    assert "Skip to content" not in texts
    assert ai_note.sections[0].title == "NN Memory"


def test_ai_note_line_count(ai_note: Document) -> None:
    # The file has 78 lines, and the last one has no line break.
    assert ai_note.line_count == 78


def test_ai_note_sections_in_order(ai_note: Document) -> None:
    found = [(section.title, section.span) for section in ai_note.sections]
    assert found == [
        ("NN Memory", LineSpan(5, 8)),
        ("Transformer Layers", LineSpan(10, 16)),
        ("H100 Varieties", LineSpan(18, 27)),
        ("Benchmarks", LineSpan(29, 48)),
        ("Singularity", LineSpan(50, 53)),
        ("Godfathers", LineSpan(55, 55)),
        ("Scikit-Learn", LineSpan(57, 78)),
    ]


def test_ai_note_sections_are_top_level(ai_note: Document) -> None:
    assert all(section.level == 1 for section in ai_note.sections)
    assert all(not section.subsections for section in ai_note.sections)


def test_nn_memory_key_values(ai_note: Document) -> None:
    items = section_named(ai_note, "NN Memory").items
    assert [(item.key, item.span) for item in items] == [
        ("Memory", LineSpan(7, 7)),
        ("Double Descent", LineSpan(8, 8)),
    ]
    assert items[0].value == "3.6 bytes per parameter"
    assert items[1].value.startswith("At first, the model tries to just memorize the data")
    assert items[1].value.endswith("it begins improving again.")


def test_transformer_layers_intro_paragraph(ai_note: Document) -> None:
    paragraphs = section_named(ai_note, "Transformer Layers").paragraphs
    assert len(paragraphs) == 1
    assert paragraphs[0].text == (
        "Different layers in a transformer specialize in different linguistic properties:"
    )
    assert paragraphs[0].span == LineSpan(12, 12)


def test_transformer_layers_key_values(ai_note: Document) -> None:
    items = section_named(ai_note, "Transformer Layers").items
    assert [(item.key, item.value, item.span) for item in items] == [
        ("Lower layers", "Capture syntax and token identity.", LineSpan(14, 14)),
        ("Middle layers", "Handle grammar and sentence structure.", LineSpan(15, 15)),
        ("Deeper layers", "Focus on semantics, reasoning, and factual recall.", LineSpan(16, 16)),
    ]


def test_h100_raw_table_lines(ai_note: Document) -> None:
    section = section_named(ai_note, "H100 Varieties")
    assert len(section.raw_tables) == 1

    table = section.raw_tables[0]
    assert table.span == LineSpan(20, 27)
    assert len(table.lines) == 8
    assert table.lines[0] == (20, "Feature H100 PCIe H100 SXM H100 NVL")
    assert table.lines[-1][0] == 27
    assert table.lines[-1][1].startswith("Key Downside Slower data transfer")


def test_benchmarks_raw_table_lines(ai_note: Document) -> None:
    section = section_named(ai_note, "Benchmarks")
    assert len(section.raw_tables) == 1

    table = section.raw_tables[0]
    assert table.span == LineSpan(31, 48)
    assert len(table.lines) == 18
    assert table.lines[0] == (31, "Benchmark Focus Area Description Example Metrics")
    assert table.lines[-1][0] == 48
    assert table.lines[-1][1].startswith("VL-RewardBench Vision-language alignment")


def test_tables_are_not_paragraphs(ai_note: Document) -> None:
    for title in ("H100 Varieties", "Benchmarks"):
        section = section_named(ai_note, title)
        assert section.paragraphs == [], title
        assert section.items == [], title


def test_godfathers_section_is_empty(ai_note: Document) -> None:
    section = section_named(ai_note, "Godfathers")
    assert section.is_empty()
    assert section.span == LineSpan(55, 55)


def test_scikit_learn_code_block(ai_note: Document) -> None:
    section = section_named(ai_note, "Scikit-Learn")
    assert len(section.code_blocks) == 1

    block = section.code_blocks[0]
    assert block.language == "python"
    assert block.span == LineSpan(59, 78)


def test_scikit_learn_code_equals_file_lines(ai_note: Document) -> None:
    block = section_named(ai_note, "Scikit-Learn").code_blocks[0]
    file_lines = AI_NOTE.read_text(encoding="utf-8").split("\n")
    assert block.code == "\n".join(file_lines[58:78])


def test_scikit_learn_has_no_other_content(ai_note: Document) -> None:
    section = section_named(ai_note, "Scikit-Learn")
    assert section.paragraphs == []
    assert section.items == []


def test_ai_note_hash_and_text(ai_note: Document) -> None:
    assert len(ai_note.content_hash) == 64
    assert ai_note.text == AI_NOTE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Small fixture notes
# ---------------------------------------------------------------------------


def test_line_ending_in_colon_is_paragraph() -> None:
    document = read_fixture("colon_line.txt")
    assert [section.title for section in document.sections] == [""]

    paragraphs = document.sections[0].paragraphs
    assert [(paragraph.text, paragraph.span) for paragraph in paragraphs] == [
        ("Notes:", LineSpan(3, 3)),
        ("Plain text below the colon line.", LineSpan(5, 5)),
    ]


def test_numbered_bullets_read_as_items() -> None:
    section = read_fixture("numbered_bullets.txt").sections[0]
    assert section.title == "Install"
    assert [(item.key, item.value, item.span) for item in section.items] == [
        ("Download", "the archive", LineSpan(5, 5)),
    ]
    assert [(paragraph.text, paragraph.span) for paragraph in section.paragraphs] == [
        ("Unpack the archive", LineSpan(6, 6)),
    ]


def test_bullet_without_key_is_paragraph() -> None:
    section = read_fixture("bullet_without_key.txt").sections[0]
    assert [(paragraph.text, paragraph.span) for paragraph in section.paragraphs] == [
        ("A note with no key", LineSpan(5, 5)),
    ]
    assert [(item.key, item.value) for item in section.items] == [("Author", "Ada Lovelace")]


def test_code_with_blank_line_is_one_block() -> None:
    # Neither half of the function parses alone, but they parse together.
    document = read_fixture("code_blank_line.txt")
    section = section_named(document, "Code")
    assert len(section.code_blocks) == 1
    assert section.code_blocks[0].span == LineSpan(5, 9)
    assert section.paragraphs == []


def test_code_with_blank_line_keeps_lines() -> None:
    block = section_named(read_fixture("code_blank_line.txt"), "Code").code_blocks[0]
    assert block.code == (
        "def scale(values, factor):\n"
        "    if factor:\n"
        "\n"
        "        return [value * factor for value in values]\n"
        "    return values"
    )


def test_code_with_blank_line_stops_at_heading() -> None:
    section = section_named(read_fixture("code_blank_line.txt"), "After")
    assert section.span == LineSpan(11, 13)
    assert [paragraph.text for paragraph in section.paragraphs] == ["A closing sentence."]


def test_else_block_after_blank_line_joins_code() -> None:
    note = b"Code\n\nBranch\n\nif ready:\n    start()\n\nelse:\n    wait()\n"
    section = read_bytes(note).sections[0]
    assert [block.span for block in section.code_blocks] == [LineSpan(5, 9)]
    assert section.paragraphs == []


def test_crlf_reads_like_lf() -> None:
    lf = AI_NOTE.read_bytes()
    crlf = lf.replace(b"\n", b"\r\n")
    from_lf = read_bytes(lf, "ai.txt")
    from_crlf = read_bytes(crlf, "ai.txt")
    assert from_crlf.sections == from_lf.sections
    assert from_crlf.title_span == from_lf.title_span
    assert from_crlf.line_count == from_lf.line_count


def test_byte_order_mark_is_dropped() -> None:
    document = read_bytes(b"\xef\xbb\xbfTitle\n\nBody text.\n")
    assert document.title == "Title"
    assert document.text == "Title\n\nBody text.\n"


def test_invalid_utf8_names_line() -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes(b"Title\n\nfine\nbad \xff byte\n", "broken.txt")
    assert raised.value.line == 4
    assert raised.value.path == "broken.txt"
    assert "broken.txt:4:" in str(raised.value)
    assert "0xff" in str(raised.value)


def test_invalid_utf8_line_after_crlf() -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes(b"Title\r\n\r\nbad \xc3 byte\r\n")
    assert raised.value.line == 3


def test_binary_file_raises() -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt")
    assert "binary" in str(raised.value)


def test_nul_after_first_8_kib_raises() -> None:
    data = b"Title\n\n" + b"text line\n" * 2000 + b"\x00"
    with pytest.raises(NoteSyntaxError) as raised:
        read_bytes(data)
    assert raised.value.line == 2003


def test_ten_megabyte_line_returns() -> None:
    document = read_bytes(b"word " * 2_000_000)
    assert document.line_count == 1
    assert len(document.sections[0].paragraphs) == 1


def test_deeply_nested_code_line_returns() -> None:
    # CPython 3.11 raises RecursionError when it parses such a line, so the reader keeps it as text.
    document = read_bytes(b"x" + b".a" * 200_000 + b" = 1\n")
    assert document.line_count == 1
    assert document.sections[0].code_blocks == []


def test_empty_file_has_no_sections() -> None:
    document = read_fixture("empty.txt")
    assert document.sections == []
    assert document.line_count == 0
    assert document.title == "empty"


def test_blank_lines_file_has_no_sections() -> None:
    document = read_fixture("blank_lines.txt")
    assert document.sections == []
    assert document.line_count == 4


def test_trailing_newline_adds_no_line() -> None:
    assert read_bytes(b"Title\n\nBody.\n").line_count == 3
    assert read_bytes(b"Title\n\nBody.").line_count == 3


# ---------------------------------------------------------------------------
# Property: any text is read or rejected with NoteSyntaxError
# ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_reads_with_valid_spans(text: str) -> None:
    try:
        document = read_bytes(text.encode("utf-8"))
    except NoteSyntaxError:
        return

    # An empty note has no lines but still the title span 1-1 (checked below as well).
    last = max(document.line_count, 1)
    for span in all_spans(document):
        assert 1 <= span.start <= span.end <= last, (span, document.line_count)

    # A note without a heading gets the title span 1-1, even when the note is empty.
    title_span = document.title_span
    assert 1 <= title_span.start <= title_span.end <= max(document.line_count, 1)


def test_separated_lines_form_table() -> None:
    note = (
        "Commands\n\nNetwork\n\n"
        "| Command | Purpose | Example |\n"
        "| Ss | Socket statistics | ss -tlnp |\n"
        "| Ip | Addresses and routes | ip addr show |\n"
    )

    section = section_named(read_bytes(note.encode()), "Network")

    assert len(section.raw_tables) == 1
    assert section.paragraphs == []
    assert [line for line, _ in section.raw_tables[0].lines] == [5, 6, 7]
