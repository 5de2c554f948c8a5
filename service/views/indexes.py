"""The index pages: /classes, /properties and /notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, render_template, url_for

from service import browse_queries
from service import page_queries as queries
from service.engine import Term
from service.views.common import (
    Link,
    binding_value,
    class_page_link,
    fetch_labels,
    labelled_link,
    local_name_label,
    resource_url,
    select_rows,
)

blueprint = Blueprint("indexes", __name__)


@dataclass(frozen=True)
class SectionEntry:
    """A section of a note: its page, heading level and the note lines it was read from."""

    link: Link
    level: int
    lines_url: str | None
    start: int | None
    end: int | None


@dataclass
class NoteEntry:
    """A note with its page, its note view and its sections in order."""

    link: Link
    path: str
    view_url: str
    sections: list[SectionEntry] = field(default_factory=list)


@blueprint.get("/classes")
def classes_index() -> str:
    rows = select_rows(queries.class_counts())
    iris = [binding_value(row, "class") or "" for row in rows]
    labels = fetch_labels(iris)
    classes = [
        (class_page_link(iri, labels), int(binding_value(row, "count") or 0), resource_url(iri))
        for iri, row in zip(iris, rows, strict=True)
    ]
    return render_template("classes.html", classes=classes)


@blueprint.get("/properties")
def properties_index() -> str:
    rows = select_rows(browse_queries.property_counts())
    iris = [binding_value(row, "property") or "" for row in rows]
    labels = fetch_labels(iris)
    properties = [
        (Link(iri, labels[iri], resource_url(iri)), int(binding_value(row, "count") or 0))
        for iri, row in zip(iris, rows, strict=True)
    ]
    return render_template("properties.html", properties=properties)


@blueprint.get("/notes")
def notes_index() -> str:
    notes = collect_notes(select_rows(browse_queries.notes_with_sections()))
    return render_template("notes.html", notes=notes)


def collect_notes(rows: list[dict[str, Term]]) -> list[NoteEntry]:
    """Group (note, section) rows into notes with their sections, keeping the row order."""
    notes: dict[str, NoteEntry] = {}
    for row in rows:
        iri = binding_value(row, "note") or ""
        if iri not in notes:
            path = binding_value(row, "path") or local_name_label(iri)
            link = labelled_link(row["note"], binding_value(row, "noteLabel") or path)
            notes[iri] = NoteEntry(link, path, url_for("pages.note_view", iri=iri))
        if "section" in row:
            _add_section(notes[iri], row)
    return list(notes.values())


def _add_section(note: NoteEntry, row: dict[str, Term]) -> None:
    section_iri = binding_value(row, "section") or ""
    if any(section.link.iri == section_iri for section in note.sections):
        return

    start, end = binding_value(row, "start"), binding_value(row, "end")
    lines_url = None
    if start and end:
        lines = f"{start}-{end}"
        lines_url = url_for("pages.note_view", iri=note.link.iri, lines=lines, _anchor=f"L{start}")
    link = labelled_link(row["section"], binding_value(row, "title"))
    level = int(binding_value(row, "level") or 1)
    note.sections.append(
        SectionEntry(
            link, level, lines_url, int(start) if start else None, int(end) if end else None
        )
    )
