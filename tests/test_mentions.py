"""Mentions: a text that names another entity of the graph links to it, across notes too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.mentions import LabelIndex, tokens
from ingest.run import run_ingest
from service.engine import OxigraphEngine
from service.store import Store

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
