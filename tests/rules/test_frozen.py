"""`fast_init` builds the same instances as the dataclasses' own `__init__`, refuses what it
refuses, and leaves the instances frozen."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from rules.frozen import fast_init
from rules.model import Actor, Event, EventKind, Person, StatusCategory, Ticket
from rules.tracking import Fired, State, Tracking

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def both(cls: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """The instance `cls(...)` makes, and the one the dataclass's own `__init__` makes."""
    plain = object.__new__(cls)
    cls.__dataclass_init__(plain, *args, **kwargs)
    return cls(*args, **kwargs), plain


def fields_of(value: object) -> dict[str, object]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        (Event, (AT, EventKind.COMMENT, Actor.AGENT), {}),
        (Event, (AT, EventKind.STATUS, Actor.SYSTEM, "Open"), {"category": StatusCategory.OPEN}),
        (Event, (), {"at": AT, "kind": EventKind.FIELD, "actor": Actor.AGENT, "values": ("a",)}),
        (State, (), {}),
        (State, (3, AT), {"fired": (Fired("k", 2, AT),), "timeout_noted": True}),
        (Tracking, (), {}),
        (Tracking, ("L2", AT, "rule", 4), {"state": State(cycle=1)}),
        (
            Ticket,
            (),
            {"id": "1", "instance": "i", "platform": "jira", "status": "Open"}
            | {"status_category": StatusCategory.OPEN, "created_at": AT, "updated_at": AT},
        ),
        (
            Ticket,
            (),
            {"id": "2", "instance": "i", "platform": "zendesk", "status": "solved"}
            | {"status_category": StatusCategory.SOLVED, "created_at": AT, "updated_at": AT}
            | {"tags": frozenset({"vip"}), "custom": {"team": "x"}, "reopens": 2}
            | {"requester": Person("c1", "Cy"), "history": (), "tracking": Tracking("L1")},
        ),
    ],
)
def test_the_same_instance_as_the_dataclass_makes(
    cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    fast, plain = both(cls, *args, **kwargs)
    assert fields_of(fast) == fields_of(plain) and fast == plain
    if cls is not Ticket:  # a ticket holds mappings: unhashable either way
        assert hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.__setattr__(dataclasses.fields(cls)[0].name, None)


def test_default_factories_make_a_new_value_each_time() -> None:
    t: dict[str, Any] = {"id": "1", "instance": "i", "platform": "jira", "status": "Open"}
    t |= {"status_category": StatusCategory.OPEN, "created_at": AT, "updated_at": AT}
    one, two = Ticket(**t), Ticket(**t)
    assert one.tracking == two.tracking == Tracking()
    assert one.custom == {} and one.custom is two.custom  # the shared empty mapping, as before


def test_what_the_dataclass_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        Event(AT, EventKind.COMMENT)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Event(AT, EventKind.COMMENT, Actor.AGENT, nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Ticket("1", "i")  # type: ignore[call-arg]  # keyword-only
    naive = datetime(2026, 3, 2, 8, 0)
    with pytest.raises(ValueError, match="timezone-aware"):  # __post_init__ still runs
        Ticket(
            id="1",
            instance="i",
            platform="jira",
            status="Open",
            status_category=StatusCategory.OPEN,
            created_at=naive,
            updated_at=AT,
        )


def test_only_frozen_slotted_dataclasses() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, NotFrozen):
        with pytest.raises(TypeError, match="frozen, slotted"):
            fast_init(cls)
