"""Re-ingesting edited notes: replaced graphs, stable IRIs, renamed headings, generic RDF."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from servers import send, serve_store
from sqlalchemy import delete

import ingest.run as run_module
from ingest.note_files import display
from ingest.run import IngestReport, NoteNameClash, NotesNotRead, run_ingest
from ingest.vocab import DCTERMS, KEY, NK, RDF, RDFS, SKOS
from service.engine import OxigraphEngine
from service.store import MentionSourceRow, Store

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    shutil.copytree(ROOT / "data" / "notes", folder)
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path}/store.sqlite")


def _ingest(
    notes: Path, store: Store, mapping: Path | None = MAPPING, **options: bool
) -> IngestReport:
    return run_ingest([notes], store, mapping_path=mapping, base_iri=BASE, **options)


def _facts(store: Store, name: str = "ai") -> Graph:
    generation = store.current_generation_id()
    assert generation is not None
    data = store.read_graph(generation, f"{BASE}graph/{name}")
    assert data is not None
    quads = ox.parse(data, format=ox.RdfFormat.N_QUADS)
    triples = [ox.Triple(quad.subject, quad.predicate, quad.object) for quad in quads]
    ntriples = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert ntriples is not None
    return Graph().parse(data=ntriples.decode("utf-8"), format="nt")


def _edit(note: Path, old: str, new: str) -> None:
    text = note.read_text(encoding="utf-8")
    assert old in text
    note.write_text(text.replace(old, new), encoding="utf-8")


def test_changed_note_replaces_its_graph(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    _edit(notes / "ai.txt", "Memory: 3.6 bytes per parameter", "Memory: 4 bytes per parameter")

    report = _ingest(notes, store)
    facts = _facts(store)
    quantity = facts.value(URIRef(BASE + "concept/nn-memory"), NK.memoryPerParameter)
    values = {str(value) for value in facts.objects(quantity, URIRef("https://schema.org/value"))}

    assert [change.action for change in report.changes] == ["replaced"]
    assert report.changes[0].triples_removed > 0
    assert report.changes[0].triples_added > 0
    assert report.generation == 2
    assert values == {"4"}


def test_reingest_warns_of_replaced_writes(
    notes: Path, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(notes, store)
    graph = f"{BASE}graph/ai"
    written = URIRef(f"{BASE}topic/written-by-update")
    update = f'INSERT DATA {{ GRAPH <{graph}> {{ <{written}> <{RDFS.label}> "Written" }} }}'
    with serve_store(f"sqlite:///{tmp_path}/store.sqlite", update_token="write-token") as live:
        reply = send(
            f"{live.url}/update",
            method="POST",
            data=update.encode(),
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": "Bearer write-token",
            },
        )
    assert reply.status == 200
    # A file named like the source of written graphs in the working folder changes nothing.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "update").write_text("", encoding="utf-8")

    unchanged = _ingest(notes, store)

    assert not [problem for problem in unchanged.problems if "/update" in problem.message]
    assert (written, RDFS.label, Literal("Written")) in _facts(store)

    _edit(notes / "ai.txt", "Memory: 3.6 bytes per parameter", "Memory: 4 bytes per parameter")
    report = _ingest(notes, store)
    warnings = [str(problem) for problem in report.problems if "/update" in problem.message]

    assert len(warnings) == 1
    assert warnings[0].startswith(f"notes/ai.txt:1: warning: the graph <{graph}>")
    assert (written, RDFS.label, Literal("Written")) not in _facts(store)


def test_edit_keeps_iris_of_unchanged_entities(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    before = set(_facts(store).subjects(RDF.type, None))
    _edit(notes / "ai.txt", "Tests everyday scenario understanding", "Tests everyday scenarios")

    _ingest(notes, store)
    after = set(_facts(store).subjects(RDF.type, None))

    assert after == before


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    copy = tmp_path / "ai.yaml"
    shutil.copy(MAPPING, copy)
    return copy


def _rename(notes: Path, mapping: Path, old: str, new: str) -> None:
    """Rename a heading in the note and in the mapping rule that selects it."""
    _edit(notes / "ai.txt", f"\n{old}\n", f"\n{new}\n")
    _edit(mapping, f"heading: {old}\n", f"heading: {new}\n")


def test_renamed_heading_links_old_iris(notes: Path, store: Store, mapping: Path) -> None:
    _ingest(notes, store, mapping)
    _rename(notes, mapping, "Singularity", "Technological Singularity")

    _ingest(notes, store, mapping)
    facts = _facts(store)
    new_section = URIRef(BASE + "section/ai/technological-singularity")
    new_concept = URIRef(BASE + "concept/technological-singularity")

    assert (new_section, DCTERMS.replaces, URIRef(BASE + "section/ai/singularity")) in facts
    assert (new_concept, DCTERMS.replaces, URIRef(BASE + "concept/singularity")) in facts


def test_second_rename_keeps_first_alias(notes: Path, store: Store, mapping: Path) -> None:
    _ingest(notes, store, mapping)
    _rename(notes, mapping, "Singularity", "Technological Singularity")
    _ingest(notes, store, mapping)
    _rename(notes, mapping, "Technological Singularity", "The Singularity")

    _ingest(notes, store, mapping)
    facts = _facts(store)
    newest = URIRef(BASE + "concept/the-singularity")
    replaced = set(facts.objects(newest, DCTERMS.replaces))

    assert replaced == {
        URIRef(BASE + "concept/singularity"),
        URIRef(BASE + "concept/technological-singularity"),
    }


def test_rename_back_replaces_no_iri_with_itself(notes: Path, store: Store, mapping: Path) -> None:
    _ingest(notes, store, mapping)
    _rename(notes, mapping, "Singularity", "Technological Singularity")
    _ingest(notes, store, mapping)
    _rename(notes, mapping, "Technological Singularity", "Singularity")

    _ingest(notes, store, mapping)
    facts = _facts(store)
    concept = URIRef(BASE + "concept/singularity")

    assert set(facts.objects(concept, DCTERMS.replaces)) == {
        URIRef(BASE + "concept/technological-singularity")
    }
    assert [
        link for link in facts.triples((None, DCTERMS.replaces, None)) if link[0] == link[2]
    ] == []


def test_inserted_section_adds_no_alias(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    _edit(notes / "ai.txt", "\nGodfathers\n", "\nNew Ideas\n\n  • Idea: more notes\n\nGodfathers\n")

    _ingest(notes, store)
    assert list(_facts(store).triples((None, DCTERMS.replaces, None))) == []


def test_dry_run_reports_change_without_writing(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    _edit(notes / "ai.txt", "Elo Score", "Elo rating")

    report = _ingest(notes, store, dry_run=True)
    assert [change.action for change in report.changes] == ["replaced"]
    assert report.generation is None
    assert store.current_generation_id() == 1


def test_failed_ingest_leaves_store_as_it_was(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    before = _facts(store)
    (notes / "zz-broken.txt").write_bytes(b"Title\n\n\xff\xfe not utf-8\n")

    with pytest.raises(Exception, match="zz-broken.txt:3: invalid UTF-8"):
        _ingest(notes, store)

    assert store.current_generation_id() == 1
    assert len(_facts(store)) == len(before)


def test_notes_without_mapping_give_generic_rdf(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "laptops.txt").write_text(
        "Laptops\n\nMy Laptop\n\n  • Colour: silver\n  • Weight: 1.2 kg\n\n"
        "Specs\n\nModel Year Price\nAlpha 2021 900\nBeta 2023 1200\n",
        encoding="utf-8",
    )

    report = _ingest(folder, store, mapping=None)
    facts = _facts(store, "laptops")
    section = URIRef(BASE + "section/laptops/my-laptop")
    colour = KEY["colour"]

    assert (section, colour, Literal("silver")) in facts
    assert (colour, RDF.type, RDF.Property) in facts
    assert (colour, RDFS.label, Literal("Colour")) in facts
    assert (colour, NK.unmapped, Literal(True)) in facts
    assert any("Colour" in what for what in report.unmapped)
    assert len({p.line for p in report.warnings}) >= 2
    assert (section, SKOS.prefLabel, Literal("My Laptop")) in facts


@pytest.mark.parametrize("given", [".", "absolute", "from-parent"])
def test_deleted_note_dropped_whatever_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store, given: str
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\n## One\n\nText.\n", encoding="utf-8")
    (folder / "b.md").write_text("# B\n\n## Two\n\nText.\n", encoding="utf-8")
    paths = {
        ".": (folder, Path(".")),
        "absolute": (tmp_path, folder),
        "from-parent": (tmp_path, Path("drop")),
    }
    working, path = paths[given]
    monkeypatch.chdir(working)
    run_ingest([path], store, mapping_path=None, base_iri=BASE)

    (folder / "b.md").unlink()
    report = run_ingest([path], store, mapping_path=None, base_iri=BASE)
    graphs = _current_graphs(store)

    assert sorted(change.action for change in report.changes) == ["dropped", "unchanged"]
    assert BASE + "graph/b" not in graphs
    assert BASE + "graph/a" in graphs


def test_last_note_of_folder_dropped(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\n## One\n\nText.\n", encoding="utf-8")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    (folder / "a.md").unlink()
    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert [change.action for change in report.changes] == ["dropped"]
    assert BASE + "graph/a" not in _current_graphs(store)


def test_new_empty_folder_has_no_notes(tmp_path: Path, store: Store) -> None:
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    run_ingest([tmp_path / "kept"], store, mapping_path=None, base_iri=BASE)

    with pytest.raises(run_module.NoNotesFound, match="no notes or RDF files"):
        run_ingest([tmp_path / "empty"], store, mapping_path=None, base_iri=BASE)


def test_note_unchanged_when_ingested_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notes: Path, store: Store
) -> None:
    monkeypatch.chdir(tmp_path)
    _ingest(notes, store)
    monkeypatch.chdir(notes)

    report = run_ingest([Path(".")], store, mapping_path=MAPPING, base_iri=BASE)
    assert [change.action for change in report.changes] == ["unchanged"]


def _current_graphs(store: Store) -> set[str]:
    """Return the IRIs of the graphs of the store's current generation."""
    generation = store.current_generation_id() or 0
    return {version.graph_iri for version in store.graph_versions(generation)}


