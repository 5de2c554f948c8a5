"""Reader for web pages saved as plain text.

A browser's "save as text" keeps a page's words and line breaks but drops its markup:
- a heading is a short line standing alone between blank lines;
- bullets start with a bullet character and often read ``Key: Value``;
- a table becomes a block of consecutive lines, one row per line, with the cell boundaries
  lost (``ingest.tables`` recovers them);
- code keeps its lines; a block that Python's parser accepts is read as Python. Blocks that
  parse only together, such as a function body cut by a blank line, are joined.
Lines of page chrome such as "Skip to content" are dropped. The first heading is the page title.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.document import (
    CodeBlock,
    Document,
    KeyValue,
    LineSpan,
    Paragraph,
    RawTable,
    Section,
)
from ingest.readers.common import hash_text, read_note_lines
from ingest.tables import separated_cells

PAGE_CHROME = frozenset(
    {"skip to content", "skip to main content", "back to top", "table of contents", "menu"}
)
BULLET = re.compile(r"^\s*(?:[•●▪◦‣∙·*\-–]|\d+[.)])\s+(?P<text>.+)$")
# The key of a "Key: Value" line: up to 60 characters without a colon or a square bracket,
# and without the end of a sentence ("Written in C#. Tag: x" is a sentence, not a key).
KEY = r"(?:(?![.!?]\s+[A-Z])[^:\[\]]){1,60}?"
KEY_VALUE = re.compile(rf"^(?P<key>{KEY})::?\s+(?P<value>\S.*)$")
MAX_HEADING_LENGTH = 80
CODE_HINT = re.compile(r"[=(){}\[\];]|^\s*(?:from|import|def|class|return|#|@)\b|^\s*#")
COMPOUND_HEADER = re.compile(
    r"^\s*(?:if|elif|else|for|while|try|except|finally|with|async|def|class|match|case)\b"
    r".*:\s*(?:#.*)?$"
)
# How many blocks after a Python fragment are tried when looking for the blocks that complete it.
MAX_JOINED_BLOCKS = 10


@dataclass
class _Block:
    """Consecutive non-blank lines: (line number, text) pairs."""

    lines: list[tuple[int, str]]

    @property
    def span(self) -> LineSpan:
        return LineSpan(self.lines[0][0], self.lines[-1][0])

    @property
    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)


def read_text(
    path: Path, display_path: str, data: bytes | None = None, *, notes_root: Path | None = None
) -> Document:
    """Read a note saved as plain text into a Document.

    ``notes_root`` is accepted for the common reader signature; text notes have no links.

    Raises NoteSyntaxError for binary content or text that is not UTF-8.
    """
    raw, text, lines = read_note_lines(path, display_path, data)
    blocks = _blocks(lines)

    title, title_span, blocks = _take_title(blocks, display_path)
    sections = _sections(blocks)
    return Document(
        path=path,
        display_path=display_path,
        title=title,
        title_span=title_span,
        sections=sections,
        line_count=len(lines),
        content_hash=hash_text(raw),
        text=text,
    )


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            current.append((number, line.rstrip()))
        elif current:
            blocks.append(_Block(current))
            current = []
    if current:
        blocks.append(_Block(current))
    return [block for block in blocks if not _is_chrome(block)]


def _is_chrome(block: _Block) -> bool:
    return len(block.lines) == 1 and block.lines[0][1].strip().lower() in PAGE_CHROME


def _take_title(blocks: list[_Block], display_path: str) -> tuple[str, LineSpan, list[_Block]]:
    if blocks and _is_heading(blocks[0]):
        return blocks[0].lines[0][1].strip(), blocks[0].span, blocks[1:]
    return Path(display_path).stem, LineSpan(1, 1), blocks


def _is_heading(block: _Block) -> bool:
    if len(block.lines) != 1:
        return False

    text = block.lines[0][1].strip()
    if len(text) > MAX_HEADING_LENGTH or text.endswith((".", ":", ";", ",", "!", "?")):
        return False
    if BULLET.match(text) or CODE_HINT.search(text):
        return False
    return text[0].isupper() or text[0].isdigit()


def _sections(blocks: list[_Block]) -> list[Section]:
    sections: list[Section] = []
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if _is_heading(block) and not _starts_code(blocks, index):
            sections.append(Section(block.lines[0][1].strip(), 1, block.span))
            index += 1
            continue

        if not sections:
            sections.append(Section("", 1, block.span))
        section = sections[-1]

        index = _read_content(blocks, index, section)
        section.span = LineSpan(section.span.start, blocks[index - 1].span.end)
    return sections


def _read_content(blocks: list[_Block], index: int, section: Section) -> int:
    """Add the content block at ``index`` (or a run of code blocks) to the section."""
    code_end = _code_run_end(blocks, index)
    if code_end > index:
        section.code_blocks.append(_code_block(blocks[index:code_end]))
        return code_end

    block = blocks[index]
    if any(BULLET.match(text) for _, text in block.lines):
        _read_bullets(block, section)
    elif len(block.lines) >= 2 and _looks_like_table(block):
        section.raw_tables.append(RawTable(list(block.lines), block.span))
    else:
        section.paragraphs.append(
            Paragraph(" ".join(t.strip() for _, t in block.lines), block.span)
        )
    return index + 1


def _read_bullets(block: _Block, section: Section) -> None:
    for number, text in block.lines:
        bullet = BULLET.match(text)
        body = bullet.group("text").strip() if bullet else text.strip()
        pair = KEY_VALUE.match(body)
        span = LineSpan(number, number)
        if pair:
            section.items.append(
                KeyValue(pair.group("key").strip(), pair.group("value").strip(), span)
            )
        else:
            section.paragraphs.append(Paragraph(body, span))


def _looks_like_table(block: _Block) -> bool:
    """Consecutive lines that each start a new row: none continues the sentence before it.

    A line with " | " between its cells is a row too, whatever it starts with.
    """
    return all(
        text.strip()[0].isupper() or text.strip()[0].isdigit() or separated_cells(text)
        for _, text in block.lines
    )


def _starts_code(blocks: list[_Block], index: int) -> bool:
    return _code_run_end(blocks, index) > index


def _code_run_end(blocks: list[_Block], index: int) -> int:
    """Return the index after the run of code blocks starting at ``index`` (``index`` if none)."""
    end = index
    while end < len(blocks):
        if _is_code(blocks[end]):
            end += 1
            continue
        joined_end = _fragment_end(blocks, index, end)
        if joined_end == end:
            break
        end = joined_end
    return end


def _fragment_end(blocks: list[_Block], start: int, index: int) -> int:
    """Return the end of the blocks that complete the Python fragment at ``index``.

    A blank line inside code splits it into blocks, and a block such as ``def f(x):`` does
    not parse alone. The fragment joins the run ``blocks[start:index]`` when the run, the
    fragment and the next few code-like blocks parse together. Returns ``index`` when the
    block is not such a fragment.
    """
    if not _is_code_like(blocks[index]) or _parses_as_python(blocks[index].text):
        return index

    last = min(len(blocks), index + 1 + MAX_JOINED_BLOCKS)
    for stop in range(index, last):
        if stop > index and not _is_code_like(blocks[stop]):
            break
        if _parses_as_python(_source(blocks[start : stop + 1])):
            return stop + 1
    return index


def _is_code_like(block: _Block) -> bool:
    """Return whether a block could be part of Python code: a code hint or an indented line."""
    if any(BULLET.match(text) for _, text in block.lines):
        return False
    return any(
        CODE_HINT.search(text) or COMPOUND_HEADER.match(text) or text[:1].isspace()
        for _, text in block.lines
    )


def _is_code(block: _Block) -> bool:
    if not any(CODE_HINT.search(text) for _, text in block.lines):
        return False
    if all(text.lstrip().startswith("#") for _, text in block.lines):
        return False
    return _parses_as_python(block.text) and not any(BULLET.match(t) for _, t in block.lines)


# Finding where a run of code blocks ends parses the same blocks several times.
@functools.lru_cache(maxsize=256)
def _parses_as_python(source: str) -> bool:
    try:
        ast.parse(_dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython 3.11 raises RecursionError or MemoryError for deeply nested expressions
        # such as a long line of ``x.a.a.a…`` or ``----1``.
        return False
    return True


def _dedent(source: str) -> str:
    import textwrap

    return textwrap.dedent(source)


def _source(blocks: list[_Block]) -> str:
    """Return the lines of consecutive blocks, with the blank lines between them kept."""
    first = blocks[0].span.start
    last = blocks[-1].span.end
    by_number = {number: text for block in blocks for number, text in block.lines}
    return "\n".join(by_number.get(number, "") for number in range(first, last + 1))


def _code_block(blocks: list[_Block]) -> CodeBlock:
    span = LineSpan(blocks[0].span.start, blocks[-1].span.end)
    return CodeBlock(code=_dedent(_source(blocks)), language="python", span=span)
