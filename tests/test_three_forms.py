"""The AI page as plain text, Markdown and saved HTML gives one and the same facts graph.

Each form is ingested with data/mappings/ai.yaml into its own SQLite store, from a folder
that holds only ``ai.<ext>``, so the note IRIs agree. The graphs may differ only in the
note's own text, hash and file path; line numbers live in the provenance graph, which is
not compared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from ingest.run import run_ingest
from ingest.vocab import NK, RDF, SCHEMA, SKOS
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
FORMS = Path(__file__).resolve().parent / "fixtures" / "three_forms"
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"
NOTE = URIRef(BASE + "note/ai")
# Triples of the note that describe the file rather than the page.
FILE_PROPERTIES = (NK.contentHash, SCHEMA.text, NK.filePath)


def _ingest(form: str, tmp_path: Path) -> tuple[Graph, list[tuple[str, int]]]:
    """Ingest ``ai.<form>`` alone; return its facts graph and its warnings as (file, line)."""
    folder = tmp_path / form
    folder.mkdir()
    shutil.copy(FORMS / f"ai.{form}", folder / f"ai.{form}")
    store = Store(f"sqlite:///{tmp_path}/{form}.sqlite")
    report = run_ingest([folder], store, mapping_path=MAPPING, base_iri=BASE)

    generation = store.current_generation_id()
    assert generation is not None
    facts = Graph()
    for version, chunk in zip(
        store.graph_versions(generation), store.iter_nquads(generation), strict=True
    ):
        if version.graph_iri == BASE + "graph/ai":
            suffix = f" <{version.graph_iri}> .".encode()
            ntriples = b"\n".join(line[: -len(suffix)] + b" ." for line in chunk.splitlines())
            facts.parse(data=ntriples.decode("utf-8"), format="nt")
    warnings = [(Path(problem.path).name, problem.line) for problem in report.problems]
    return facts, warnings


def _without_file_triples(facts: Graph) -> Graph:
    kept = Graph()
    for triple in facts:
        if triple[0] == NOTE and triple[1] in FILE_PROPERTIES:
            continue
        kept.add(triple)
    return kept


@pytest.fixture(scope="module")
def ingested(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Graph, list[tuple[str, int]]]]:
    folder = tmp_path_factory.mktemp("three_forms")
    return {form: _ingest(form, folder) for form in ("txt", "md", "html")}


def _difference(first: Graph, second: Graph) -> str:
    """Describe the triples that only one graph has, for a readable failure."""
    _, only_first, only_second = graph_diff(to_isomorphic(first), to_isomorphic(second))
    lines = [f"- {triple}" for triple in sorted(only_first)][:20]
    lines += [f"+ {triple}" for triple in sorted(only_second)][:20]
    return "\n".join(lines)


@pytest.mark.parametrize("form", ["md", "html"])
def test_form_gives_text_graph(
    ingested: dict[str, tuple[Graph, list[tuple[str, int]]]], form: str
) -> None:
    text_facts = _without_file_triples(ingested["txt"][0])
    form_facts = _without_file_triples(ingested[form][0])
    assert isomorphic(form_facts, text_facts), _difference(text_facts, form_facts)


@pytest.mark.parametrize("form", ["txt", "md", "html"])
def test_form_graph_has_seventeen_benchmarks(
    ingested: dict[str, tuple[Graph, list[tuple[str, int]]]], form: str
) -> None:
    facts, _ = ingested[form]
    assert len(set(facts.subjects(RDF.type, NK.Benchmark))) == 17


@pytest.mark.parametrize("form", ["txt", "md", "html"])
def test_form_note_is_titled_ai(
    ingested: dict[str, tuple[Graph, list[tuple[str, int]]]], form: str
) -> None:
    facts, _ = ingested[form]
    assert facts.value(NOTE, SKOS.prefLabel) == Literal("AI")


@pytest.mark.parametrize(("form", "line"), [("txt", 55), ("md", 55), ("html", 265)])
def test_form_warns_only_about_godfathers(
    ingested: dict[str, tuple[Graph, list[tuple[str, int]]]], form: str, line: int
) -> None:
    _, warnings = ingested[form]
    assert warnings == [(f"ai.{form}", line)]


def test_removed_triples_are_only_file_triples(
    ingested: dict[str, tuple[Graph, list[tuple[str, int]]]],
) -> None:
    facts, _ = ingested["md"]
    removed = len(facts) - len(_without_file_triples(facts))
    assert removed == len(FILE_PROPERTIES)
