"""One ingest run: read notes, build their graphs, and write one new store generation.

A note whose hash (of the note, its path in the notes folder, the mapping and the base IRI) is
unchanged is skipped, and a note file whose stamp (ingest/note_files.py) is unchanged is
skipped without reading it. A changed note's graphs are replaced, and a deleted note's graphs
are dropped. A stored graph whose ``nk:mentions`` links change because the run adds or
removes labels is relinked. All of it is written in one transaction, so a failed or
interrupted run leaves the store as it was.

NOTE: a note that links to another note is not built again when the other note is deleted,
so the warning about the missing note appears only once the linking note changes.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ingest.iris import IriMinter, make_slug, note_slug
from ingest.mapping import Mapping, empty_mapping, load_mapping
from ingest.mentions import PendingMentions, label_first_token
from ingest.note_build import (
    PROVENANCE_SUFFIX,
    BuildSettings,
    BuildTask,
    BuiltNote,
    available_processes,
    build_notes,
    fewer_collections,
)
from ingest.note_files import (
    NoteFile,
    display,
    file_stamp,
    notes_in_folder,
    settings_digest,
    settled,
    single_note,
)
from ingest.problems import (
    IngestError,
    LocatedError,
    Problem,
    Severity,
    missing_heading_message,
    missing_heading_note,
    missing_note_path,
)
from ingest.rdf_sources import RDF_FORMATS, entity_labels, read_rdf_source
from ingest.readers import MARKDOWN_SUFFIXES, READERS
from ingest.relink import (
    Relinked,
    StoredLabels,
    label_change,
    relink_stored,
    untracked_sources,
)
from ingest.vocab import DCTERMS, NK
from service.store import WRITE_SOURCE, GenerationChange, NewGraph, RelinkedGraph, Store

if TYPE_CHECKING:
    from ingest.build import HeadingLink
    from ingest.readers.markdown import LinkResolver

logger = logging.getLogger(__name__)


# The most stored notes that one run rebuilds and then compares with their stored headings, so
# that the unchanged notes linking to a lost heading are built again. Each comparison reads the
# note's stored graphs and parses the note once more, a few milliseconds.
MAX_HEADING_CHECKS = 200

# Part of every source's fingerprint, so a new value makes the next ingest rebuild every source.
# Version 2 stores the mention texts that relinking reads, which graphs of version 1 lack.
# Version 3 reads the inline tags of Markdown notes (#infra/db) as keywords, and Dataview
# fields inside sentences ([Key:: Value]). Version 4 names the generated property of a key
# that starts with a digit "_2024-03-02", which RDF/XML can write. It also reads a line with
# a link before its colon as text, shows [[redis#Persistence]] as "redis > Persistence", and
# names links in warnings as the notes write them.
INGEST_FORMAT_VERSION = "4"
# The key under which the store keeps the mapping of its last ingest (Store.set_info).
MAPPING_INFO_KEY = "ingest_mapping"


class NoNotesFound(IngestError):
    """A path given to the ingest contains no notes that a reader can read."""


class NotesNotRead(IngestError):
    """Notes of a run could not be read or built; the message lists every error, one a line."""

    def __init__(self, errors: list[IngestError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


class NoteNameClash(LocatedError):
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


def find_notes(paths: Iterable[Path]) -> list[NoteFile]:
    """Return the readable notes under the given files and folders, in a stable order."""
    suffixes = {*READERS, *RDF_FORMATS}
    found: list[NoteFile] = []
    seen_paths: set[Path] = set()
    for path in paths:
        # The same file or folder given twice is read once.
        resolved = path.resolve()
        if resolved in seen_paths:
            continue
        seen_paths.add(resolved)
        if path.is_dir():
            found.extend(notes_in_folder(path, suffixes))
        elif path.is_file():
            if path.suffix.lower() not in suffixes:
                raise NoNotesFound(_unknown_suffix_message(path, suffixes))
            found.append(single_note(path))
        else:
            raise NoNotesFound(
                f"{path}: no such file or folder; give a note file or a folder of notes"
            )
    return found


def _unknown_suffix_message(path: Path, suffixes: set[str]) -> str:
    message = (
        f"{path}: not a note or RDF file; notekg reads files ending in "
        f"{', '.join(sorted(suffixes))}"
    )
    if path.suffix.lower() in (".yaml", ".yml"):
        message += f"; to use {path.name} as the mapping, pass it with --mapping"
    return message


@dataclass
class _RunContext:
    """The settings and the minter that the notes of one run share, and what it collects."""

    mapping: Mapping
    # The mapping file's bytes, which every fingerprint contains, or None without a file.
    mapping_bytes: bytes | None
    minter: IriMinter
    report: IngestReport
    store: Store
    validate: bool
    # Wall-clock time before the notes were listed, and the digest that stamps contain.
    started_ns: int
    settings: str
    mentions: PendingMentions = field(default_factory=PendingMentions)
    # Stamps of unchanged notes to record: graph version id → stamp.
    stamps: dict[int, str] = field(default_factory=dict)
    # The column and row labels of the tables that each table rule mapped, by the rule's line.
    table_names: dict[int, set[str]] = field(default_factory=dict)
    # The title and then the section headings of each note that the run built, by source.
    headings: dict[str, list[str]] = field(default_factory=dict)
    # The links to headings of the notes that the run built, with the linking note.
    heading_links: list[tuple[NoteFile, HeadingLink]] = field(default_factory=list)
    # The facts graph of each note that the run built, by the note's source.
    facts_graphs: dict[str, NewGraph] = field(default_factory=dict)

    @property
    def base_iri(self) -> str:
        return self.minter.base_iri


@fewer_collections()
def run_ingest(
    paths: list[Path],
    store: Store,
    *,
    mapping_path: Path | None,
    base_iri: str,
    dry_run: bool = False,
    validate: bool = True,
    on_note: Callable[[int, int, str], None] | None = None,
    processes: int | None = None,
    rebuild: bool = False,
) -> IngestReport:
    """Ingest notes into the store as one new generation and report what changed.

    ``on_note(done, total, path)`` is called after each note, for progress display.
    ``processes`` is the most processes that build notes at the same time, by default the
    number of CPUs that this process may use; 1 builds every note in this process. The
    store's content and the report do not depend on it. ``rebuild`` builds every note again,
    also those that did not change.
    Raises IngestError (with file and line) when a note or the mapping cannot be read;
    nothing is written then.
    """
    mapping = load_mapping(mapping_path) if mapping_path else empty_mapping()
    mapping_bytes = Path(mapping.path).read_bytes() if mapping.path else None
    started_ns = time.time_ns()
    notes = find_notes(paths)
    stored = _stored_sources(store)
    in_folders = _stored_in_folders(paths, stored)
    # A folder whose last note was deleted still has notes in the store to drop.
    if not notes and not in_folders:
        suffixes = ", ".join(sorted([*READERS, *RDF_FORMATS]))
        raise NoNotesFound(
            f"no notes or RDF files ({suffixes}) found in {', '.join(map(str, paths))}"
        )

    mapping_used = _mapping_used(mapping, mapping_bytes)
    stored_notes = any(note.source in stored for note in notes)
    report = IngestReport(dry_run=dry_run)
    where = display(Path(mapping.path)) if mapping.path else display(paths[0])
    _warn_if_mapping_changed(
        store.info(MAPPING_INFO_KEY), mapping_used, stored_notes, where, report
    )
    _warn_if_other_base_iri(stored, base_iri, display(paths[0]), report)
    notes = [_with_stored_key(note, stored.get(note.source), store) for note in notes]
    _check_unique_slugs(notes)
    if not dry_run:
        store.fill_label_first_tokens(label_first_token)
    run = _RunContext(
        mapping=mapping,
        mapping_bytes=mapping_bytes,
        minter=IriMinter(base_iri),
        report=report,
        store=store,
        validate=validate,
        started_ns=started_ns,
        settings=settings_digest(mapping_bytes, base_iri, INGEST_FORMAT_VERSION),
    )
    steps = [_step(note, stored.get(note.source), run, rebuild=rebuild) for note in notes]
    steps = _rebuild_heading_links(steps, run)
    steps = _rebuild_links_to_changed_notes(steps, stored, in_folders, run)
    added, dropped = _apply_steps(steps, run, processes or available_processes(), on_note)
    displays = {note.source: note.display_path for note in notes}
    _check_unique_graphs(added, displays, run.minter)
    _check_graph_owners(added, stored, displays, run.minter)
    if not any(step.unchanged for step in steps) and not _notes_left_out(notes, stored, in_folders):
        section_titles = [title for titles in run.headings.values() for title in titles[1:]]
        note_titles = [titles[0] for titles in run.headings.values()]
        _check_rules_match(mapping, section_titles, note_titles, run.report)
        _check_fields_match(mapping, run.table_names, run.report)

    report = run.report
    _check_heading_links(run, stored)
    _report_replaced_writes(added, stored, displays, report)
    dropped.extend(_dropped_graphs(in_folders, notes, stored, report))
    relinked = _link_mentions(run.mentions, store, added, dropped, report, displays)
    if dry_run:
        return report

    if added or dropped:
        change = GenerationChange(
            added=added, dropped=dropped, summary=_summary(report), relinked=relinked
        )
        report.generation = store.write_generation(change).id
    store.record_file_stamps(run.stamps)
    store.set_info(MAPPING_INFO_KEY, mapping_used)
    return report


def _warn_if_other_base_iri(
    stored: dict[str, StoredSource], base_iri: str, where: str, report: IngestReport
) -> None:
    """Warn, at line 1 of ``where``, when a stored note's graph is not under ``base_iri``.

    A note's graph IRI is its base IRI and then ``graph/``, so the stored graphs tell the base
    IRIs that earlier runs used, also after runs over a single file.
    """
    for source, stored_source in stored.items():
        if Path(source).suffix.lower() not in READERS:
            continue
        for graph_iri in stored_source.graph_iris:
            base, found, _ = graph_iri.rpartition("/graph/")
            if found and not graph_iri.startswith(base_iri):
                message = (
                    f"the store has notes with IRIs under {base}/, and this run uses "
                    f"{base_iri}, so the notes that it reads get IRIs under {base_iri} while "
                    "the others keep theirs; give the same --base-iri to every ingest of a store"
                )
                report.problems.append(Problem(where, 1, message))
                return


def _mapping_used(mapping: Mapping, mapping_bytes: bytes | None) -> str:
    """Return the digest of the run's mapping file and its full path, as the store keeps them."""
    digest = hashlib.sha256(mapping_bytes or b"").hexdigest()[:16]
    return f"{digest} {Path(mapping.path).resolve() if mapping.path else ''}"


