"""Problems found while reading and mapping notes, reported as ``file:line: message``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Severity(enum.Enum):
    """The severity of a problem: a warning lets the ingest go on, an error stops it."""

    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Problem:
    """One problem at one place in a note or mapping file."""

    path: str
    line: int
    message: str
    severity: Severity = Severity.WARNING

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity.value}: {self.message}"


class IngestError(Exception):
    """Base class of the errors that stop an ingest."""


class LocatedError(IngestError):
    """An error at one line of one file; its text is ``FILE:LINE: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message

    def as_problem(self) -> Problem:
        """Return the error as a problem, whose text is ``FILE:LINE: error: message``."""
        return Problem(self.path, self.line, self.message, Severity.ERROR)


class NoteSyntaxError(LocatedError):
    """A note cannot be read: wrong encoding, binary content or broken structure."""


class MappingError(LocatedError):
    """The mapping file is invalid: bad YAML, an unknown key or a wrong value."""


# The end of the warning about a link to a note file that does not exist, after its path.
MISSING_NOTE = ", which is not a note file in the notes folder; create the note or fix the link"
_MISSING_NOTE_PATH = re.compile(rf" leads to (?P<path>.+){re.escape(MISSING_NOTE)}$")


_MISSING_HEADING_NOTE = re.compile(
    r" leads to the heading .* of (?P<key>.+), which has no such heading;"
)


def missing_heading_message(text: str, heading: str, note_key: str) -> str:
    """Return the warning about a link to a heading that the linked note lacks."""
    return (
        f"link {text!r} leads to the heading {heading!r} of {note_key}, which has no such "
        "heading; link to one of its headings, or to the note alone"
    )


def missing_heading_note(message: str) -> str | None:
    """Return the linked note's path of a warning from ``missing_heading_message``, else None."""
    found = _MISSING_HEADING_NOTE.search(message)
    return found.group("key") if found else None


def missing_note_path(message: str) -> str | None:
    """Return the note path of a warning about a link to a missing note, else None.

    The path is relative to the notes folder.
    """
    found = _MISSING_NOTE_PATH.search(message)
    return found.group("path") if found else None
