"""Tests of the value parsers in ingest/values.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ingest.values import (
    Measure,
    Name,
    Quantity,
    parse_measure,
    parse_name,
    parse_quantity,
    strip_prefix,
)

# ---------------------------------------------------------------------------
# parse_name
# ---------------------------------------------------------------------------


def test_name_with_expansion_splits() -> None:
    assert parse_name("MMLU (Massive Multitask Language Understanding)") == Name(
        "MMLU", "Massive Multitask Language Understanding"
    )


def test_name_without_parentheses_unchanged() -> None:
    assert parse_name("  HellaSwag ") == Name("HellaSwag", None)


def test_name_with_nested_parentheses() -> None:
    assert parse_name("BBH (BigBench (Hard))") == Name("BBH", "BigBench (Hard)")


def test_name_keeps_earlier_parentheses() -> None:
    assert parse_name("f(x) (the function)") == Name("f(x)", "the function")


@pytest.mark.parametrize(
    "text",
    ["(only parentheses)", "Unbalanced (name", "Unbalanced name)", "Empty ()"],
)
def test_name_without_expansion_kept_whole(text: str) -> None:
    assert parse_name(text) == Name(text, None)


# ---------------------------------------------------------------------------
# parse_measure
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Accuracy (%)", Measure("Accuracy", "%")),
        ("Score (1-10)", Measure("Score", "1-10")),
        ("Elo Score", Measure("Elo Score", None)),
        ("Pass@1 (%)", Measure("Pass@1", "%")),
        ("Truthfulness Score (%)", Measure("Truthfulness Score", "%")),
    ],
)
def test_measure_splits_scale(text: str, expected: Measure) -> None:
    assert parse_measure(text) == expected


# ---------------------------------------------------------------------------
# parse_quantity
# ---------------------------------------------------------------------------


def test_quantity_number_and_unit() -> None:
    assert parse_quantity("80 GB") == Quantity(Decimal("80"), "GB", "80 GB")


def test_quantity_keeps_trailing_words_in_text() -> None:
    quantity = parse_quantity("192 GB total (2x 96 GB)")
    assert quantity is not None
    assert quantity.value == Decimal("192")
    assert quantity.unit == "GB"
    assert quantity.text == "192 GB total (2x 96 GB)"


def test_quantity_unit_with_per() -> None:
    quantity = parse_quantity("3.6 bytes per parameter")
    assert quantity is not None
    assert quantity.value == Decimal("3.6")
    assert quantity.unit == "bytes per parameter"


def test_quantity_decimal_comma() -> None:
    quantity = parse_quantity("1,5 GB")
    assert quantity is not None
    assert quantity.value == Decimal("1.5")
    assert quantity.unit == "GB"


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("1,500 GB", Decimal("1500"), "GB"),
        ("1,000,000 parameters", Decimal("1000000"), "parameters"),
        ("12,345.5 tokens", Decimal("12345.5"), "tokens"),
    ],
)
def test_quantity_thousands_separators(text: str, value: Decimal, unit: str) -> None:
    quantity = parse_quantity(text)
    assert quantity is not None
    assert quantity.value == value
    assert quantity.unit == unit


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("-5 °C", Decimal("-5"), "°C"),
        ("-0.25 dB", Decimal("-0.25"), "dB"),
        ("+3 dB", Decimal("3"), "dB"),
    ],
)
def test_quantity_signed_numbers(text: str, value: Decimal, unit: str) -> None:
    quantity = parse_quantity(text)
    assert quantity is not None
    assert quantity.value == value
    assert quantity.unit == unit


def test_quantity_unit_without_space() -> None:
    assert parse_quantity("80GB") == Quantity(Decimal("80"), "GB", "80GB")


@pytest.mark.parametrize("text", ["no number", "", "80", "GB 80", "10-20 GB", "3.6.1 release"])
def test_quantity_not_found_returns_none(text: str) -> None:
    assert parse_quantity(text) is None


# ---------------------------------------------------------------------------
# strip_prefix
# ---------------------------------------------------------------------------


def test_strip_prefix_removes_phrase() -> None:
    assert strip_prefix("Based on Moore's law", "Based on ") == "Moore's law"


def test_strip_prefix_ignores_case() -> None:
    assert strip_prefix("BASED ON Moore's law", "Based on ") == "Moore's law"


def test_strip_prefix_after_leading_space() -> None:
    assert strip_prefix("  based on Moore's law ", "Based on ") == "Moore's law"


def test_strip_prefix_no_match_unchanged() -> None:
    assert strip_prefix("Inspired by Moore's law", "Based on ") == "Inspired by Moore's law"


def test_strip_prefix_none_only_strips() -> None:
    assert strip_prefix("  Moore's law ", None) == "Moore's law"


@pytest.mark.parametrize(
    ("text", "unit"),
    [("99.95 % per 30 days", "% per 30 days"), ("21.6 min per 1.5 hours", "min per 1.5 hours")],
)
def test_quantity_unit_per_counted_unit(text: str, unit: str) -> None:
    quantity = parse_quantity(text)

    assert quantity is not None
    assert quantity.unit == unit
