"""Checks on the document model that the reader tests share."""

from __future__ import annotations

from ingest.document import Document, LineSpan


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
