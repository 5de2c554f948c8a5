"""Checks and helpers that every reader shares."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

from ingest.problems import NoteSyntaxError


def decode_note(raw: bytes, display_path: str) -> str:
    """Decode a note as UTF-8 and normalise its line endings to ``\\n``.

    A leading byte order mark is dropped. Raises NoteSyntaxError, naming the line, for
    binary content (a NUL byte anywhere) or bytes that are not UTF-8.
    """
    nul = raw.find(b"\x00")
    if nul != -1:
        raise NoteSyntaxError(
            display_path,
            _line_at(raw, nul),
            "the file is binary (it has NUL bytes); notes must be UTF-8 text",
        )

    text = check_utf8(raw, display_path).decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_utf8(raw: bytes, display_path: str) -> bytes:
    """Return the bytes without a leading byte order mark, after checking that they are UTF-8.

    Raises NoteSyntaxError, naming the line and the byte, for bytes that are not UTF-8.
    """
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NoteSyntaxError(
            display_path,
            _line_at(raw, error.start),
            f"invalid UTF-8 byte 0x{raw[error.start]:02x}; save the file as UTF-8",
        ) from error
    return raw


def _line_at(raw: bytes, offset: int) -> int:
    """Return the 1-based line of byte ``offset``, counting CRLF, CR and LF as line breaks."""
    before = raw[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def hash_text(raw: bytes) -> str:
    """Return the SHA-256 hex digest of a note's bytes, used to skip unchanged notes."""
    return hashlib.sha256(raw).hexdigest()


def read_note_lines(
    path: Path, display_path: str, data: bytes | None
) -> tuple[bytes, str, list[str]]:
    """Read a note's bytes (unless given), decode them, and split the text into lines.

    The line break that ends the last line does not start another line, so a file of N lines
    gives N entries whether or not it ends with a line break.
    """
    raw = path.read_bytes() if data is None else data
    text = decode_note(raw, display_path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return raw, text, lines


def row_width_warning(line: int, cell_count: int, width: int) -> tuple[int, str] | None:
    """Return a warning for a table row whose number of cells differs from its header's.

    Readers fit such a row to the header, as GFM does for pipe tables, and report it with
    this warning.
    """
    cells = f"{cell_count} cell{'' if cell_count == 1 else 's'}"
    if cell_count > width:
        return line, (
            f"table row has {cells} but its header has {width}; the cells after "
            f"the {_ordinal(width)} are left out. Add header cells or remove the extra cells"
        )
    if cell_count < width:
        return line, (
            f"table row has {cells} but its header has {width}; the missing cells "
            "are left empty. Add the missing cells, empty ones where a value is unknown"
        )
    return None


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"
