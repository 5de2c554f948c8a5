"""The order in which people read labels: text without regard to case, numbers by value."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")


def natural_key(text: str) -> str:
    """Return a sort key of a label that orders the numbers in it by value, ignoring case.

    Each number gets the count of its digits in front, so that keys compared as text compare
    the numbers by value: "L5-L8" (``l015-l018``) comes before "L10-L16" (``l0210-l0216``).
    The key is text, so an SQLite column of keys sorts the same way. Numbers of more than 99
    digits are ordered as text.
    """
    return _DIGITS.sub(lambda number: f"{len(number.group()):02d}{number.group()}", text.lower())
