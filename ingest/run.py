"""One ingest run: read notes, build their graphs, and write one new store generation.

A note whose hash (of the note, the mapping and the base IRI) is unchanged is skipped. A
changed note's graphs are replaced, and a deleted note's graphs are dropped. A stored graph
whose ``nk:mentions`` links change because the run adds or removes labels is relinked. All of
it is written in one transaction, so a failed or interrupted run leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rdflib import Graph, URIRef

from ingest.aliases import add_rename_aliases
from ingest.build import NoteGraphs, build_note, note_slug
from ingest.document import Document
from ingest.iris import IriMinter
from ingest.mapping import Mapping, empty_mapping, load_mapping
from ingest.mentions import PendingMentions
from ingest.problems import IngestError, NoteSyntaxError, Problem, Severity
from ingest.rdf_sources import RDF_FORMATS, entity_labels, read_rdf_source
from ingest.readers.html import read_html
from ingest.readers.markdown import read_markdown
from ingest.readers.text import read_text
from ingest.relink import Relinked, label_change, relink_stored, untracked_sources
from service.store import GenerationChange, NewGraph, RelinkedGraph, Store

logger = logging.getLogger(__name__)


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


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
}
# Part of every source's fingerprint, so a new value makes the next ingest rebuild every source.
# Version 2 stores the mention texts that relinking reads, which graphs of version 1 lack.
INGEST_FORMAT_VERSION = "2"


class NoNotesFound(IngestError):
    """A path given to the ingest contains no notes that a reader can read."""


class NoteNameClash(IngestError):
    """Two notes would get the same IRI, for example ai.md and ai.txt in one folder."""


@dataclass
class NoteChange:
    """The change one run made to one note, with triple counts.

    The action is added, replaced, unchanged, dropped, or relinked for a note that was not read
    again but whose stored ``nk:mentions`` links changed.
    """

    source: str
    action: str
    triples_added: int = 0
    triples_removed: int = 0


@dataclass
class IngestReport:
    """The outcome of one run: per-note changes, problems, and the generation written."""

    changes: list[NoteChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
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
    """A note on disk: its path, the path shown in messages, and its key in the notes folder.

    ``source`` is the resolved absolute path, which the store keeps to recognise the note in
    later runs from any working folder.
    """

    path: Path
    display_path: str
    key: str
    root: Path
    source: str


def find_notes(paths: Iterable[Path]) -> list[NoteFile]:
    """Return the readable notes under the given files and folders, in a stable order."""
    found: list[NoteFile] = []
    for path in paths:
        if path.is_dir():
            found.extend(_notes_in_folder(path))
        elif path.is_file():
            resolved = path.resolve()
            found.append(
                NoteFile(path, _display(path), path.name, path.parent, resolved.as_posix())
            )
        else:
            raise NoNotesFound(
                f"{path}: no such file or folder; give a note file or a folder of notes"
            )
    return found


def _notes_in_folder(folder: Path) -> list[NoteFile]:
    notes = []
    working_folder = Path.cwd().resolve()
    resolved_folders: dict[Path, Path] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and _is_source(path) and not _hidden(relative):
            resolved = _resolved(path, resolved_folders)
            display = _display(path, resolved, working_folder)
            notes.append(NoteFile(path, display, relative.as_posix(), folder, resolved.as_posix()))
    return notes


def _resolved(path: Path, resolved_folders: dict[Path, Path]) -> Path:
    """Resolve the path like Path.resolve, resolving each folder only once per walk.

    A file that is not a symbolic link resolves to its folder's resolved path and its name.
    """
    if path.is_symlink():
        return path.resolve()

    folder = resolved_folders.get(path.parent)
    if folder is None:
        folder = resolved_folders[path.parent] = path.parent.resolve()
    return folder / path.name


def _is_source(path: Path) -> bool:
    return path.suffix.lower() in READERS or path.suffix.lower() in RDF_FORMATS


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _display(path: Path, resolved: Path | None = None, working_folder: Path | None = None) -> str:
    """Return the path relative to the working folder, or as given when it is outside it.

    ``resolved`` and ``working_folder`` are the resolved paths, when the caller has them.
    """
    resolved = resolved or path.resolve()
    working_folder = working_folder or Path.cwd().resolve()
    try:
        return resolved.relative_to(working_folder).as_posix()
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
        suffixes = ", ".join(sorted([*READERS, *RDF_FORMATS]))
        raise NoNotesFound(
            f"no notes or RDF files ({suffixes}) found in {', '.join(map(str, paths))}"
        )

    _check_unique_slugs(notes)
    stored = _stored_sources(store)
    minter = IriMinter(base_iri)
    report = IngestReport(dry_run=dry_run)
    added: list[NewGraph] = []
    dropped: list[str] = []
    mentions = PendingMentions()
    for done, note in enumerate(notes, start=1):
        previous = stored.get(note.source)
        new = _ingest_note(
            note,
            mapping,
            minter,
            previous,
            report,
            validate=validate,
            store=store,
            mentions=mentions,
        )
        added.extend(new)
        dropped.extend(_replaced_leftovers(previous, new))
        if on_note:
            on_note(done, len(notes), note.display_path)

    dropped.extend(_dropped_graphs(paths, notes, stored, report))
    displays = {note.source: note.display_path for note in notes}
    relinked = _link_mentions(mentions, store, added, dropped, report, displays)
    if dry_run or (not added and not dropped):
        return report

    change = GenerationChange(
        added=added, dropped=dropped, summary=_summary(report), relinked=relinked
    )
    report.generation = store.write_generation(change).id
    return report


def _ingest_note(
    note: NoteFile,
    mapping: Mapping,
    minter: IriMinter,
    previous: StoredSource | None,
    report: IngestReport,
    *,
    validate: bool,
    store: Store,
    mentions: PendingMentions,
) -> list[NewGraph]:
    """Return the graphs of a new or changed note, or [] for a note the store has unchanged."""
    raw = note.path.read_bytes()
    fingerprint = _fingerprint(raw, mapping, minter.base_iri)
    graph_iri = minter.path("graph", note_slug(note.key))
    if previous and previous.fingerprint == fingerprint:
        report.changes.append(NoteChange(note.display_path, "unchanged"))
        report.problems.extend(
            Problem(note.display_path, line, message) for line, message in previous.problems
        )
        return []

    if note.path.suffix.lower() in RDF_FORMATS:
        new = _rdf_graphs(note, raw, str(graph_iri), fingerprint)
    else:
        graphs = _build(note, raw, mapping, minter, validate=validate)
        report.problems.extend(graphs.problems)
        report.unmapped.extend(f"{note.display_path}: {what}" for what in graphs.unmapped)
        if previous:
            _link_renamed(store, graphs)
        facts = _new_graph(graphs.graph_iri, graphs.facts, note, fingerprint)
        facts.labels = graphs.labels
        facts.problems = [
            (p.line, p.message) for p in graphs.problems if p.severity is Severity.WARNING
        ]
        mentions.add(facts, graphs.texts)
        new = [facts, _new_graph(graphs.provenance_iri, graphs.provenance, note, fingerprint)]
    old_count = previous.triple_count if previous else 0
    new_count = sum(graph.triple_count for graph in new)
    action = "replaced" if previous else "added"
    report.changes.append(NoteChange(note.display_path, action, new_count, old_count))
    logger.info("%s %s: %s triples (was %s)", action, note.display_path, new_count, old_count)
    return new


def _link_mentions(
    mentions: PendingMentions,
    store: Store,
    added: list[NewGraph],
    dropped: list[str],
    report: IngestReport,
    displays: dict[str, str],
) -> list[RelinkedGraph]:
    """Link the notes built in this run, and relink stored graphs whose mentions changed.

    Returns the new versions of the stored graphs that the run does not replace but whose
    ``nk:mentions`` links change because the run adds or removes labels.
    """
    if not added and not dropped:
        # No graph changes, so no label changes, and reading every stored label would be wasted.
        return []

    generation = store.current_generation_id()
    replaced = {graph.graph_iri for graph in added} | set(dropped)
    stored_labels = store.labels(generation) if generation is not None else []
    labels = label_change(stored_labels, replaced, added)
    for source, count in mentions.link(labels.index).items():
        for change in report.changes:
            if change.source == displays.get(source, source):
                change.triples_added += count

    if generation is None or not labels.changed:
        return []

    for source in untracked_sources(store, generation, replaced):
        report.problems.append(Problem(_shown(source, displays), 1, _UNTRACKED))
    relinked = relink_stored(store, generation, labels, replaced)
    for graph in relinked:
        _report_relinked(report, graph, _shown(graph.source, displays))
    return [graph.graph for graph in relinked]


_UNTRACKED = (
    "its stored graphs were written by an earlier notekg version, which kept no mention texts, "
    "so their nk:mentions links were not updated for the labels this run added or removed; "
    "ingest this file again to update them"
)


def _report_relinked(report: IngestReport, relinked: Relinked, shown: str) -> None:
    """Count a relinked graph in its note's change, which becomes "relinked" if "unchanged"."""
    for change in report.changes:
        if change.source == shown:
            if change.action == "unchanged":
                change.action = "relinked"
            change.triples_added += relinked.gained
            change.triples_removed += relinked.lost
            return

    report.changes.append(NoteChange(shown, "relinked", relinked.gained, relinked.lost))


