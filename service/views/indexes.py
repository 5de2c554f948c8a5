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
    page_argument,
    resource_url,
    select_rows,
)

blueprint = Blueprint("indexes", __name__)

NOTES_PAGE_SIZE = 200


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
    """List one page of the notes, sorted by file path, with their sections."""
    page = page_argument("page")
    listed = select_rows(browse_queries.notes(), every_row=True)
    listed.sort(key=_note_order)
    offset = (page - 1) * NOTES_PAGE_SIZE
    page_notes = [
        binding_value(row, "note") or "" for row in listed[offset : offset + NOTES_PAGE_SIZE]
    ]
    notes = []
    if page_notes:
        rows = select_rows(browse_queries.notes_with_sections(page_notes), every_row=True)
        rows.sort(key=_section_order)
        notes = collect_notes(rows)
    return render_template(
        "notes.html",
        notes=notes,
        total=len(listed),
        first_number=offset + 1,
        next_url=url_for("indexes.notes_index", page=page + 1)
        if offset + len(page_notes) < len(listed)
        else None,
        previous_url=url_for("indexes.notes_index", page=page - 1) if page > 1 else None,
    )


def _note_order(row: dict[str, Term]) -> tuple[str, str]:
    """Sort notes by file path, then IRI; a note without a path comes first, as in SPARQL."""
    return binding_value(row, "path") or "", binding_value(row, "note") or ""


def _section_order(row: dict[str, Term]) -> tuple[str, str, int, int]:
    """Sort rows by note as ``_note_order`` does, then by section position and first line."""
    path, note = _note_order(row)
    return path, note, _number(row, "position"), _number(row, "start")


def _number(row: dict[str, Term], name: str) -> int:
    """Return an integer binding, or -1 when it is unbound, which SPARQL sorts first."""
    text = binding_value(row, name)
    return int(text) if text is not None and text.lstrip("-").isdigit() else -1


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
    link = labelled_link(row["section"], binding_value(row, "title") or binding_value(row, "label"))
    level = int(binding_value(row, "level") or 1)
    note.sections.append(
        SectionEntry(
            link, level, lines_url, int(start) if start else None, int(end) if end else None
        )
    )
