"""Tests of slugs and entity IRIs in ingest/iris.py."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import URIRef
from slugify import slugify

from ingest.iris import IriMinter, key_name, make_slug, note_slug

BASE = "https://notekg.example/id/"

# ---------------------------------------------------------------------------
# make_slug
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("MMLU", "mmlu"),
        ("Massive Multitask Language Understanding", "massive-multitask-language-understanding"),
        ("H100 PCIe", "h100-pcie"),
        ("Moore's law", "moores-law"),
        ("Über Größe", "uber-grosse"),
        ("Ångström", "angstrom"),
        ("日本語", "ri-ben-yu"),
        ("Pass@1", "pass-1"),
    ],
)
def test_slug_examples(text: str, slug: str) -> None:
    assert make_slug(text) == slug


@pytest.mark.parametrize(
    ("key", "name"),
    [("Memory", "memory"), ("2024-03-02", "_2024-03-02"), ("3 nodes", "_3-nodes"), ("@@@", None)],
)
def test_key_name_starts_with_letter(key: str, name: str | None) -> None:
    assert key_name(key) == (name or make_slug(key))
    assert key_name(key)[0].isalpha() or key_name(key)[0] == "_"


def test_slug_of_symbols_is_hash() -> None:
    expected = "h-" + hashlib.sha256(b"@@@").hexdigest()[:12]
    assert make_slug("@@@") == expected


def test_slug_hash_is_deterministic() -> None:
    assert make_slug("!!!") == make_slug("!!!")
    assert make_slug("!!!") != make_slug("???")


def test_slug_max_80_characters() -> None:
    assert len(make_slug("word " * 100)) <= 80


# ---------------------------------------------------------------------------
# IriMinter
# ---------------------------------------------------------------------------


def test_minter_iri_from_kind_and_slug() -> None:
    minter = IriMinter(BASE)
    assert minter.entity("benchmark", "MMLU") == URIRef(BASE + "benchmark/mmlu")


def test_minter_same_label_same_iri() -> None:
    minter = IriMinter(BASE)
    first = minter.entity("benchmark", "MMLU")
    assert minter.entity("benchmark", "MMLU") == first
    assert minter.entity("benchmark", "mmlu") == first
    assert minter.problems == []


def test_minter_kinds_do_not_collide() -> None:
    minter = IriMinter(BASE)
    gpu = minter.entity("gpu", "H100")
    concept = minter.entity("concept", "H100")
    assert gpu == URIRef(BASE + "gpu/h100")
    assert concept == URIRef(BASE + "concept/h100")
    assert minter.problems == []


def test_minter_collision_gets_suffix() -> None:
    minter = IriMinter(BASE)
    assert minter.entity("metric", "Pass@1") == URIRef(BASE + "metric/pass-1")
    second = minter.entity("metric", "Pass 1", where=("ai.txt", 40))
    assert second == URIRef(BASE + "metric/pass-1-2")


def test_minter_collision_reported_once() -> None:
    minter = IriMinter(BASE)
    minter.entity("metric", "Pass@1")
    for _ in range(3):
        minter.entity("metric", "Pass 1", where=("ai.txt", 40))
    assert len(minter.problems) == 1

    problem = minter.problems[0]
    assert (problem.path, problem.line) == ("ai.txt", 40)
    assert "'Pass 1' and 'Pass@1'" in problem.message
    assert "'pass-1-2'" in problem.message


def test_minter_suffixed_label_keeps_iri() -> None:
    minter = IriMinter(BASE)
    minter.entity("language", "C")
    second = minter.entity("language", "C++")
    assert minter.entity("language", "c++") == second
    assert minter.entity("language", "C") == URIRef(BASE + "language/c")


def test_minter_third_collision_gets_next_suffix() -> None:
    minter = IriMinter(BASE)
    iris = [minter.entity("language", label) for label in ("C", "C++", "C#")]
    assert iris == [
        URIRef(BASE + "language/c"),
        URIRef(BASE + "language/c-2"),
        URIRef(BASE + "language/c-3"),
    ]
    assert len(minter.problems) == 2


def test_minter_explicit_id_wins() -> None:
    minter = IriMinter(BASE)
    iri = minter.entity("gpu", "H100 SXM5 80GB", explicit_id="h100-sxm")
    assert iri == URIRef(BASE + "gpu/h100-sxm")


def test_minter_explicit_id_joins_with_warning() -> None:
    minter = IriMinter(BASE)
    minter.entity("metric", "Pass@1")
    iri = minter.entity("metric", "Pass 1", explicit_id="pass-1")
    again = minter.entity("metric", "Pass 1", explicit_id="pass-1")

    assert iri == again == URIRef(BASE + "metric/pass-1"), "the id wins over numbering"
    assert [problem.message for problem in minter.problems] == [
        "metric 'Pass 1' has an id with the slug 'pass-1', which 'Pass@1' has too, so they "
        f"are one entity, {BASE}metric/pass-1. If they are different things, give them "
        "different ids (a table rule's id can include {label})."
    ]


def test_minter_same_input_same_iris() -> None:
    labels = ["MMLU", "Pass@1", "HellaSwag", "Pass 1", "C", "C++"]
    first = IriMinter(BASE)
    second = IriMinter(BASE)
    assert [first.entity("thing", label) for label in labels] == [
        second.entity("thing", label) for label in labels
    ]


def test_minter_without_collision_order_free() -> None:
    labels = ["MMLU", "HellaSwag", "GSM8K", "ARC"]
    forward = IriMinter(BASE)
    backward = IriMinter(BASE)
    forward_iris = {label: forward.entity("benchmark", label) for label in labels}
    backward_iris = {label: backward.entity("benchmark", label) for label in reversed(labels)}
    assert forward_iris == backward_iris


def test_minter_collision_depends_on_order() -> None:
    # The label minted first keeps the plain slug. The ingest reads a folder's notes in
    # sorted path order, so a full ingest of the same folder gives the same IRIs.
    forward = IriMinter(BASE)
    forward.entity("metric", "Pass@1")
    backward = IriMinter(BASE)
    backward.entity("metric", "Pass 1")
    assert forward.entity("metric", "Pass 1") == URIRef(BASE + "metric/pass-1-2")
    assert backward.entity("metric", "Pass@1") == URIRef(BASE + "metric/pass-1-2")


def test_minter_path_joins_segments() -> None:
    minter = IriMinter(BASE)
    assert minter.path("graph", "ai") == URIRef(BASE + "graph/ai")


PLAIN_WORD = st.text(alphabet="abcXYZ019", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(PLAIN_WORD, min_size=1, max_size=12),
    separators=st.lists(st.sampled_from([" ", "-"]), min_size=11, max_size=11),
)
def test_plain_text_slug_matches_slugify(words: list[str], separators: list[str]) -> None:
    text = words[0] + "".join(
        separator + word for separator, word in zip(separators, words[1:], strict=False)
    )
    expected = slugify(text, replacements=[["'", ""], ["’", ""]], max_length=80, word_boundary=True)

    assert make_slug(text) == expected


def test_note_slug_of_nested_note() -> None:
    assert note_slug("part-005/page-05000.txt") == "part-005-page-05000"
    assert note_slug("Notes/My Note.md") == "notes-my-note"