def _shown(source: str, displays: dict[str, str]) -> str:
    """Return the path shown for a stored source, also for one outside this run's notes."""
    return displays.get(source) or _display(Path(source))


def _build(
    note: NoteFile, raw: bytes, mapping: Mapping, minter: IriMinter, *, validate: bool
) -> NoteGraphs:
    reader = READERS[note.path.suffix.lower()]
    try:
        document = reader(note.path, note.display_path, raw, notes_root=note.root)
    except NoteSyntaxError:
        raise
    except (OSError, ValueError) as error:
        raise NoteSyntaxError(note.display_path, 1, f"cannot read the note: {error}") from error

    graphs = build_note(document, mapping, minter, note.key)
    if validate:
        from ingest.validate import shacl_problems

        graphs.problems.extend(shacl_problems(graphs.facts, graphs.provenance, note.display_path))
    return graphs


def _link_renamed(store: Store, graphs: NoteGraphs) -> None:
    generation = store.current_generation_id()
    stored_facts = store.read_graph(generation, str(graphs.graph_iri)) if generation else None
    if stored_facts:
        add_rename_aliases(stored_facts, graphs.facts)


def _check_unique_slugs(notes: list[NoteFile]) -> None:
    """Raise NoteNameClash when two notes would get the same note IRI."""
    seen: dict[str, NoteFile] = {}
    for note in notes:
        if note.path.suffix.lower() in RDF_FORMATS:
            continue
        slug = note_slug(note.key)
        other = seen.setdefault(slug, note)
        if other is not note:
            raise NoteNameClash(
                f"{note.display_path}: this note and {other.display_path} both get the note IRI "
                f"slug {slug!r}; rename one of them or give one an 'id:' in its front matter"
            )


