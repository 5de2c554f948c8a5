"""One ingest run: read notes, build their graphs, and write one new store generation.

Unchanged notes are skipped by a hash of the note, the mapping and the base IRI; a changed
note's graphs are replaced; a deleted note's graphs are dropped. All of it is written in one
transaction, so a failed or interrupted run leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef

from ingest.build import NoteGraphs, build_note, note_slug
from ingest.document import Document
from ingest.iris import IriMinter
from ingest.mapping import Mapping, empty_mapping, load_mapping
from ingest.problems import IngestError, NoteSyntaxError, Problem, Severity
from ingest.readers.text import read_text
from service.store import GenerationChange, NewGraph, Store

logger = logging.getLogger(__name__)

READERS: dict[str, Callable[[Path, str], Document]] = {".txt": read_text, ".text": read_text}
INGEST_FORMAT_VERSION = "1"


class NoNotesFound(IngestError):
    """A path given to the ingest holds no notes that a reader can read."""


@dataclass
class NoteChange:
    """What one run did to one note: added, replaced, unchanged or dropped, with triple counts."""

    source: str
    action: str
    triples_added: int = 0
    triples_removed: int = 0


@dataclass
class IngestReport:
    """The outcome of one run: per-note changes, problems, and the generation written."""

    changes: list[NoteChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    generation: int | None = None
    dry_run: bool = False

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity is Severity.WARNING]

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]


@dataclass(frozen=True)
class NoteFile:
    """A note on disk: its path, the path shown in messages, and its key in the notes folder."""

    path: Path
    display_path: str
    key: str


def find_notes(paths: Iterable[Path]) -> list[NoteFile]:
    """Return the readable notes under the given files and folders, in a stable order."""
    found: list[NoteFile] = []
    for path in paths:
        if path.is_dir():
            found.extend(_notes_in_folder(path))
        elif path.is_file():
            found.append(NoteFile(path, _display(path), path.name))
        else:
            raise NoNotesFound(f"{path}: no such file or folder; give a note file or a folder of notes")
    return found


def _notes_in_folder(folder: Path) -> list[NoteFile]:
    notes = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and path.suffix.lower() in READERS and not _hidden(relative):
            notes.append(NoteFile(path, _display(path), relative.as_posix()))
    return notes


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def run_ingest(
    paths: list[Path],
    store: Store,
    *,
    mapping_path: Path | None,
    base_iri: str,
    dry_run: bool = False,
    validate: bool = True,
    on_note: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """Ingest notes into the store as one new generation and report what changed.

    ``on_note(done, total, path)`` is called after each note, for progress display.
    Raises IngestError (with file and line) when a note or the mapping cannot be read;
    nothing is written then.
    """
    mapping = load_mapping(mapping_path) if mapping_path else empty_mapping()
    notes = find_notes(paths)
    if not notes:
        raise NoNotesFound(f"no notes (.txt) found in {', '.join(map(str, paths))}")

    stored = _stored_versions(store)
    minter = IriMinter(base_iri)
    report = IngestReport(dry_run=dry_run)
    added: list[NewGraph] = []
    for done, note in enumerate(notes, start=1):
        added.extend(_ingest_note(note, mapping, minter, stored, report, validate=validate))
        if on_note:
            on_note(done, len(notes), note.display_path)

    dropped = _dropped_graphs(paths, notes, stored, report)
    if dry_run or (not added and not dropped):
        return report

    change = GenerationChange(added=added, dropped=dropped, summary=_summary(report))
    report.generation = store.write_generation(change).id
    return report


def _ingest_note(
    note: NoteFile,
    mapping: Mapping,
    minter: IriMinter,
    stored: dict[str, tuple[str, int, str]],
    report: IngestReport,
    *,
    validate: bool,
) -> list[NewGraph]:
    raw = note.path.read_bytes()
    fingerprint = _fingerprint(raw, mapping, minter.base_iri)
    graph_iri = minter.path("graph", note_slug(note.key))
    previous = stored.get(str(graph_iri))
    if previous and previous[0] == fingerprint:
        report.changes.append(NoteChange(note.display_path, "unchanged"))
        return []

    graphs = _build(note, raw, mapping, minter, validate=validate)
    report.problems.extend(graphs.problems)
    new = [
        _new_graph(graphs.graph_iri, graphs.facts, note, fingerprint),
        _new_graph(graphs.provenance_iri, graphs.provenance, note, fingerprint),
    ]
    old_count = previous[1] if previous else 0
    new_count = sum(graph.triple_count for graph in new)
    action = "replaced" if previous else "added"
    report.changes.append(NoteChange(note.display_path, action, new_count, old_count))
    logger.info("%s %s: %s triples (was %s)", action, note.display_path, new_count, old_count)
    return new


def _build(note: NoteFile, raw: bytes, mapping: Mapping, minter: IriMinter, *, validate: bool) -> NoteGraphs:
    reader = READERS[note.path.suffix.lower()]
    try:
        document = reader(note.path, note.display_path)
    except NoteSyntaxError:
        raise
    except (OSError, ValueError) as error:
        raise NoteSyntaxError(note.display_path, 1, f"cannot read the note: {error}") from error

    graphs = build_note(document, mapping, minter, note.key)
    if validate:
        from ingest.validate import shacl_problems

        graphs.problems.extend(shacl_problems(graphs.facts, graphs.provenance, note.display_path))
    return graphs


def _fingerprint(raw: bytes, mapping: Mapping, base_iri: str) -> str:
    digest = hashlib.sha256(raw)
    if mapping.path:
        digest.update(Path(mapping.path).read_bytes())
    digest.update(base_iri.encode("utf-8"))
    digest.update(INGEST_FORMAT_VERSION.encode("ascii"))
    return digest.hexdigest()


def _new_graph(graph_iri: URIRef, graph: Graph, note: NoteFile, fingerprint: str) -> NewGraph:
    return NewGraph(
        graph_iri=str(graph_iri),
        source=note.display_path,
        content_hash=fingerprint,
        nquads=to_nquads(graph, graph_iri),
        triple_count=len(graph),
    )


def to_nquads(graph: Graph, graph_iri: URIRef) -> bytes:
    """Serialize a graph as N-Quads in the named graph ``graph_iri``."""
    ntriples = graph.serialize(format="nt", encoding="utf-8")
    suffix = f" <{graph_iri}> .".encode()
    lines = (line[:-2] + suffix for line in ntriples.splitlines() if line.endswith(b" ."))
    return b"\n".join(sorted(lines)) + b"\n"


def _stored_versions(store: Store) -> dict[str, tuple[str, int, str]]:
    """Return graph IRI → (fingerprint, triple count of the note's graphs, source)."""
    generation = store.current_generation_id()
    if generation is None:
        return {}

    versions = store.graph_versions(generation)
    totals: dict[str, int] = {}
    for version in versions:
        totals[version.source] = totals.get(version.source, 0) + version.triple_count
    return {
        version.graph_iri: (version.content_hash, totals[version.source], version.source)
        for version in versions
    }


def _dropped_graphs(
    paths: list[Path], notes: list[NoteFile], stored: dict[str, tuple[str, int, str]], report: IngestReport
) -> list[str]:
    """Return the stored graphs of notes that were under an ingested folder and are gone."""
    folders = [_display(path) for path in paths if path.is_dir()]
    present = {note.display_path for note in notes}
    dropped = []
    for graph_iri, (_, triples, source) in stored.items():
        inside = any(source.startswith(folder.rstrip("/") + "/") for folder in folders)
        if inside and source not in present:
            dropped.append(graph_iri)
            if not graph_iri.endswith("/provenance"):
                report.changes.append(NoteChange(source, "dropped", 0, triples))
    return dropped


def _summary(report: IngestReport) -> str:
    counts: dict[str, int] = {}
    for change in report.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))


def default_paths(root: Path) -> tuple[Path, Path]:
    """Return the bundled notes folder and its mapping under the project folder ``root``."""
    return root / "data" / "notes", root / "data" / "mappings" / "ai.yaml"