def _warn_if_mapping_changed(
    previous: str | None, current: str, stored_notes: bool, where: str, report: IngestReport
) -> None:
    """Warn when the run's stored notes were built with another mapping file than the run's.

    The warning is counted, so that ``--strict`` fails, at line 1 of ``where``: the run's
    mapping file, or the first path it reads when it has none.
    """
    if previous is None or not stored_notes:
        return
    before_digest, _, before = previous.partition(" ")
    now_digest, _, now = current.partition(" ")
    if before_digest == now_digest:
        return
    # An earlier notekg kept the path as it was typed, so both are compared as full paths.
    if before and now and Path(before).resolve() == Path(now).resolve():
        logger.info("the mapping %s changed since the last ingest of this store", now)
        return
    if before == now:
        return
    message = (
        f"the store's notes were built with {f'the mapping {before}' if before else 'no mapping'}"
        f", and this run uses {f'the mapping {now}' if now else 'no mapping'}, so the notes "
        f"that it reads are built again {'with it' if now else 'without one'}; give the same "
        "--mapping to every ingest of a store"
    )
    report.problems.append(Problem(where, 1, message))


@dataclass
class _Step:
    """The decision of a run for one note: report it unchanged, or build it from ``raw``.

    ``error`` is the error that reading the note raised, which the run raises when it comes
    to the note, as it would have without reading every note first.
    """

    note: NoteFile
    previous: StoredSource | None
    unchanged: bool = False
    raw: bytes = b""
    fingerprint: str = ""
    # The stamp to record with the note's new graphs, None when the file is too recent.
    stamp: str | None = None
    error: OSError | None = None


