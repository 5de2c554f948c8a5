"""Readers that turn note files into the document model, by file name extension."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ingest.document import Document


class Reader(Protocol):
    """A function that reads one note file into the document model."""

    def __call__(
        self,
        path: Path,
        display_path: str,
        data: bytes | None = None,
        *,
        notes_root: Path | None = None,
    ) -> Document: ...


class _Readers(Mapping[str, Reader]):
    """Readers by file suffix. A reader's module is imported when the reader is first used.

    The HTML and Markdown readers import lxml and markdown-it-py, which an ingest of plain
    text notes does not need.
    """

    def __init__(self, functions: dict[str, str]) -> None:
        self._functions = functions

    def __getitem__(self, suffix: str) -> Reader:
        module, _, name = self._functions[suffix].partition(":")
        reader: Reader = getattr(importlib.import_module(module), name)
        return reader

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)


# The suffixes of Markdown notes, the notes that can set their IRI with ``id`` in front matter.
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

READERS: Mapping[str, Reader] = _Readers(
    {
        ".txt": "ingest.readers.text:read_text",
        ".text": "ingest.readers.text:read_text",
        ".md": "ingest.readers.markdown:read_markdown",
        ".markdown": "ingest.readers.markdown:read_markdown",
        ".html": "ingest.readers.html:read_html",
        ".htm": "ingest.readers.html:read_html",
    }
)