def test_note_rebuilt_when_ingested_from_parent_folder(tmp_path: Path, store: Store) -> None:
    work = tmp_path / "notes" / "work"
    work.mkdir(parents=True)
    (work / "queues.md").write_text("# Queues\n\n## Kafka\n\nText.\n", encoding="utf-8")
    run_ingest([work], store, mapping_path=None, base_iri=BASE)

    report = run_ingest([tmp_path / "notes"], store, mapping_path=None, base_iri=BASE)
    graphs = _current_graphs(store)

    assert [change.action for change in report.changes] == ["replaced"]
    assert BASE + "graph/work-queues" in graphs
    assert BASE + "graph/queues" not in graphs


def test_parent_folder_ingest_moves_note_of_same_name(tmp_path: Path, store: Store) -> None:
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "sub" / "tool.md").write_text("# Sub tool\n\n## A\n\nText.\n", encoding="utf-8")
    (notes / "tool.md").write_text("# Tool\n\n## B\n\nText.\n", encoding="utf-8")
    run_ingest([notes / "sub"], store, mapping_path=None, base_iri=BASE)

    report = run_ingest([notes], store, mapping_path=None, base_iri=BASE)
    graphs = _current_graphs(store)

    assert sorted(change.action for change in report.changes) == ["added", "replaced"]
    assert {BASE + "graph/tool", BASE + "graph/sub-tool"} <= graphs


