"""Parsers for the values that notes write in words: names, quantities and measures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# A number is either grouped in thousands with commas ("1,000,000.5") or has one decimal
# point or decimal comma ("3.6", "1,5"). The unit must not start with a digit or a sign, so
# "10-20 GB" and "3.6.1" are not quantities. A unit "per" something may count it:
# "21.6 min per 30 days".
QUANTITY = re.compile(
    r"^\s*(?P<number>[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?))"
    r"\s*(?P<unit>[^\s(\d.,+-][^\s(]*(?:\s+per\s+(?:\d+(?:[.,]\d+)?\s+)?[^\s(]+)?)"
)
THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


@dataclass(frozen=True)
class Name:
    """A short name and the expansion written after it in parentheses, if any."""

    short: str
    full: str | None


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, and the text it was read from."""

    value: Decimal
    unit: str
    text: str


@dataclass(frozen=True)
class Measure:
    """A metric name and the unit or scale written after it in parentheses, if any."""

    name: str
    scale: str | None


def parse_name(text: str) -> Name:
    """Split ``NAME (FULL NAME)`` into its parts: "MMLU (Massive …)" gives MMLU and the rest."""
    parts = _split_trailing_parenthesis(text.strip())
    if parts is None:
        return Name(text.strip(), None)
    return Name(*parts)


def parse_measure(text: str) -> Measure:
    """Split ``Accuracy (%)`` into the metric name and its unit or scale."""
    parts = _split_trailing_parenthesis(text.strip())
    if parts is None:
        return Measure(text.strip(), None)
    return Measure(*parts)


def _split_trailing_parenthesis(text: str) -> tuple[str, str] | None:
    """Split ``A (B)`` into A and B, where B may contain balanced parentheses.

    Returns None when the text does not end with ``)``, the parentheses do not balance, or
    either part would be empty.
    """
    if not text.endswith(")"):
        return None

    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            depth -= 1
            if depth == 0:
                before = text[:index].strip()
                inner = text[index + 1 : -1].strip()
                return (before, inner) if before and inner else None
    return None


def parse_quantity(text: str) -> Quantity | None:
    """Read a leading number and its unit: "80 GB", "3.6 bytes per parameter".

    Words after the unit ("192 GB total (2x 96 GB)") stay only in ``text``. A comma is a
    decimal comma ("1,5 GB") unless it groups thousands ("1,500 GB" is 1500). Returns None
    when the text does not start with a number followed by a unit.
    """
    match = QUANTITY.match(text)
    if not match:
        return None

    return Quantity(_decimal(match.group("number")), match.group("unit"), text.strip())


def _decimal(number: str) -> Decimal:
    """Read "1,5" as 1.5 but "1,500" and "1,000,000" as thousands, as English text writes them."""
    if THOUSANDS.fullmatch(number):
        return Decimal(number.replace(",", ""))
    return Decimal(number.replace(",", "."))


def strip_prefix(text: str, prefix: str | None) -> str:
    """Remove a leading phrase such as "Based on ", ignoring case; other text is unchanged."""
    stripped = text.strip()
    if prefix and stripped[: len(prefix)].casefold() == prefix.casefold():
        return stripped[len(prefix) :].strip()
    return stripped
