"""The search index, in memory and in a file: ranks, word prefixes and labels."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from service import search_index
from service.engine import OxigraphEngine
from service.search_index import (
    SearchIndex,
    SearchIndexFile,
    build_index,
    search_words,
    write_index_file,
)

SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
SKOS_ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCTERMS_DESCRIPTION = "http://purl.org/dc/terms/description"


def _index() -> SearchIndex:
    index = SearchIndex()
    index.add("ex:math", "Math reasoning", is_name=True, is_label=True)
    index.add("ex:mathx", "Math reasoning & tool use", is_name=True, is_label=True)
    index.add("ex:arc", "ARC", is_name=True, is_label=True)
    index.add(
        "ex:arc", "Grade-school science and reasoning questions", is_name=False, is_label=False
    )
    index.add("ex:gsm", "GSM8K", is_name=True, is_label=True)
    index.add("ex:gsm", "Grade School Math 8K", is_name=True, is_label=False)
    index.seal()
    return index


def test_language_names_with_symbols_match_whole() -> None:
    index = SearchIndex()
    for iri, text in [("ex:cs", "C#"), ("ex:cpp", "C++ templates"), ("ex:cobol", "COBOL")]:
        index.add(iri, f"Written in {text}", is_name=False, is_label=False)
    index.seal()

    assert search_words("C# ") == ["c#"]
    assert [iri for iri, _ in index.find("c#", search_words("c#"))] == ["ex:cs"]
    assert [iri for iri, _ in index.find("c++", search_words("c++"))] == ["ex:cpp"]
    assert {iri for iri, _ in index.find("c", search_words("c"))} == {"ex:cs", "ex:cpp", "ex:cobol"}


def test_exact_name_ranks_first() -> None:
    assert _index().find("math reasoning", ["math", "reasoning"])[0] == ("ex:math", 0)


def test_prefix_name_ranks_second() -> None:
    assert ("ex:mathx", 1) in _index().find("math reasoning", ["math", "reasoning"])


def test_description_words_rank_third() -> None:
    assert ("ex:arc", 2) in _index().find("science reason", ["science", "reason"])


def test_every_word_must_match() -> None:
    assert _index().find("science math", ["science", "math"]) == []


def test_alternative_name_matches_exactly() -> None:
    assert _index().find("grade school math 8k", ["grade", "school", "math", "8k"])[0] == (
        "ex:gsm",
        0,
    )


def test_label_is_the_preferred_name() -> None:
    assert _index().labels["ex:gsm"] == "GSM8K"


def test_ranks_sort_by_label_within_rank() -> None:
    matches = _index().find("grade", ["grade"])
    assert matches == [("ex:gsm", 1), ("ex:arc", 2)]


def test_repeats_keep_one_entry() -> None:
    index = SearchIndex()
    index.add("ex:a", "Math", is_name=True, is_label=True)
    index.add("ex:a", "math", is_name=True, is_label=False)
    index.add("ex:b", "Math", is_name=True, is_label=True)
    index.add("ex:a", "Math for math teachers", is_name=False, is_label=False)
    index.seal()

    assert index.exact["math"] == ("ex:a", "ex:b")
    assert index.words["math"] == ("ex:a", "ex:b")
    assert index.find("math", ["math"]) == [("ex:a", 0), ("ex:b", 0)]


def test_build_index_ranks_label_properties() -> None:
    store = ox.Store()
    store.load(
        b"""
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<https://example.org/a> rdfs:label "Alpha (rdfs)" ; skos:prefLabel "Alpha" ;
    dcterms:description "Measures tool use." .
<https://example.org/b> rdfs:label "Beta" ; skos:altLabel "B-test" .
<https://example.org/c> dcterms:description "No label, only a description." .
""",
        format=ox.RdfFormat.TURTLE,
        to_graph=ox.NamedNode("https://example.org/graph/notes"),
    )
    engine = OxigraphEngine(store, 1, query_processes=0)
    try:
        index = build_index(
            engine,
            [SKOS_PREF_LABEL, RDFS_LABEL],
            [SKOS_ALT_LABEL],
            [DCTERMS_DESCRIPTION],
        )
    finally:
        engine.close()

    assert index.labels == {
        "https://example.org/a": "Alpha",
        "https://example.org/b": "Beta",
    }
    assert index.find("b-test", ["b", "test"])[0] == ("https://example.org/b", 0)
    assert index.find("tool", ["tool"]) == [("https://example.org/a", 2)]
    assert index.find("description", ["description"]) == [("https://example.org/c", 2)]


def _every_case_index() -> SearchIndex:
    """An index with names, alternative names, descriptions, repeats and symbols in names."""
    index = SearchIndex()
    for iri, text, is_name, is_label in [
        ("ex:math", "Math reasoning", True, True),
        ("ex:mathx", "Math reasoning & tool use", True, True),
        ("ex:arc", "ARC", True, True),
        ("ex:arc", "Grade-school science and reasoning questions", False, False),
        ("ex:gsm", "GSM8K", True, True),
        ("ex:gsm", "Grade School Math 8K", True, False),
        ("ex:a", "Math", True, True),
        ("ex:a", "math", True, False),
        ("ex:b", "Math", True, True),
        ("ex:a", "Math for math teachers", False, False),
        ("ex:cs", "Written in C#", False, False),
        ("ex:cpp", "Written in C++ templates", False, False),
        ("ex:nolabel/Zeta", "zeta function", False, False),
        ("ex:ünï", "Ünïcode names", True, True),
    ]:
        index.add(iri, text, is_name=is_name, is_label=is_label)
    index.seal()
    return index


PHRASES = [
    "math",
    "math reasoning",
    "mat",
    "grade",
    "grade school math 8k",
    "science reason",
    "science math",
    "c#",
    "c++",
    "c",
    "written",
    "zeta",
    "ünï",
    "nothing like it",
    "m",
]


@pytest.mark.parametrize("phrase", PHRASES)
def test_file_index_matches_memory_index(tmp_path: Path, phrase: str) -> None:
    memory = _every_case_index()
    write_index_file(memory, tmp_path / "search.sqlite")
    in_file = SearchIndexFile(tmp_path / "search.sqlite")
    words = search_words(phrase) or [phrase]

    found = in_file.find(phrase, words)
    found_iris = [iri for iri, _ in found]

    assert found == memory.find(phrase, words)
    assert in_file.labels_of(found_iris) == memory.labels_of(found_iris)


def test_file_index_keeps_prefix_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = _every_case_index()
    write_index_file(memory, tmp_path / "search.sqlite")
    unlimited = memory.find("m", ["m"])
    monkeypatch.setattr(search_index, "MAX_PREFIX_MATCHES", 2)

    found = SearchIndexFile(tmp_path / "search.sqlite").find("m", ["m"])

    assert found == memory.find("m", ["m"])
    # Past the limit, names that start with "m" rank as word matches.
    assert [rank for _, rank in found].count(1) < [rank for _, rank in unlimited].count(1)