def test_single_file_keeps_its_key_in_the_store(tmp_path: Path, store: Store) -> None:
    vault = tmp_path / "vault"
    (vault / "infra").mkdir(parents=True)
    note = vault / "infra" / "PostgreSQL.md"
    note.write_text("# PostgreSQL\n\n## Facts\n\nVersion 16.\n", encoding="utf-8")
    run_ingest([vault], store, mapping_path=None, base_iri=BASE)
    note.write_text("# PostgreSQL\n\n## Facts\n\nVersion 17.\n", encoding="utf-8")

    report = run_ingest([note], store, mapping_path=None, base_iri=BASE)
    graphs = _current_graphs(store)

    assert [change.action for change in report.changes] == ["replaced"]
    assert BASE + "graph/infra-postgresql" in graphs
    assert BASE + "graph/postgresql" not in graphs


def test_missing_link_warning_dropped_once_note_exists(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\n## Links\n\nSee [[B]].\n", encoding="utf-8")
    first = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    (folder / "b.md").write_text("# B\n\n## Text\n\nText.\n", encoding="utf-8")
    second = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert any("leads to B.md" in problem.message for problem in first.warnings)
    # a.md is built again, because its link now finds a note.
    assert [change.action for change in second.changes] == ["replaced", "added"]
    assert not any("leads to B.md" in problem.message for problem in second.warnings)


DCTERMS_REFERENCES = "http://purl.org/dc/terms/references"


def test_link_to_new_note_in_subfolder_references_it(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "index.md").write_text("# Index\n\nMove to [[Patroni]] for HA.\n", encoding="utf-8")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    (folder / "infra" / "db").mkdir(parents=True)
    (folder / "infra" / "db" / "Patroni.md").write_text("# Patroni\n\nHA.\n", encoding="utf-8")
    second = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    third = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    engine = OxigraphEngine.from_store(store)
    references = engine.query(f"SELECT ?target WHERE {{ ?section <{DCTERMS_REFERENCES}> ?target }}")

    assert sorted(change.action for change in second.changes) == ["added", "replaced"]
    assert [row[0].value for row in references.rows] == [BASE + "note/infra-db-patroni"]
    assert [change.action for change in third.changes] == ["unchanged", "unchanged"]


def test_store_without_mention_texts_rebuilt(
    notes: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Format version 1 is that of the notekg releases that stored no mention texts.
    monkeypatch.setattr(run_module, "INGEST_FORMAT_VERSION", "1")
    _ingest(notes, store)
    with store.engine.begin() as connection:
        connection.execute(delete(MentionSourceRow))
    monkeypatch.undo()

    report = _ingest(notes, store)
    generation = store.current_generation_id()

    assert [change.action for change in report.changes] == ["replaced"]
    assert generation == 2
    assert store.untracked_graphs(generation) == []


# ---------------------------------------------------------------------------
# File stamps: an unchanged file is recognised without reading it
# ---------------------------------------------------------------------------


def _count_fingerprints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the notes whose bytes the ingest reads and hashes, by the hashed bytes' length."""
    hashed: list[str] = []
    fingerprint = run_module._fingerprint

    def counting(raw: bytes, key: str, mapping_bytes: bytes | None, base_iri: str) -> str:
        hashed.append(str(len(raw)))
        return fingerprint(raw, key, mapping_bytes, base_iri)

    monkeypatch.setattr(run_module, "_fingerprint", counting)
    return hashed


@pytest.fixture
def settled_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat every file as written long enough before the ingest to record its stamp."""
    monkeypatch.setattr(run_module, "settled", lambda _stat, _started_ns: True)


def _stamps(store: Store) -> set[str | None]:
    generation = store.current_generation_id() or 0
    return {version.file_stamp for version in store.graph_versions(generation)}


@pytest.mark.usefixtures("settled_files")
def test_unchanged_note_with_stamp_not_read(
    notes: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(notes, store)
    hashed = _count_fingerprints(monkeypatch)

    report = _ingest(notes, store)

    assert [change.action for change in report.changes] == ["unchanged"]
    assert hashed == []
    assert None not in _stamps(store)


@pytest.mark.usefixtures("settled_files")
def test_touched_note_read_but_not_rebuilt(
    notes: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(notes, store)
    stamps = _stamps(store)
    note = notes / "ai.txt"
    later = note.stat().st_mtime_ns + 5_000_000_000
    os.utime(note, ns=(later, later))
    hashed = _count_fingerprints(monkeypatch)

    report = _ingest(notes, store)
    again = _ingest(notes, store)

    assert [change.action for change in report.changes] == ["unchanged"]
    assert report.generation is None
    assert store.current_generation_id() == 1
    # The first run after the touch hashes the note and records its new stamp, so the
    # second run does not read it again.
    assert len(hashed) == 1
    assert [change.action for change in again.changes] == ["unchanged"]
    assert _stamps(store) != stamps


@pytest.mark.usefixtures("settled_files")
def test_rewrite_with_same_size_and_mtime_rebuilt(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    note = notes / "ai.txt"
    before = note.stat()
    text = note.read_text(encoding="utf-8")
    assert "Elo Score" in text
    note.write_text(text.replace("Elo Score", "Elo Scare"), encoding="utf-8")
    os.utime(note, ns=(before.st_atime_ns, before.st_mtime_ns))

    report = _ingest(notes, store)
    facts = _facts(store)

    assert note.stat().st_size == before.st_size
    assert note.stat().st_mtime_ns == before.st_mtime_ns
    assert [change.action for change in report.changes] == ["replaced"]
    assert any("Elo Scare" in str(label) for label in facts.objects(None, SKOS.prefLabel))


@pytest.mark.usefixtures("settled_files")
def test_changed_mapping_rebuilds_stamped_note(
    notes: Path, store: Store, mapping: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(notes, store, mapping)
    with mapping.open("a", encoding="utf-8") as file:
        file.write("\n# a comment changes the mapping's bytes\n")
    hashed = _count_fingerprints(monkeypatch)

    report = _ingest(notes, store, mapping)

    assert len(hashed) == 1
    assert [change.action for change in report.changes] == ["replaced"]


def test_recently_written_note_gets_no_stamp(
    notes: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ingest starts at the time the note was last written, within the settle window.
    written = (notes / "ai.txt").stat().st_ctime_ns
    monkeypatch.setattr(run_module.time, "time_ns", lambda: written)
    _ingest(notes, store)

    assert _stamps(store) == {None}


# Notes of the same name from separate runs


def _queue_note(folder: Path, broker: str) -> Path:
    folder.mkdir(parents=True)
    note = folder / "queues.md"
    note.write_text(f"# Queues\n\n## {broker}\n\n- Protocol: AMQP\n", encoding="utf-8")
    return note


def test_same_name_from_another_folder_is_an_error(tmp_path: Path, store: Store) -> None:
    first = _queue_note(tmp_path / "work", "RabbitMQ")
    second = _queue_note(tmp_path / "home", "Kafka")
    run_ingest([first.parent], store, mapping_path=None, base_iri=BASE)
    generation = store.current_generation_id()

    with pytest.raises(NoteNameClash) as raised:
        run_ingest([second.parent], store, mapping_path=None, base_iri=BASE)

    message = str(raised.value)
    assert message.startswith(f"{second}:1: this file gets the graph <{BASE}graph/queues>")
    assert str(first) in message
    assert "'id:'" in message
    assert store.current_generation_id() == generation


def test_taken_front_matter_id_is_named(tmp_path: Path, store: Store) -> None:
    first = _queue_note(tmp_path / "notes", "RabbitMQ")
    run_ingest([first.parent], store, mapping_path=None, base_iri=BASE)
    copy = first.parent / "broker.md"
    copy.write_text("---\ntags: [queues]\nid: queues\n---\n# Broker\n\nText.\n", encoding="utf-8")

    with pytest.raises(NoteNameClash) as raised:
        run_ingest([first.parent], store, mapping_path=None, base_iri=BASE)

    assert raised.value.path.endswith("notes/broker.md")
    assert raised.value.line == 3
    assert raised.value.message == (
        f"the front matter's 'id: queues' gives this note the IRI <{BASE}note/queues>, which "
        f"the store has from {first}; choose another id"
    )


@pytest.mark.parametrize(
    ("first_note", "other_name", "reported", "line"),
    [
        ("---\nid: shared\n---\n# Beta\n", "b.md", "b.md", 2),
        ("# Shared\n", "shared.md", "a.md", 3),
    ],
    ids=["both-ids", "id-and-file-name"],
)
def test_one_run_rejects_shared_graph(
    tmp_path: Path, store: Store, first_note: str, other_name: str, reported: str, line: int
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: A\nid: shared\n---\n# Alpha\n", encoding="utf-8")
    (folder / other_name).write_text(first_note, encoding="utf-8")

    with pytest.raises(NoteNameClash) as raised:
        run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    # The note whose front matter sets the id is named, at the id's line.
    assert raised.value.path.endswith(f"notes/{reported}")
    assert raised.value.line == line
    assert f"'id: shared' gives this note the IRI <{BASE}note/shared>" in str(raised.value)
    assert "notes/a.md" in str(raised.value)
    assert store.current_generation_id() is None


def test_moved_note_replaces_its_graph(tmp_path: Path, store: Store) -> None:
    first = _queue_note(tmp_path / "old", "RabbitMQ")
    run_ingest([first.parent], store, mapping_path=None, base_iri=BASE)
    moved = tmp_path / "new" / "queues.md"
    moved.parent.mkdir()
    first.rename(moved)

    report = run_ingest([moved.parent], store, mapping_path=None, base_iri=BASE)

    assert report.generation == 2
    assert [change.action for change in report.changes] == ["added"]


def test_every_unreadable_note_is_reported_at_once(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\n- Protocol: AMQP\n", encoding="utf-8")
    (folder / "broken.md").write_text("---\ntags: [a, b\n---\n# Broken\n", encoding="utf-8")
    (folder / "latin.txt").write_bytes("Caf\xe9\n".encode("latin-1"))

    with pytest.raises(NotesNotRead) as raised:
        run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{folder / 'broken.md'}:")
    assert "front matter" in lines[0]
    assert lines[1] == f"{folder / 'latin.txt'}:1: invalid UTF-8 byte 0xe9; save the file as UTF-8"
    assert store.current_generation_id() is None


# The mapping of the store's last ingest


def test_ingest_without_the_mapping_warns(notes: Path, store: Store) -> None:
    _ingest(notes, store)

    report = _ingest(notes, store, mapping=None)

    # A counted warning, so that --strict fails, at the first path the run reads.
    warnings = [str(problem) for problem in report.warnings if "built with" in str(problem)]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"{notes}:1: warning: the store's notes were built with the mapping {MAPPING}"
    )
    assert (
        "this run uses no mapping, so the notes that it reads are built again without one"
        in (warnings[0])
    )


def test_ingest_with_the_same_mapping_is_quiet(notes: Path, store: Store) -> None:
    _ingest(notes, store)
    (notes / "ai.txt").write_text(
        (notes / "ai.txt").read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8"
    )
    report = _ingest(notes, store)

    assert [change.action for change in report.changes] == ["replaced"]
    assert not [problem for problem in report.problems if "built with" in str(problem)]


def test_new_notes_without_the_mapping_are_quiet(notes: Path, store: Store, tmp_path: Path) -> None:
    _ingest(notes, store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "new.md").write_text("# New\n\nText.\n", encoding="utf-8")
    report = run_ingest([other], store, mapping_path=None, base_iri=BASE)

    assert not [problem for problem in report.problems if "built with" in str(problem)]


def test_ingest_with_another_base_iri_warns(notes: Path, store: Store, tmp_path: Path) -> None:
    _ingest(notes, store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "new.md").write_text("# New\n\nText.\n", encoding="utf-8")

    report = run_ingest([other], store, mapping_path=None, base_iri="https://other.example/id/")
    again = run_ingest([other], store, mapping_path=None, base_iri="https://other.example/id/")

    # The store keeps notes under the first base IRI, so every such run warns.
    expected = [
        f"{display(other)}:1: warning: the store has notes with IRIs under {BASE}, and this run "
        "uses https://other.example/id/, so the notes that it reads get IRIs under "
        "https://other.example/id/ while the others keep theirs; give the same --base-iri to "
        "every ingest of a store"
    ]
    assert [str(problem) for problem in report.warnings if "base" in str(problem)] == expected
    assert [str(problem) for problem in again.warnings if "base" in str(problem)] == expected


def test_mapping_named_by_another_path_is_the_same(
    notes: Path, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = tmp_path / "map.yaml"
    shutil.copy(MAPPING, mapping)
    run_ingest([notes], store, mapping_path=mapping, base_iri=BASE)
    mapping.write_text(mapping.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    report = run_ingest([notes], store, mapping_path=Path("map.yaml"), base_iri=BASE)

    assert [problem for problem in report.problems if "built with" in str(problem)] == []
