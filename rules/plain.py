"""Values as text for people (explain, reasons, notes): `none`, `yes`/`no`, strings in JSON's
double quotes, never Python's `None`, `True` or `'x'` reprs."""

from __future__ import annotations

import json
from collections.abc import Mapping


def plain(value: object) -> str:
    """`None` -> none, `True` -> yes, `"L3"` -> "L3", `[a, b]` -> ["a", "b"], numbers as such."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{plain(k)}: {plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(plain(v) for v in items) + "]"
    return str(value)
