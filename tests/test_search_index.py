"""The in-memory search index: ranks, word prefixes and labels."""

from __future__ import annotations

from service.search_index import SearchIndex


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
