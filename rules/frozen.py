"""A faster `__init__` for the frozen, slotted dataclasses a sweep makes per ticket.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__(self, name,
value)`, which looks the name up on the type every time; `fast_init` generates the same
`__init__` (signature, defaults, default factories, `__post_init__`) setting each slot through
its own member descriptor instead. On a Jira sweep a ticket and its events are a sixth of the
mapping; this makes an `Event` about 40% and a `Ticket` about 25% cheaper to build
(BENCHMARKS.md, "Full sweeps"). Only the construction changes: the instances stay frozen
(`__setattr__` still refuses), and compare, hash and print as before. The generated code is
built from `dataclasses.fields`, so a field added later is set like the others; the
dataclass's own `__init__` stays reachable as `__dataclass_init__` (the tests compare both).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


class _Factory:
    """The default of a parameter whose field has a default factory (as dataclasses does)."""

    def __repr__(self) -> str:
        return "<factory>"


FACTORY = _Factory()


def fast_init(cls: type[T]) -> type[T]:
    """Replace the frozen, slotted dataclass `cls`'s `__init__` (see the module)."""
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not getattr(cls, "__slots__", None) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: fast_init is for frozen, slotted dataclasses")
    if any(not f.init for f in params):
        raise TypeError(f"{cls.__name__}: fast_init sets every field from its parameter")
    names: dict[str, Any] = {"FACTORY": FACTORY}
    signature, body = [], []
    ordered = sorted(params, key=lambda f: f.kw_only is True)  # keyword-only last, as dataclasses
    for f in ordered:
        n = f.name
        names[f"set_{n}"] = cls.__dict__[n].__set__  # the slot's member descriptor
        if f.kw_only and "*" not in signature:
            signature.append("*")
        value = n
        if f.default is not dataclasses.MISSING:
            names[f"default_{n}"] = f.default
            signature.append(f"{n}=default_{n}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"factory_{n}"] = f.default_factory
            signature.append(f"{n}=FACTORY")
            value = f"factory_{n}() if {n} is FACTORY else {n}"
        else:
            signature.append(n)
        body.append(f"    set_{n}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(signature)}):\n" + "\n".join(body or ["    pass"])
    made: dict[str, Any] = {}
    exec(source, names, made)  # the code built above from the class's own fields
    init = made["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__dataclass_init__ = cls.__init__  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
