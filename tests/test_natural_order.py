"""Natural sort keys: numbers in labels by value, case ignored."""

from __future__ import annotations

from service.natural_order import natural_key


def test_numbers_by_value() -> None:
    assert natural_key("L5-L8") < natural_key("L10-L16")
    assert natural_key("tag 2") < natural_key("tag 10")


def test_case_ignored() -> None:
    assert natural_key("Alpha") == natural_key("alpha")


def test_text_order_kept() -> None:
    assert natural_key("item") < natural_key("item 2")
    assert natural_key("a-") < natural_key("a1"), "characters before digits stay first"
    assert natural_key("beta") < natural_key("gamma")
