"""Values and counts as people read them: `plain` (explain, reasons) and the `plural` filter
(templates)."""

from __future__ import annotations

import pytest

from rules.plain import plain
from rules.templates import environment


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "none"),
        (True, "yes"),
        (False, "no"),
        ("L3", '"L3"'),
        ("", '""'),
        (3, "3"),
        (["vip", None], '["vip", none]'),
        (frozenset({"b", "a"}), '["a", "b"]'),
        ({"tier": True}, '{"tier": yes}'),
    ],
)
def test_plain(value: object, text: str) -> None:
    assert plain(value) == text


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((1, "reply", "replies"), "1 reply"),
        ((0, "reply", "replies"), "0 replies"),
        ((3, "time"), "3 times"),
        ((1, "time"), "1 time"),
    ],
)
def test_the_plural_filter(args: tuple[object, ...], text: str) -> None:
    """The templates' filter (the example's notes use it: tests/connector/test_cli.py)."""
    assert environment().filters["plural"](*args) == text
