"""Tests of building notes in worker processes, in ingest/note_build.py.

Every test ingests the same notes with one process and with worker processes, and checks that
the store and the report come out the same.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

import ingest.note_build as note_build
from ingest.iris import IriMinter
from ingest.problems import NoteSyntaxError
from ingest.run import IngestReport, run_ingest
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "data" / "notes" / "ai.txt"
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"
# Makes the bundled note's empty section "Godfathers" a benchmark, which the SHACL shapes
# report because it has no focus area, metric or description.
GODFATHERS_RULE = """
  - heading: Godfathers
    entity: {class: nk:Benchmark, kind: benchmark}
"""


@pytest.fixture(autouse=True)
def workers_for_few_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start a worker for every note, so that a few notes are built in two workers."""
    monkeypatch.setattr(note_build, "NOTES_PER_PROCESS", 1)


@pytest.fixture
def accepted(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record, for each note built in a worker, whether this process accepted its IRIs."""
    results: list[bool] = []
    accept = note_build._accept

    def recording(result: object, minter: IriMinter) -> object:
        built = accept(result, minter)  # type: ignore[arg-type]
        results.append(built is not None)
        return built

    monkeypatch.setattr(note_build, "_accept", recording)
    return results


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "ai.yaml"
    path.write_text(MAPPING.read_text(encoding="utf-8") + GODFATHERS_RULE, encoding="utf-8")
    return path


def _notes(folder: Path, count: int) -> Path:
    """Write ``count`` copies of the bundled note with different titles into ``folder``."""
    folder.mkdir()
    text = NOTE.read_text(encoding="utf-8")
    for number in range(count):
        copy = text.replace("\nAI\n", f"\nAI {number}\n", 1)
        (folder / f"note-{number:02d}.txt").write_text(copy, encoding="utf-8")
    return folder


def _store_contents(store: Store) -> dict[str, bytes]:
    generation = store.current_generation_id()
    assert generation is not None
    return dict(store.iter_graphs(generation))


def _report_lines(report: IngestReport) -> list[str]:
    problems = [str(problem) for problem in report.problems]
    changes = [
        f"{change.action} {change.source} +{change.triples_added} -{change.triples_removed}"
        for change in report.changes
    ]
    return problems + changes + report.unmapped


def _ingest_both(
    notes: Path, mapping: Path, tmp_path: Path, *, validate: bool = False
) -> tuple[tuple[Store, IngestReport], tuple[Store, IngestReport]]:
    """Ingest ``notes`` into two new stores, with one process and with two."""
    results = []
    for processes in (1, 2):
        store = Store(f"sqlite:///{tmp_path}/store-{processes}.sqlite")
        report = run_ingest(
            [notes],
            store,
            mapping_path=mapping,
            base_iri=BASE,
            validate=validate,
            processes=processes,
        )
        results.append((store, report))
    return results[0], results[1]


def test_workers_give_same_store_and_report(
    mapping: Path, tmp_path: Path, accepted: list[bool]
) -> None:
    notes = _notes(tmp_path / "notes", 4)

    (alone, alone_report), (workers, workers_report) = _ingest_both(
        notes, mapping, tmp_path, validate=True
    )

    assert accepted == [True] * 4

    shacl = [p for p in alone_report.problems if "exactly one dcterms:description" in p.message]
    assert len(shacl) == 4
    assert _store_contents(workers) == _store_contents(alone)
    assert _report_lines(workers_report) == _report_lines(alone_report)
    assert workers.problems(1) == alone.problems(1)
    assert workers.labels(1) == alone.labels(1)


def test_slug_collision_between_notes_same_with_workers(
    mapping: Path, tmp_path: Path, accepted: list[bool]
) -> None:
    notes = _notes(tmp_path / "notes", 3)
    # The same slug as "Ray Kurzweil" but another label, in the second note: one process gives
    # it the slug ray-kurzweil-2, while a worker with a minter of its own would not.
    second = notes / "note-01.txt"
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("Ray Kurzweil", "Ray Kurzweil!"), encoding="utf-8")

    (alone, alone_report), (workers, workers_report) = _ingest_both(notes, mapping, tmp_path)
    person = f"<{BASE}person/ray-kurzweil-2>".encode()

    # The second note is built again in this process, with the run's minter.
    assert accepted == [True, False, True]
    assert any(person in nquads for nquads in _store_contents(alone).values())
    assert _store_contents(workers) == _store_contents(alone)
    assert _report_lines(workers_report) == _report_lines(alone_report)
    # The collision is reported once, by the note that caused it.
    collisions = [problem for problem in alone_report.problems if "same IRI slug" in str(problem)]
    assert len(collisions) == 1
    assert collisions[0].path.endswith("note-01.txt")


def test_replaced_notes_same_with_workers(
    mapping: Path, tmp_path: Path, accepted: list[bool]
) -> None:
    notes = _notes(tmp_path / "notes", 3)
    stores = []
    for processes in (1, 2):
        store = Store(f"sqlite:///{tmp_path}/store-{processes}.sqlite")
        run_ingest([notes], store, mapping_path=mapping, base_iri=BASE, processes=processes)
        stores.append(store)
    for path in sorted(notes.iterdir()):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nSingularity\n", "\nThe Singularity\n"), encoding="utf-8")
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace(
            "heading: Singularity\n", "heading: The Singularity\n"
        ),
        encoding="utf-8",
    )

    reports = [
        run_ingest([notes], store, mapping_path=mapping, base_iri=BASE, processes=processes)
        for store, processes in zip(stores, (1, 2), strict=True)
    ]
    alias = b"<http://purl.org/dc/terms/replaces>"

    assert accepted == [True] * 6
    assert [change.action for change in reports[0].changes] == ["replaced"] * 3
    assert any(alias in nquads for nquads in _store_contents(stores[0]).values())
    assert _store_contents(stores[1]) == _store_contents(stores[0])
    assert _report_lines(reports[1]) == _report_lines(reports[0])


def test_unreadable_note_raises_same_error_with_workers(mapping: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 3)
    (notes / "note-01.txt").write_bytes(b"Title\n\n\xff not utf-8\n")

    errors = []
    for processes in (1, 2):
        store = Store(f"sqlite:///{tmp_path}/store-{processes}.sqlite")
        with pytest.raises(NoteSyntaxError) as raised:
            run_ingest([notes], store, mapping_path=mapping, base_iri=BASE, processes=processes)
        errors.append(str(raised.value))
        assert store.current_generation_id() is None

    assert errors[0].endswith("note-01.txt:3: invalid UTF-8 byte 0xff; save the file as UTF-8")
    assert errors[1] == errors[0]


def test_minter_rollback_forgets_later_slugs() -> None:
    minter = IriMinter(BASE)
    minter.entity("person", "Ray Kurzweil")
    mark = minter.checkpoint()
    minter.entity("person", "Ray Kurzweil!")
    minter.entity("person", "Ada Lovelace")

    minter.rollback(mark)

    assert minter.problems == []
    assert str(minter.entity("person", "Ada Lovelace!")) == f"{BASE}person/ada-lovelace"
    assert str(minter.entity("person", "Ray Kurzweil!")) == f"{BASE}person/ray-kurzweil-2"


def test_workers_not_started_for_few_notes(
    mapping: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(note_build, "NOTES_PER_PROCESS", 20)
    started: list[int] = []
    pool = note_build.ProcessPoolExecutor

    def recording_pool(*args: object, **kwargs: object) -> object:
        started.append(1)
        return pool(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(note_build, "ProcessPoolExecutor", recording_pool)
    notes = _notes(tmp_path / "notes", 3)

    run_ingest(
        [notes], Store(f"sqlite:///{tmp_path}/s.sqlite"), mapping_path=mapping, base_iri=BASE
    )

    assert started == []


def test_to_nquads_matches_rdflib_ntriples() -> None:
    from rdflib import BNode, Graph, Literal, URIRef
    from rdflib.namespace import XSD

    graph = Graph()
    subject = URIRef("https://notekg.example/id/benchmark/mmlu")
    for value in [
        Literal('line one\nline "two"\r\\ three'),
        Literal("Überblick", lang="de"),
        Literal(7, datatype=XSD.positiveInteger),
        Literal("2024-03-18", datatype=XSD.date),
        URIRef("https://example.org/a#b"),
        BNode("b1"),
    ]:
        graph.add((subject, URIRef("https://notekg.example/ontology#p"), value))
    graph_iri = URIRef("https://notekg.example/id/graph/g")

    written = note_build.to_nquads(graph, graph_iri)

    ntriples = graph.serialize(format="nt", encoding="utf-8").splitlines()
    expected = sorted(line[:-2] + f" <{graph_iri}> .".encode() for line in ntriples if line)
    assert written == b"\n".join(expected) + b"\n"
    quads = list(ox.parse(written, format=ox.RdfFormat.N_QUADS))
    assert len(quads) == len(graph)
    assert {quad.graph_name.value for quad in quads} == {str(graph_iri)}


def test_ingest_restores_gc_thresholds(mapping: Path, tmp_path: Path) -> None:
    import gc

    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)
    try:
        run_ingest(
            [NOTE],
            Store(f"sqlite:///{tmp_path / 'kg.sqlite'}"),
            mapping_path=mapping,
            base_iri=BASE,
            validate=False,
            processes=1,
        )
        assert gc.get_threshold() == (900, 11, 12)
    finally:
        gc.set_threshold(*before)


def test_note_store_matches_memory_store() -> None:
    from rdflib import Graph, Literal, URIRef

    from ingest.build import NoteStore

    triples = [
        (
            URIRef(f"https://notekg.example/id/s{number % 3}"),
            URIRef(f"https://p/{number % 2}"),
            Literal(number % 4),
        )
        for number in range(12)
    ]
    note_graph = Graph(store=NoteStore())
    memory_graph = Graph()
    for triple in triples:
        note_graph.add(triple)
        memory_graph.add(triple)
    subject, predicate, obj = triples[4]

    assert len(note_graph) == len(memory_graph)
    for pattern in [
        (None, None, None),
        (subject, None, None),
        (None, predicate, None),
        (None, None, obj),
        (subject, predicate, None),
        (None, predicate, obj),
        (subject, predicate, obj),
        (subject, URIRef("https://p/none"), None),
    ]:
        assert set(note_graph.triples(pattern)) == set(memory_graph.triples(pattern)), pattern

    note_graph.set((subject, predicate, Literal("new")))
    memory_graph.set((subject, predicate, Literal("new")))
    assert set(note_graph) == set(memory_graph)
    assert len(note_graph) == len(memory_graph)
    assert list(note_graph.objects(subject, predicate)) == [Literal("new")]
