"""Checks on the document model that the reader tests share."""

from __future__ import annotations

from collections.abc import Callable

from ingest.document import Document, LineSpan
from ingest.problems import NoteSyntaxError


def all_spans(document: Document) -> list[LineSpan]:
    """Return every line span a document records: title, sections and all their parts."""
    spans = [document.title_span]
    for section in document.all_sections():
        spans.append(section.span)
        spans.extend(item.span for item in section.items)
        spans.extend(paragraph.span for paragraph in section.paragraphs)
        spans.extend(block.span for block in section.code_blocks)
        spans.extend(link.span for link in section.links)
        for table in section.tables:
            spans.extend([table.span, table.header_span])
            spans.extend(row.span for row in table.rows)
        for raw in section.raw_tables:
            spans.append(raw.span)
            spans.extend(LineSpan(number, number) for number, _ in raw.lines)
    return spans


def assert_read_with_valid_spans(read: Callable[[bytes], Document], text: str) -> None:
    """Read text and check that every span is inside the file; NoteSyntaxError is allowed.

    Any other exception fails the calling test, so this also proves the reader never crashes.
    """
    try:
        document = read(text.encode("utf-8", "surrogatepass"))
    except NoteSyntaxError:
        return

    last = max(document.line_count, 1)
    for span in all_spans(document):
        assert 1 <= span.start <= span.end <= last, span
