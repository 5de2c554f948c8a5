"""Mentions: a text that names another entity of the graph links to it, across notes too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from sqlalchemy import delete, update

import service.store as store_module
from ingest.mentions import LabelIndex, tokens
from ingest.run import IngestReport, run_ingest
from service.engine import OxigraphEngine
from service.store import EntityLabelRow, MentionSourceRow, Store

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"
MENTIONS = "https://notekg.example/ontology#mentions"


def _index(**labels: str) -> LabelIndex:
    index = LabelIndex()
    for iri, label in labels.items():
        index.add(iri, label)
    return index


def test_tokens_keep_names_whole() -> None:
    assert tokens("MT-Bench, Pass@1 and Moore's law.") == [
        "MT-Bench",
        "Pass@1",
        "and",
        "Moore's",
        "law",
    ]


def test_label_found_as_whole_tokens() -> None:
    index = _index(gsm8k="GSM8K", arena="OpenAI's Chatbot Arena")
    assert index.named_in("An extension of GSM8K that uses OpenAI's Chatbot Arena") == {
        "gsm8k",
        "arena",
    }


def test_label_inside_a_longer_word_is_not_found() -> None:
    assert _index(math="MATH").named_in("MATHEMATICS and math ability") == set()


def test_short_labels_are_not_indexed() -> None:
    assert _index(qa="QA").named_in("Multilingual QA") == set()


def test_labels_with_shared_first_word_found() -> None:
    index = _index(score="Elo Score", rating="Elo Score v2", elo="Elo", f1="F1 Score")
    index.add("other-elo", "Elo Score")

    assert index.named_in("ranked by Elo Score v2 and F1 Score") == {
        "score",
        "other-elo",
        "rating",
        "elo",
        "f1",
    }
    assert index.named_in("Elo") == {"elo"}
    assert index.named_in("Elo rating") == {"elo"}


def _mentions(store: Store) -> set[tuple[str, str]]:
    engine = OxigraphEngine.from_store(store)
    result = engine.query(f"SELECT ?s ?o WHERE {{ ?s <{MENTIONS}> ?o }}")
    return {(row[0].value, row[1].value) for row in result.rows}


def test_gsm_plus_description_mentions_gsm8k(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([ROOT / "data" / "notes"], store, mapping_path=MAPPING, base_iri=BASE)
    assert (BASE + "benchmark/gsm-plus", BASE + "benchmark/gsm8k") in _mentions(store)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    shutil.copytree(ROOT / "data" / "notes", folder)
    (folder / "zz-reading.md").write_text(
        "# Reading\n\n## Papers\n\nA survey that compares MMLU with HellaSwag.\n", encoding="utf-8"
    )
    return folder


def test_note_mentions_entities_of_another_note(notes: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([notes], store, mapping_path=MAPPING, base_iri=BASE)
    found = {target for subject, target in _mentions(store) if subject.endswith("papers")}
    assert found == {BASE + "benchmark/mmlu", BASE + "benchmark/hellaswag"}


def test_changed_note_finds_entities_of_stored_notes(notes: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([notes], store, mapping_path=MAPPING, base_iri=BASE)
    reading = notes / "zz-reading.md"
    reading.write_text(
        reading.read_text(encoding="utf-8").replace("HellaSwag", "TruthfulQA"), encoding="utf-8"
    )

    report = run_ingest([notes], store, mapping_path=MAPPING, base_iri=BASE)
    found = {target for subject, target in _mentions(store) if subject.endswith("papers")}

    assert [change.action for change in report.changes] == ["unchanged", "replaced"]
    assert found == {BASE + "benchmark/mmlu", BASE + "benchmark/truthfulqa"}


def test_note_mentions_entity_of_rdf_source(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "rdf" / "curated.ttl", folder / "curated.ttl")
    (folder / "notes.md").write_text("# Notes\n\n## Evals\n\nWe also ran GPQA.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert (BASE + "section/notes/evals", BASE + "benchmark/gpqa") in _mentions(store)


# Incremental ingests: a note that did not change is not read again, but its mentions follow
# the labels that later runs add, rename or remove, so the store matches a fresh ingest.

TERMS_MAPPING = """\
sections:
  - heading: Terms
    keys:
      "*": {value: entity, class: skos:Concept, kind: concept, text_property: skos:definition}
