"""The document model that every reader produces and the mapping consumes.

Line numbers are 1-based and inclusive, counted in the note file as stored on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LineSpan:
    """A range of lines in a note file, 1-based and inclusive."""

    start: int
    end: int

    def __str__(self) -> str:
        if self.start == self.end:
            return str(self.start)
        return f"{self.start}-{self.end}"


@dataclass
class KeyValue:
    """A ``Key: Value`` bullet or line."""

    key: str
    value: str
    span: LineSpan


@dataclass
class Paragraph:
    """Running text that is neither a bullet nor a table."""

    text: str
    span: LineSpan


@dataclass
class TableRow:
    """One table row with its cells in column order."""

    cells: list[str]
    span: LineSpan


@dataclass
class Table:
    """A table whose cells are known.

    ``header`` names the columns. A transposed table (one entity per column) has the row
    labels in its first column, like any other table, and the mapping decides how to read it.
    """

    header: list[str]
    rows: list[TableRow]
    span: LineSpan
    header_span: LineSpan


@dataclass
class RawTable:
    """A table whose cell boundaries were lost: each row is one line of words.

    Readers of plain text produce these; ``ingest.tables`` recovers the cells.
    """

    lines: list[tuple[int, str]]
    span: LineSpan


@dataclass
class CodeBlock:
    """A block of source code with its language, when the note names it or it can be detected."""

    code: str
    language: str | None
    span: LineSpan


@dataclass
class Link:
    """A link from the note to another note or to a URL.

    ``missing`` is true for a link to a note file that is not in the notes folder, and
    ``note_id`` is the ``id`` that the linked note's front matter sets. ``written`` is the
    link as the note writes it (``[[nginx|the proxy]]``), which warnings show.
    """

    text: str
    target: str
    span: LineSpan
    missing: bool = False
    note_id: str | None = None
    written: str = ""
    # The other notes that a wiki link's bare name matches, which it does not lead to.
    others: tuple[str, ...] = ()
    # The linked note's title, when it is the link's text in another case ("Failover").
    title: str | None = None


@dataclass
class Section:
    """A heading and everything under it up to the next heading of the same or higher level."""

    title: str
    level: int
    span: LineSpan
    paragraphs: list[Paragraph] = field(default_factory=list)
    items: list[KeyValue] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    raw_tables: list[RawTable] = field(default_factory=list)
    code_blocks: list[CodeBlock] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Return whether the section has no content of its own and no subsections."""
        return not (
            self.paragraphs
            or self.items
            or self.tables
            or self.raw_tables
            or self.code_blocks
            or self.links
            or self.subsections
        )

    def walk(self) -> list[Section]:
        """Return this section and all its subsections, depth first."""
        found = [self]
        for child in self.subsections:
            found.extend(child.walk())
        return found


@dataclass
class Document:
    """One parsed note.

    ``title`` is the page title, and ``sections`` are the top-level sections below it.
    ``text`` is the note's decoded text. ``metadata`` contains the front matter keys, for
    formats that have front matter, and ``tags`` the inline tags, for formats that have them.
    """

    path: Path
    display_path: str
    title: str
    title_span: LineSpan
    sections: list[Section]
    line_count: int
    content_hash: str
    text: str = ""
    metadata: dict[str, object] = field(default_factory=dict)
    # Obsidian's inline tags of the text, as (line, tag without its "#"), in their order.
    tags: list[tuple[int, str]] = field(default_factory=list)
    # Problems that the reader found and that did not stop it, as (line, message).
    warnings: list[tuple[int, str]] = field(default_factory=list)

    def all_sections(self) -> list[Section]:
        """Return every section of the note, depth first."""
        found: list[Section] = []
        for section in self.sections:
            found.extend(section.walk())
        return found