def _step(
    note: NoteFile, previous: StoredSource | None, run: _RunContext, *, rebuild: bool = False
) -> _Step:
    """Decide whether a note changed, by its stamp or else by its fingerprint.

    A note with a link to a missing note that now exists is built again, whatever its stamp,
    so that the link references the note's IRI, which depends on the note's path. A note
    given ``rebuild`` is built again too.
    """
    stamp = file_stamp(note.stat, run.settings, note.key) if note.stat is not None else None
    relink = rebuild or (previous is not None and _links_to_new_notes(note, previous))
    if previous and not relink and stamp is not None and stamp == previous.file_stamp:
        return _Step(note, previous, unchanged=True)

    try:
        raw = note.path.read_bytes()
    except OSError as error:
        return _Step(note, previous, error=error)
    fingerprint = _fingerprint(raw, note.key, run.mapping_bytes, run.base_iri)
    if not (note.stat is not None and settled(note.stat, run.started_ns)):
        stamp = None
    if previous and not relink and previous.fingerprint == fingerprint:
        if stamp is not None:
            run.stamps.update(dict.fromkeys(previous.version_ids, stamp))
        return _Step(note, previous, unchanged=True)
    return _Step(note, previous, raw=raw, fingerprint=fingerprint, stamp=stamp)


def _apply_steps(
    steps: list[_Step],
    run: _RunContext,
    processes: int,
    on_note: Callable[[int, int, str], None] | None,
) -> tuple[list[NewGraph], list[str]]:
    """Report or build every note in order; return the new graphs and the graphs left out."""
    tasks = [
        BuildTask(step.note, step.raw, tuple(step.previous.graph_iris) if step.previous else None)
        for step in steps
        if _builds_note(step)
    ]
    settings = BuildSettings(run.mapping, run.base_iri, run.validate)
    generation = run.store.current_generation_id()

    def read_graph(graph_iri: str) -> bytes | None:
        return run.store.read_graph(generation, graph_iri) if generation else None

    built = build_notes(tasks, settings, run.minter, read_graph, processes)
    added: list[NewGraph] = []
    dropped: list[str] = []
    errors: list[IngestError] = []
    try:
        for done, step in enumerate(steps, start=1):
            try:
                new = _apply_step(step, built, run)
            except IngestError as error:
                errors.append(error)
                continue
            added.extend(new)
            dropped.extend(_replaced_leftovers(step.previous, new))
            if on_note:
                on_note(done, len(steps), step.note.display_path)
    finally:
        built.close()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise NotesNotRead(errors)
    return added, dropped


def _builds_note(step: _Step) -> bool:
    return not step.unchanged and step.error is None and step.note.suffix not in RDF_FORMATS


def _apply_step(
    step: _Step, built: Iterator[BuiltNote | IngestError], run: _RunContext
) -> list[NewGraph]:
    """Return the graphs of a new or changed note, or [] for a note the store has unchanged."""
    note, previous = step.note, step.previous
    if step.error is not None:
        raise step.error
    if step.unchanged:
        assert previous is not None
        _report_unchanged(note, previous, run.report)
        return []

    if note.suffix in RDF_FORMATS:
        graph_iri = run.minter.path("graph", note_slug(note.key))
        new = _rdf_graphs(note, step.raw, str(graph_iri), step.fingerprint)
        if not new:
            message = "the file has no triples, so nothing is stored for it"
            run.report.problems.append(Problem(note.display_path, 1, message))
    else:
        result = next(built)
        if isinstance(result, IngestError):
            raise result
        new = _note_graphs(note, result, step.fingerprint, run)
    for graph in new:
        graph.file_stamp = step.stamp

    old_count = previous.triple_count if previous else 0
    new_count = sum(graph.triple_count for graph in new)
    action = "replaced" if previous else "added"
    run.report.changes.append(NoteChange(note.display_path, action, new_count, old_count))
    # The report, which the command prints, also counts the mentions linked after this step.
    logger.debug("%s %s: %s triples (was %s)", action, note.display_path, new_count, old_count)
    return new