"""
READING = "# Alpha\n\n## Reading\n\nNotes on Sparse Attention.\n\n## Buffers\n\nSee Ring Buffers.\n"
READING_SECTION = BASE + "section/a/reading"
BUFFERS_SECTION = BASE + "section/a/buffers"
SPARSE_ATTENTION = BASE + "concept/sparse-attention"
RING_BUFFERS = BASE + "concept/ring-buffers"


def _terms(name: str) -> str:
    return f"# Beta\n\n## Terms\n\n- {name}: a technique of the reading list\n"


@pytest.fixture
def terms_mapping(tmp_path: Path) -> Path:
    path = tmp_path / "terms.yaml"
    path.write_text(TERMS_MAPPING, encoding="utf-8")
    return path


@pytest.fixture
def reading(tmp_path: Path) -> Path:
    """A folder with the note a.md, whose sections name Sparse Attention and Ring Buffers."""
    folder = tmp_path / "reading"
    folder.mkdir()
    (folder / "a.md").write_text(READING, encoding="utf-8")
    return folder


def _ingest(paths: list[Path], store: Store, mapping: Path) -> IngestReport:
    return run_ingest(paths, store, mapping_path=mapping, base_iri=BASE)


def _graphs(store: Store) -> dict[str, Graph]:
    """Return every named graph of the current generation as an rdflib graph."""
    generation = store.current_generation_id()
    assert generation is not None
    graphs = {}
    for graph_iri, nquads in store.iter_graphs(generation):
        quads = ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
        triples = [ox.Triple(quad.subject, quad.predicate, quad.object) for quad in quads]
        ntriples = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        assert ntriples is not None
        graphs[graph_iri] = Graph().parse(data=ntriples.decode("utf-8"), format="nt")
    return graphs


def _assert_same_as_fresh_ingest(
    store: Store, paths: list[Path], mapping: Path, fresh_path: Path
) -> None:
    """Check that the store contains the graphs that one ingest into an empty store writes."""
    fresh = Store(f"sqlite:///{fresh_path}")
    _ingest(paths, fresh, mapping)
    stored, expected = _graphs(store), _graphs(fresh)
    stored_counts = _triple_counts(store)
    expected_counts = _triple_counts(fresh)

    assert sorted(stored) == sorted(expected)
    for graph_iri, graph in expected.items():
        assert isomorphic(stored[graph_iri], graph), graph_iri
    assert stored_counts == expected_counts


def _triple_counts(store: Store) -> dict[str, int]:
    generation = store.current_generation()
    assert generation is not None
    counts = {
        version.graph_iri: version.triple_count for version in store.graph_versions(generation.id)
    }
    counts["generation"] = generation.triple_count
    return counts


def _actions(report: IngestReport) -> dict[str, str]:
    return {Path(change.source).name: change.action for change in report.changes}


def test_added_note_relinks_stored_note(reading: Path, terms_mapping: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")

    report = _ingest([reading], store, terms_mapping)

    assert (READING_SECTION, SPARSE_ATTENTION) in _mentions(store)
    assert _actions(report) == {"a.md": "relinked", "b.md": "added"}
    assert report.changes[0].triples_added == 1
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")


def test_dropped_note_removes_its_mentions(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")
    _ingest([reading], store, terms_mapping)
    assert (READING_SECTION, SPARSE_ATTENTION) in _mentions(store)
    (reading / "b.md").unlink()

    report = _ingest([reading], store, terms_mapping)

    assert _mentions(store) == set()
    assert _actions(report) == {"a.md": "relinked", "b.md": "dropped"}
    assert report.changes[0].triples_removed == 1
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")


def test_changed_label_moves_mention(reading: Path, terms_mapping: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    terms = reading / "b.md"
    terms.write_text(_terms("Sparse Attention"), encoding="utf-8")
    _ingest([reading], store, terms_mapping)
    terms.write_text(_terms("Ring Buffers"), encoding="utf-8")

    report = _ingest([reading], store, terms_mapping)

    assert _mentions(store) == {(BUFFERS_SECTION, RING_BUFFERS)}
    assert _actions(report) == {"a.md": "relinked", "b.md": "replaced"}
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")


def test_label_kept_elsewhere_keeps_mention(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")
    (reading / "c.md").write_text(_terms("Sparse Attention"), encoding="utf-8")
    (reading / "d.md").write_text(_terms("Ring Buffers"), encoding="utf-8")
    _ingest([reading], store, terms_mapping)
    (reading / "b.md").unlink()
    (reading / "d.md").unlink()

    report = _ingest([reading], store, terms_mapping)

    assert _mentions(store) == {(READING_SECTION, SPARSE_ATTENTION)}
    assert _actions(report) == {
        "a.md": "relinked",
        "b.md": "dropped",
        "c.md": "unchanged",
        "d.md": "dropped",
    }
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")


def test_other_folder_note_gains_mention(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    other = tmp_path / "terms"
    other.mkdir()
    (other / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)

    report = _ingest([other], store, terms_mapping)

    assert _mentions(store) == {(READING_SECTION, SPARSE_ATTENTION)}
    assert _actions(report) == {"a.md": "relinked", "b.md": "added"}
    fresh = tmp_path / "fresh.sqlite"
    _assert_same_as_fresh_ingest(store, [reading, other], terms_mapping, fresh)


def test_relabelled_rdf_entity_loses_mention(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    curated = folder / "curated.ttl"
    shutil.copy(ROOT / "tests" / "fixtures" / "rdf" / "curated.ttl", curated)
    (folder / "notes.md").write_text("# Notes\n\n## Evals\n\nWe also ran GPQA.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    curated.write_text(
        curated.read_text(encoding="utf-8").replace('"GPQA"', '"GPQA Diamond"'), encoding="utf-8"
    )

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert (BASE + "section/notes/evals", BASE + "benchmark/gpqa") not in _mentions(store)
    assert _actions(report) == {"curated.ttl": "replaced", "notes.md": "relinked"}


def test_dry_run_reports_relink_without_writing(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")

    report = run_ingest([reading], store, mapping_path=terms_mapping, base_iri=BASE, dry_run=True)

    assert _actions(report) == {"a.md": "relinked", "b.md": "added"}
    assert store.current_generation_id() == 1
    assert _mentions(store) == set()


def test_failed_relink_keeps_stored_graphs(
    reading: Path, terms_mapping: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    before = _graphs(store)
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")

    # Stands in for a database error while the relinked graph version is written.
    def fail(*_arguments: object) -> None:
        raise RuntimeError("simulated failure while copying graph version rows")

    monkeypatch.setattr(store_module, "_copy_version_rows", fail)
    with pytest.raises(RuntimeError, match="simulated failure"):
        _ingest([reading], store, terms_mapping)
    after = _graphs(store)

    assert store.current_generation_id() == 1
    assert sorted(after) == sorted(before)
    for graph_iri, graph in before.items():
        assert isomorphic(after[graph_iri], graph), graph_iri


def test_graphs_without_mention_texts_get_warning(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    # An earlier notekg stored no mention texts, which the next ingest reports.
    with store.engine.begin() as connection:
        connection.execute(delete(MentionSourceRow))
    other = tmp_path / "terms"
    other.mkdir()
    (other / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")

    report = _ingest([other], store, terms_mapping)
    warned = {Path(problem.path).name for problem in report.warnings}

    assert warned == {"a.md"}
    assert "ingest this file again" in report.warnings[0].message
    assert _mentions(store) == set()


def _clear_first_tokens(store: Store) -> None:
    """Make the stored labels look like those of a notekg that kept no first tokens."""
    with store.engine.begin() as connection:
        connection.execute(update(EntityLabelRow).values(first_token=None))


def test_labels_without_first_tokens_still_link(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    (reading / "b.md").write_text(_terms("Sparse Attention"), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    _clear_first_tokens(store)
    (reading / "a.md").write_text(READING + "\nSparse Attention again.\n", encoding="utf-8")

    dry = run_ingest([reading], store, mapping_path=terms_mapping, base_iri=BASE, dry_run=True)
    report = _ingest([reading], store, terms_mapping)

    assert _actions(dry) == {"a.md": "replaced", "b.md": "unchanged"}
    assert dry.changes[0].triples_added == report.changes[0].triples_added
    assert (READING_SECTION, SPARSE_ATTENTION) in _mentions(store)
    assert store.fill_label_first_tokens(lambda label: label) == 0
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")


def test_renamed_label_relinks_only_texts_naming_it(
    reading: Path, terms_mapping: Path, tmp_path: Path
) -> None:
    terms = reading / "b.md"
    terms.write_text(_terms("Sparse Attention"), encoding="utf-8")
    (reading / "c.md").write_text("# Gamma\n\n## Other\n\nNothing to see.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    _ingest([reading], store, terms_mapping)
    terms.write_text(_terms("Sparse Attention Kernels"), encoding="utf-8")

    report = _ingest([reading], store, terms_mapping)

    assert _actions(report) == {"a.md": "relinked", "b.md": "replaced", "c.md": "unchanged"}
    assert _mentions(store) == set()
    _assert_same_as_fresh_ingest(store, [reading], terms_mapping, tmp_path / "fresh.sqlite")