def _replaced_leftovers(previous: StoredSource | None, new: list[NewGraph]) -> list[str]:
    """Return the graphs a changed source had before and no longer has."""
    if previous is None or not new:
        return []
    kept = {graph.graph_iri for graph in new}
    return [iri for iri in previous.graph_iris if iri not in kept]


def _rdf_graphs(note: NoteFile, raw: bytes, file_graph: str, fingerprint: str) -> list[NewGraph]:
    graphs = read_rdf_source(raw, note.path.suffix.lower(), note.display_path, file_graph)
    return [
        NewGraph(
            graph_iri,
            note.source,
            fingerprint,
            nquads,
            nquads.count(b"\n"),
            labels=entity_labels(nquads),
        )
        for graph_iri, nquads in graphs.items()
    ]


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
        source=note.source,
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


@dataclass
class StoredSource:
    """The stored state of one source file in the current generation: fingerprint and graphs."""

    fingerprint: str
    triple_count: int = 0
    graph_iris: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def _stored_sources(store: Store) -> dict[str, StoredSource]:
    """Return source path → its stored state in the store's current generation."""
    generation = store.current_generation_id()
    if generation is None:
        return {}

    sources: dict[str, StoredSource] = {}
    for version in store.graph_versions(generation):
        stored = sources.setdefault(version.source, StoredSource(version.content_hash))
        stored.triple_count += version.triple_count
        stored.graph_iris.append(version.graph_iri)
    for source, problems in store.problems(generation).items():
        if source in sources:
            sources[source].problems = problems
    return sources


def _dropped_graphs(
    paths: list[Path], notes: list[NoteFile], stored: dict[str, StoredSource], report: IngestReport
) -> list[str]:
    """Return the stored graphs of notes that were under an ingested folder and are gone."""
    folders = [path.resolve().as_posix().rstrip("/") + "/" for path in paths if path.is_dir()]
    present = {note.source for note in notes}
    dropped = []
    for source, held in stored.items():
        inside = any(source.startswith(folder) for folder in folders)
        if inside and source not in present:
            dropped.extend(held.graph_iris)
            shown = _display(Path(source))
            report.changes.append(NoteChange(shown, "dropped", 0, held.triple_count))
    return dropped


def _summary(report: IngestReport) -> str:
    counts: dict[str, int] = {}
    for change in report.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))


def default_paths(root: Path) -> tuple[Path, Path]:
    """Return the bundled notes folder and its mapping under the project folder ``root``."""
    return root / "data" / "notes", root / "data" / "mappings" / "ai.yaml"