def _report_unchanged(note: NoteFile, previous: StoredSource, report: IngestReport) -> None:
    """Report a note as unchanged, with the warnings stored with its graphs."""
    report.changes.append(NoteChange(note.display_path, "unchanged"))
    for line, message in previous.problems:
        report.problems.append(Problem(note.display_path, line, message))


def _rebuild_heading_links(steps: list[_Step], run: _RunContext) -> list[_Step]:
    """Build again each unchanged note whose stored warnings name a heading of a changed note.

    The changed note may have the heading now, so the link is checked again. A note whose
    linked note is unchanged keeps its warning, which the run repeats.
    """
    changed = {step.note.source for step in steps if not step.unchanged}
    if not changed:
        return steps
    rebuilt = []
    for step in steps:
        if step.unchanged and step.previous is not None:
            root = step.note.root.resolve().as_posix().rstrip("/")
            for _, message in step.previous.problems:
                key = missing_heading_note(message)
                if key is not None and f"{root}/{key}" in changed:
                    step = _step(step.note, step.previous, run, rebuild=True)
                    break
        rebuilt.append(step)
    return rebuilt


def _rebuild_links_to_changed_notes(
    steps: list[_Step], stored: dict[str, StoredSource], in_folders: list[str], run: _RunContext
) -> list[_Step]:
    """Build again each unchanged note that links to a note which this run moves or changes.

    A note loses its IRI when its file is deleted or moved, or when the ``id`` in its front
    matter changes. Built again, a link to it leads to the note's current IRI, or gets the
    warning about a missing note. A changed note that lost a heading gets the notes that link
    to it built again too, so that their links to the heading are checked. So does a note
    whose file name a new note has, because links by that name may lead to the new one.
    The stored graphs of the unchanged notes are read only when there is such a note.
    """
    if not any(step.unchanged for step in steps):
        return steps
    # The stored graphs of the deleted or moved notes, and of the changed notes whose links
    # the notes that link to them must check again.
    present = {step.note.source for step in steps}
    changed: set[str] = set()
    for source in in_folders:
        if source not in present:
            changed.update(stored[source].graph_iris)
    rebuilt = [step for step in steps if _builds_note(step) and step.previous is not None]
    check_headings = len(rebuilt) <= MAX_HEADING_CHECKS
    if not check_headings:
        logger.info(
            "%s stored notes changed, more than %s, so the notes that link to their headings "
            "are not checked again",
            len(rebuilt),
            MAX_HEADING_CHECKS,
        )
    # A new note whose file name another note has changes where links by that name lead.
    new_names = {
        Path(step.note.key).name.casefold()
        for step in steps
        if _builds_note(step) and step.previous is None
    }
    for step in steps:
        if step.previous is not None and Path(step.note.key).name.casefold() in new_names:
            changed.update(step.previous.graph_iris)
    for step in rebuilt:
        previous = step.previous
        assert previous is not None
        if _facts_graph_iri(step.note, run.minter) not in previous.graph_iris:
            changed.update(previous.graph_iris)
        elif check_headings and _lost_headings(step, run):
            changed.update(previous.graph_iris)
    linked_notes = _note_iris(changed, run.minter)
    if not linked_notes:
        return steps

    # The facts graphs of the unchanged notes, with the index of the note's step.
    facts_graphs: dict[str, int] = {}
    version_ids: list[int] = []
    for index, step in enumerate(steps):
        if step.unchanged and step.previous is not None:
            versions = zip(step.previous.graph_iris, step.previous.version_ids, strict=True)
            for graph_iri, version_id in versions:
                if not graph_iri.endswith(PROVENANCE_SUFFIX):
                    facts_graphs[graph_iri] = index
                    version_ids.append(version_id)
    references = {iri: f"<{iri}>".encode() for iri in linked_notes}
    linking = set()
    for graph_iri, nquads in run.store.iter_versions(version_ids):
        # A note's own graph names the note itself, which is no link.
        own = _note_iri(graph_iri, run.minter)
        if any(reference in nquads for iri, reference in references.items() if iri != own):
            linking.add(facts_graphs[graph_iri])
    if linking:
        logger.info(
            "building again %s unchanged notes that link to moved notes or lost headings",
            len(linking),
        )
    return [
        _step(step.note, step.previous, run, rebuild=True) if index in linking else step
        for index, step in enumerate(steps)
    ]


def _lost_headings(step: _Step, run: _RunContext) -> bool:
    """Return whether the changed note lacks a heading or title that its stored graphs have.

    A lost heading that a section rule of the mapping matched, and that rule matches no
    heading of the note now, gets a warning: the note no longer has the rule's entities.
    """
    before = _stored_titles(run.store, step.previous)
    if not before:
        return False
    try:
        document = READERS[step.note.suffix](
            step.note.path, step.note.display_path, step.raw, notes_root=step.note.root
        )
    except (IngestError, OSError, ValueError):
        return False  # the build reports the error
    titles = {
        document.title,
        *(section.title or document.title for section in document.all_sections()),
    }
    keys = {_heading_key(title) for title in titles if title}
    lost = sorted(title for title in before if _heading_key(title) not in keys)
    for title in lost:
        for rule in run.mapping.sections:
            if rule.matches(title) and not any(rule.matches(now) for now in titles):
                message = (
                    f"the heading {title!r} is gone, and the section rule on line {rule.line} "
                    f"of {display(Path(run.mapping.path))} matched it, so this note no longer "
                    "has that rule's entities; restore the heading, or change the rule to match "
                    "its new name"
                )
                run.report.problems.append(Problem(step.note.display_path, 1, message))
    return bool(lost)


def _facts_graph_iri(note: NoteFile, minter: IriMinter) -> str:
    """Return the IRI of the graph that building the note gives, from its path or its ``id``."""
    explicit = None
    if note.suffix in MARKDOWN_SUFFIXES:
        from ingest.readers.markdown import front_matter_id

        explicit = front_matter_id(note.path)
    slug = make_slug(explicit[0]) if explicit else note_slug(note.key)
    return str(minter.path("graph", slug))


def _note_iris(graph_iris: Iterable[str], minter: IriMinter) -> set[str]:
    """Return the note IRIs of the notes whose facts graphs are among ``graph_iris``."""
    prefix = str(minter.path("graph", ""))
    return {
        _note_iri(iri, minter)
        for iri in graph_iris
        if iri.startswith(prefix) and not iri.endswith(PROVENANCE_SUFFIX)
    }


def _note_iri(graph_iri: str, minter: IriMinter) -> str:
    """Return the IRI of the note whose facts graph is ``graph_iri``, which the minter made."""
    return str(minter.path("note", graph_iri.removeprefix(str(minter.path("graph", "")))))


def _links_to_new_notes(note: NoteFile, previous: StoredSource) -> bool:
    """Return whether a link that the stored note's warnings call missing now finds a note."""
    # Made for the first such warning only: finding a note by its file name lists the folder.
    resolver: LinkResolver | None = None
    for _, message in previous.problems:
        missing = missing_note_path(message)
        if missing is not None:
            resolver = resolver or _link_resolver(note)
            if resolver.finds(missing):
                return True
    return False


def _link_resolver(note: NoteFile) -> LinkResolver:
    from ingest.readers.markdown import LinkResolver

    return LinkResolver(note.path, note.root)


def _note_graphs(
    note: NoteFile, built: BuiltNote, fingerprint: str, run: _RunContext
) -> list[NewGraph]:
    """Return a built note's facts and provenance graphs; collect its problems and texts."""
    run.report.problems.extend(built.problems)
    run.report.unmapped.extend(f"{note.display_path}: {what}" for what in built.unmapped)
    run.headings[note.source] = [built.note_title, *built.section_titles]
    run.heading_links.extend((note, link) for link in built.heading_links)
    for rule_line, name in built.table_names:
        run.table_names.setdefault(rule_line, set()).add(name)
    facts = NewGraph(built.graph_iri, note.source, fingerprint, built.facts, built.facts_count)
    facts.labels = built.labels
    facts.label_first_tokens = built.label_first_tokens
    facts.problems = [(p.line, p.message) for p in built.problems if p.severity is Severity.WARNING]
    run.facts_graphs[note.source] = facts
    run.mentions.add(facts, built.texts)
    provenance = NewGraph(
        built.provenance_iri, note.source, fingerprint, built.provenance, built.provenance_count
    )
    return [facts, provenance]


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
        # No graph changes, so no label changes, and reading stored labels would be wasted.
        return []

    generation = store.current_generation_id()
    replaced = {graph.graph_iri for graph in added} | set(dropped)
    labels = label_change(StoredLabels(store, generation, replaced), added)
    labels.stored.load(mentions.tokens(), labels.index)
    changes = _changes_by_source(report)
    for source, count in mentions.link(labels.index).items():
        for change in changes.get(displays.get(source, source), []):
            change.triples_added += count

    if generation is None or not labels.changed:
        return []

    for source in untracked_sources(store, generation, replaced):
        report.problems.append(Problem(_shown(source, displays), 1, _UNTRACKED))
    relinked = relink_stored(store, generation, labels, replaced)
    for graph in relinked:
        _report_relinked(report, changes, graph, _shown(graph.source, displays))
    return [graph.graph for graph in relinked]


_UNTRACKED = (
    "its stored graphs were written by an earlier notekg version, which kept no mention texts, "
    "so their nk:mentions links were not updated for the labels this run added or removed; "
    "ingest this file again to update them"
)


def _changes_by_source(report: IngestReport) -> dict[str, list[NoteChange]]:
    """Return the report's changes by the path they show, in the report's order."""
    changes: dict[str, list[NoteChange]] = {}
    for change in report.changes:
        changes.setdefault(change.source, []).append(change)
    return changes


def _report_relinked(
    report: IngestReport,
    changes: dict[str, list[NoteChange]],
    relinked: Relinked,
    shown: str,
) -> None:
    """Count a relinked graph in its note's change, which becomes "relinked" if "unchanged"."""
    if shown in changes:
        change = changes[shown][0]
        if change.action == "unchanged":
            change.action = "relinked"
        change.triples_added += relinked.gained
        change.triples_removed += relinked.lost
        return

    change = NoteChange(shown, "relinked", relinked.gained, relinked.lost)
    report.changes.append(change)
    changes[shown] = [change]


def _shown(source: str, displays: dict[str, str]) -> str:
    """Return the path shown for a stored source, also for one outside this run's notes."""
    return displays.get(source) or display(Path(source))


def _check_unique_slugs(notes: list[NoteFile]) -> None:
    """Raise NoteNameClash when two notes would get the same note IRI."""
    seen: dict[str, NoteFile] = {}
    for note in notes:
        if note.suffix in RDF_FORMATS:
            continue
        slug = note_slug(note.key)
        other = seen.setdefault(slug, note)
        if other is not note:
            markdown = [each.display_path for each in (note, other) if each.suffix == ".md"]
            fix = "rename one of them"
            if markdown:
                fix += f" or give {markdown[0]} an 'id:' in its front matter"
            raise NoteNameClash(
                note.display_path,
                1,
                f"this note and {other.display_path} both get the note IRI slug {slug!r}; {fix}",
            )


def _notes_left_out(
    notes: list[NoteFile], stored: dict[str, StoredSource], in_folders: list[str]
) -> bool:
    """Return whether the store has notes that this run neither reads nor drops.

    A run over one file or folder of a larger store has not read the other notes' headings
    and tables, so it cannot tell whether a rule of the mapping matches none of them.
    """
    read = {note.source for note in notes}
    return any(
        Path(source).suffix in READERS and source not in read and source not in in_folders
        for source in stored
    )


def _check_rules_match(
    mapping: Mapping, titles: list[str], note_titles: list[str], report: IngestReport
) -> None:
    """Warn about each section rule of the mapping that matches no heading of the run's notes.

    Only a run that built every note has read all headings. A run that skips unchanged notes
    has the mapping that they were built with. An earlier run checked that mapping, because a
    changed mapping rebuilds every note.
    """
    if not mapping.path or not titles:
        return
    for rule in mapping.sections:
        if any(rule.matches(title) for title in titles):
            continue
        pattern = rule.heading_pattern.pattern if rule.heading_pattern is not None else ""
        shown = rule.heading if rule.heading is not None else pattern
        message = (
            f"the section rule for {shown!r} matches no heading of the notes read; check its "
            "spelling against the notes' headings"
        )
        if any(rule.matches(title) for title in note_titles):
            message = (
                f"the section rule for {shown!r} matches a note's title, but that note has no "
                "text before its first section heading, which is what such a rule maps; name "
                "one of the note's section headings in the rule instead"
            )
        report.problems.append(Problem(display(Path(mapping.path)), rule.line, message))


def _check_fields_match(
    mapping: Mapping, table_names: dict[int, set[str]], report: IngestReport
) -> None:
    """Warn about each field of a table rule that names no column of the tables it mapped.

    For a transposed table the fields name the labels that start its rows. A rule that
    mapped no table is left to the warnings about its section.
    """
    if not mapping.path:
        return
    for rule in mapping.sections:
        table = rule.table
        if table is None or table.line not in table_names:
            continue
        names = sorted(table_names[table.line])
        folded = {name.casefold() for name in names}
        named = "row label" if table.entities == "columns" else "column"
        for field_name, field_rule in table.fields.items():
            if field_name.casefold() in folded:
                continue
            close = difflib.get_close_matches(field_name, names, n=1, cutoff=0.6)
            listed = {label.casefold() for label in table.row_labels or ()}
            if table.row_labels and field_name.casefold() not in listed:
                # The rule's row_labels are among the names, so they cannot be the fix.
                hint = (
                    f"if the tables have a row that starts with {field_name!r}, add it to the "
                    "rule's row_labels, which lack it"
                )
            elif close:
                hint = f"did you mean {close[0]!r}?"
            else:
                hint = f"the {named}s are {', '.join(repr(name) for name in names)}"
            message = (
                f"the field {field_name!r} of the table rule names no {named} of the tables it "
                f"mapped; {hint}"
            )
            report.problems.append(Problem(display(Path(mapping.path)), field_rule.line, message))


def _check_heading_links(run: _RunContext, stored: dict[str, StoredSource]) -> None:
    """Warn about each link of the built notes to a heading that the linked note lacks.

    Headings match whatever their case, spaces and punctuation, so ``#backup-schedule``
    finds "Backup schedule". A linked note that the run did not build has its headings read
    from its stored graph. The warnings are kept with the note, and a later run builds the
    note again when the linked note changed (``_rebuild_heading_links``).
    """
    known: dict[str, set[str] | None] = {
        source: {_heading_key(title) for title in titles} for source, titles in run.headings.items()
    }
    for note, link in run.heading_links:
        source = f"{note.root.resolve().as_posix().rstrip('/')}/{link.note_key}"
        if source not in known:
            known[source] = _stored_headings(run.store, stored.get(source))
        headings = known[source]
        if headings is None or _heading_key(link.heading) in headings:
            continue
        message = missing_heading_message(link.text, link.heading, link.note_key)
        run.report.problems.append(Problem(note.display_path, link.line, message))
        # Kept with the note, so that a run that skips the note repeats it.
        run.facts_graphs[note.source].problems.append((link.line, message))


DCTERMS_TITLE = str(DCTERMS.title)


def _heading_key(heading: str) -> str:
    """Return a heading's letters and digits in lowercase, which a link to it must match."""
    return "".join(char for char in heading.casefold() if char.isalnum())


def _stored_headings(store: Store, stored: StoredSource | None) -> set[str] | None:
    """Return the keys of a stored note's headings and title, or None when it has none stored."""
    return {_heading_key(title) for title in _stored_titles(store, stored)} or None


def _stored_titles(store: Store, stored: StoredSource | None) -> set[str]:
    """Return the headings and the title of a stored note, as its graphs have them."""
    generation = store.current_generation_id()
    if stored is None or generation is None:
        return set()
    titles: set[str] = set()
    for graph_iri in stored.graph_iris:
        data = store.read_graph(generation, graph_iri)
        if not data:
            continue
        for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS):
            if quad.predicate.value == DCTERMS_TITLE:
                titles.add(quad.object.value)
    return titles


def _check_unique_graphs(
    added: list[NewGraph], displays: dict[str, str], minter: IriMinter
) -> None:
    """Raise NoteNameClash when two notes built in this run get the same graph.

    Two notes of one run get one IRI when one's front matter sets an ``id`` that is the other's
    ``id`` or file name. The store would then keep one graph with the triples of both.
    """
    sources: dict[str, str] = {}
    for graph in added:
        other = sources.setdefault(graph.graph_iri, graph.source)
        if other == graph.source:
            continue
        shown = displays.get(graph.source, graph.source)
        other_shown = displays.get(other, other)
        note_iri = _note_iri(graph.graph_iri, minter)
        error = _taken_id(shown, graph.source, note_iri, f"{other_shown} gets too")
        error = error or _taken_id(other_shown, other, note_iri, f"{shown} gets too")
        if error is not None:
            raise error
        raise NoteNameClash(
            shown,
            1,
            f"this file and {other_shown} both get the graph <{graph.graph_iri}>; "
            + _clash_advice(graph.source, other, "give one of them an 'id:' in its front matter"),
        )


# The suffixes of RDF files that name their graphs inside.
QUAD_SUFFIXES = frozenset({".nq", ".trig"})


def _clash_advice(source: str, other: str, id_advice: str) -> str:
    """Return what to do about two files whose graphs have the same IRI.

    A note can set its IRI with ``id``, an RDF file only by its name or, in N-Quads and TriG,
    by the graph names written in it.
    """
    suffixes = {Path(source).suffix.lower(), Path(other).suffix.lower()}
    if suffixes & QUAD_SUFFIXES:
        return "rename the graph where an N-Quads or TriG file names it"
    if suffixes <= set(RDF_FORMATS):
        return "rename one of the files"
    return f"{id_advice}, or rename one of the files"


def _taken_id(display_path: str, source: str, note_iri: str, holder: str) -> NoteNameClash | None:
    """Return the error for a note whose front matter ``id`` gives it an IRI that is taken.

    ``holder`` ends the sentence about the note that has the graph too. Returns None for a
    note that sets no ``id``.
    """
    from ingest.readers.markdown import front_matter_id

    explicit = front_matter_id(Path(source))
    if explicit is None:
        return None
    value, line = explicit
    return NoteNameClash(
        display_path,
        line,
        f"the front matter's 'id: {value}' gives this note the IRI <{note_iri}>, which "
        f"{holder}; choose another id",
    )


def _check_graph_owners(
    added: list[NewGraph],
    stored: dict[str, StoredSource],
    displays: dict[str, str],
    minter: IriMinter,
) -> None:
    """Raise NoteNameClash when a new graph would replace the graph of another stored file.

    Notes in two folders ingested by separate runs, such as a/queues.md and b/queues.md, get
    the same note IRI. The file that the store has the graph from keeps it while it exists.
    Once that file no longer exists, the note counts as moved and its graph is replaced. So is
    the graph of a file that this run builds again under other graph IRIs, as when a folder
    and then its parent folder are ingested.
    """
    owners = {
        iri: source
        for source, stored_source in stored.items()
        if source != WRITE_SOURCE
        for iri in stored_source.graph_iris
    }
    rebuilt: dict[str, set[str]] = {}
    for graph in added:
        rebuilt.setdefault(graph.source, set()).add(graph.graph_iri)
    for graph in added:
        owner = owners.get(graph.graph_iri)
        if owner is None or owner == graph.source or not Path(owner).exists():
            continue
        if owner in rebuilt and graph.graph_iri not in rebuilt[owner]:
            continue
        shown = displays.get(graph.source, graph.source)
        holder = f"the store has from {display(Path(owner))}"
        error = _taken_id(shown, graph.source, _note_iri(graph.graph_iri, minter), holder)
        if error is not None:
            raise error
        raise NoteNameClash(
            shown,
            1,
            f"this file gets the graph <{graph.graph_iri}>, which the store has from "
            f"{display(Path(owner))}; "
            + _clash_advice(graph.source, owner, "give this note an 'id:' in its front matter")
            + (
                ""
                if {Path(graph.source).suffix.lower(), Path(owner).suffix.lower()}
                & set(RDF_FORMATS)
                else ", or keep both files in one folder tree and ingest that folder"
            ),
        )


def _report_replaced_writes(
    added: list[NewGraph],
    stored: dict[str, StoredSource],
    displays: dict[str, str],
    report: IngestReport,
) -> None:
    """Warn for each new graph that replaces a graph whose last version a write made.

    A write through /update or /store into a note's graph makes a version of the whole graph,
    so the ingest of the changed note replaces what the write added too.
    """
    written = set(stored[WRITE_SOURCE].graph_iris) if WRITE_SOURCE in stored else set()
    for graph in added:
        if graph.graph_iri not in written:
            continue
        message = (
            f"the graph <{graph.graph_iri}> has triples written through /update or /store, "
            "and this ingest replaces the graph with the note's triples, so those writes are "
            "gone; put them in the note, or write them again after the ingest"
        )
        report.problems.append(Problem(displays.get(graph.source, graph.source), 1, message))


def _replaced_leftovers(previous: StoredSource | None, new: list[NewGraph]) -> list[str]:
    """Return the graphs a changed source had before and no longer has."""
    if previous is None or not new:
        return []
    kept = {graph.graph_iri for graph in new}
    return [iri for iri in previous.graph_iris if iri not in kept]


def _rdf_graphs(note: NoteFile, raw: bytes, file_graph: str, fingerprint: str) -> list[NewGraph]:
    graphs = read_rdf_source(raw, note.suffix, note.display_path, file_graph)
    return [
        NewGraph(
            graph_iri,
            note.source,
            fingerprint,
            nquads,
            nquads.count(b"\n"),
            labels=labels,
            label_first_tokens=[label_first_token(label) for _, label in labels],
        )
        for graph_iri, nquads, labels in (
            (graph_iri, nquads, entity_labels(nquads)) for graph_iri, nquads in graphs.items()
        )
    ]


FILE_PATH = str(NK.filePath)


def _with_stored_key(note: NoteFile, previous: StoredSource | None, store: Store) -> NoteFile:
    """Return a note file given on its own with the key that the store has for it, if any.

    A file ingested from its folder tree has its path in that tree as its key, which gives the
    note its IRI. Ingested on its own later, its key would be its file name, and the note would
    move to another IRI. So the stored key is kept when the file's path ends with it.
    """
    if not note.single or previous is None or note.suffix in RDF_FORMATS:
        return note
    stored_key = _stored_note_key(previous, store)
    if stored_key is None or stored_key == note.key or "/" not in stored_key:
        return note
    if not note.source.endswith("/" + stored_key):
        return note
    root = Path(note.source[: -len(stored_key) - 1])
    return NoteFile(note.display_path, stored_key, root, note.source, note.stat)


def _stored_note_key(previous: StoredSource, store: Store) -> str | None:
    """Return the ``nk:filePath`` of the note that a stored source's facts graph describes."""
    generation = store.current_generation_id()
    facts = [iri for iri in previous.graph_iris if not iri.endswith(PROVENANCE_SUFFIX)]
    if generation is None or len(facts) != 1:
        return None
    data = store.read_graph(generation, facts[0])
    if not data:
        return None
    for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS):
        if quad.predicate.value == FILE_PATH and isinstance(quad.object, ox.Literal):
            return quad.object.value
    return None


def _fingerprint(raw: bytes, key: str, mapping_bytes: bytes | None, base_iri: str) -> str:
    """Return the digest of what a note's graphs are built from.

    ``key``, the note's path in the notes folder, gives the note its IRI, so the same file
    ingested from another folder is built again.
    """
    digest = hashlib.sha256(raw)
    digest.update(len(key).to_bytes(8, "big"))
    digest.update(key.encode("utf-8"))
    if mapping_bytes is not None:
        digest.update(mapping_bytes)
    digest.update(base_iri.encode("utf-8"))
    digest.update(INGEST_FORMAT_VERSION.encode("ascii"))
    return digest.hexdigest()


@dataclass
class StoredSource:
    """The stored state of one source file in the current generation: fingerprint and graphs.

    ``file_stamp`` is the stamp that all its graph versions record, or None when they record
    none or different ones.
    """

    fingerprint: str
    file_stamp: str | None = None
    triple_count: int = 0
    graph_iris: list[str] = field(default_factory=list)
    version_ids: list[int] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def _stored_sources(store: Store) -> dict[str, StoredSource]:
    """Return source path → its stored state in the store's current generation."""
    generation = store.current_generation_id()
    if generation is None:
        return {}

    sources: dict[str, StoredSource] = {}
    for version in store.graph_versions(generation):
        stored = sources.get(version.source)
        if stored is None:
            stored = StoredSource(version.content_hash, version.file_stamp)
            sources[version.source] = stored
        elif stored.file_stamp != version.file_stamp:
            stored.file_stamp = None
        stored.triple_count += version.triple_count
        stored.graph_iris.append(version.graph_iri)
        stored.version_ids.append(version.id)
    for source, problems in store.problems(generation).items():
        if source in sources:
            sources[source].problems = problems
    return sources


def _dropped_graphs(
    in_folders: list[str],
    notes: list[NoteFile],
    stored: dict[str, StoredSource],
    report: IngestReport,
) -> list[str]:
    """Return the stored graphs of notes that were under an ingested folder and are gone.

    ``in_folders`` lists the stored sources under the ingested folders.
    """
    present = {note.source for note in notes}
    dropped = []
    for source in in_folders:
        if source in present:
            continue
        stored_source = stored[source]
        dropped.extend(stored_source.graph_iris)
        change = NoteChange(display(Path(source)), "dropped", 0, stored_source.triple_count)
        report.changes.append(change)
    return dropped


def _stored_in_folders(paths: list[Path], stored: dict[str, StoredSource]) -> list[str]:
    """Return the stored sources under the folders among ``paths``."""
    folders = tuple(path.resolve().as_posix().rstrip("/") + "/" for path in paths if path.is_dir())
    return [source for source in stored if folders and source.startswith(folders)]


def _summary(report: IngestReport) -> str:
    counts: dict[str, int] = {}
    for change in report.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))


def default_paths(root: Path) -> tuple[Path, Path]:
    """Return the bundled notes folder and its mapping under the project folder ``root``."""
    return root / "data" / "notes", root / "data" / "mappings" / "ai.yaml"
