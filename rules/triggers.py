"""Triggers and guards: compiled condition trees evaluated against a ticket's `Facts`.

Each node answers three questions: does it hold now (`test`, the hot path), what did it measure
(`describe`, for explain and plan reasons), and when will it first hold if nothing else changes
(`next_fire`: `now` if it holds, a later timestamp for clock-driven triggers, None if never).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rules.facts import Facts, TargetStatus
from rules.plain import plain
from rules.units import format_duration


class Node(Protocol):
    def test(self, f: Facts) -> bool: ...
    def describe(self, f: Facts) -> str: ...
    def next_fire(self, f: Facts) -> float | None: ...
    def parts(self) -> Sequence[Node]: ...


class Leaf:
    """Base for nodes without children; static leaves fire now or never."""

    def parts(self) -> Sequence[Node]:
        return ()

    def test(self, f: Facts) -> bool:
        raise NotImplementedError

    def describe(self, f: Facts) -> str:
        raise NotImplementedError

    def next_fire(self, f: Facts) -> float | None:
        return f.now_ts if self.test(f) else None


@dataclass(frozen=True, slots=True)
class All:
    nodes: tuple[Node, ...]

    def test(self, f: Facts) -> bool:
        for node in self.nodes:  # noqa: SIM110 (a plain loop is faster than all() + genexpr)
            if not node.test(f):
                return False
        return True

    def describe(self, f: Facts) -> str:
        return "all of"

    def next_fire(self, f: Facts) -> float | None:
        latest: float | None = None
        for node in self.nodes:  # the cheap, static conditions come first: stop at "never"
            at = node.next_fire(f)
            if at is None:
                return None
            latest = at if latest is None or at > latest else latest
        return latest

    def parts(self) -> Sequence[Node]:
        return self.nodes


@dataclass(frozen=True, slots=True)
class AnyOf:
    nodes: tuple[Node, ...]

    def test(self, f: Facts) -> bool:
        for node in self.nodes:  # noqa: SIM110 (a plain loop is faster than any() + genexpr)
            if node.test(f):
                return True
        return False

    def describe(self, f: Facts) -> str:
        return "any of"

    def next_fire(self, f: Facts) -> float | None:
        times = [t for n in self.nodes if (t := n.next_fire(f)) is not None]
        return min(times) if times else None

    def parts(self) -> Sequence[Node]:
        return self.nodes


@dataclass(frozen=True, slots=True)
class Not:
    node: Node

    def test(self, f: Facts) -> bool:
        return not self.node.test(f)

    def describe(self, f: Facts) -> str:
        return "not"

    def next_fire(self, f: Facts) -> float | None:
        return f.now_ts if self.test(f) else None

    def parts(self) -> Sequence[Node]:
        return (self.node,)


# --- clock-driven triggers -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaTrigger(Leaf):
    target: str
    used: float | None = None
    remaining: float | None = None

    def _statuses(self, f: Facts) -> list[TargetStatus]:
        if self.target == "any":
            return [t for t in f.targets.values() if not t.fulfilled]
        t = f.target(self.target)
        return [t] if t is not None and not t.fulfilled else []

    def _needed(self, t: TargetStatus) -> float:
        """How much of the target must be used for this trigger to hold."""
        return self._of_goal(t.goal)

    def _of_goal(self, goal: float) -> float:
        if self.used is not None:
            return goal * self.used / 100.0
        if self.remaining is not None:
            return goal - self.remaining
        return goal

    def test(self, f: Facts) -> bool:
        if self.target != "any" and not f.may_reach(self.target, self._of_goal):
            return False  # not started, fulfilled, or too recent to hold: no need to measure
        for t in self._statuses(f):  # noqa: SIM110 (a plain loop is faster than any() + genexpr)
            if t.used >= self._needed(t):
                return True
        return False

    def describe(self, f: Facts) -> str:
        rows = self._statuses(f)
        if not rows:
            return f"no open {self.target} SLA target" if f.sla else "no SLA policy covers it"
        want = (
            f"{self.used:g}% used"
            if self.used is not None
            else f"at most {format_duration(self.remaining)} remaining"
            if self.remaining is not None
            else "breached"
        )
        return "; ".join(
            f"{t.target} ({t.sla}): {t.percent:.0f}% used, {_left(t.remaining)}"
            f"{' (paused)' if t.paused else ''} (wants {want})"
            for t in rows
        )

    def next_fire(self, f: Facts) -> float | None:
        times = []
        for t in self._statuses(f):
            if t.used >= self._needed(t):
                return f.now_ts
            if t.running:
                at = f.clock("business", t.calendar).add_ts(f.now_ts, self._needed(t) - t.used)
                if at is not None:
                    times.append(at)
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class ClockTrigger(Leaf):
    """age, idle, in_status, unacknowledged and at_level: business or calendar time since a
    moment."""

    kind: str
    over: float
    mode: str | None = None
    calendar: str | None = None
    statuses: frozenset[str] | None = None

    def _since(self, f: Facts) -> float | None:
        if self.kind == "age":
            return f.ticket.created_at.timestamp()
        if self.kind == "idle":
            return f.activity_ts
        if self.kind == "in_status":
            t = f.ticket
            if self.statuses and not (
                t.status_category in self.statuses or t.status.lower() in self.statuses
            ):
                return None
            return f.status_since_ts
        escalated = f.ticket.tracking.escalated_at
        if escalated is None or (self.kind == "unacknowledged" and f.acknowledged_since(escalated)):
            return None
        return escalated.timestamp()

    def _elapsed(self, f: Facts) -> float | None:
        since = self._since(f)
        if since is None:
            return None
        return f.clock(self.mode, self.calendar).elapsed_ts(since, f.now_ts)

    def test(self, f: Facts) -> bool:
        since = self._since(f)
        if since is None:
            return False
        if self.over > 0 and f.now_ts - since + 1.0 < self.over:
            return False  # less time passed than it wants: business time is a part of it
        return f.clock(self.mode, self.calendar).elapsed_ts(since, f.now_ts) >= self.over

    def describe(self, f: Facts) -> str:
        elapsed = self._elapsed(f)
        clock = f.clock(self.mode, self.calendar)
        unit = "calendar" if clock.name == "24x7" else f"business ({clock.name})"
        if elapsed is None:
            why = {
                "in_status": f"status {plain(f.ticket.status)} is not one of "
                f"{', '.join(sorted(self.statuses or ()))}",
                "unacknowledged": "not escalated, or acknowledged since the last escalation",
                "at_level": "never escalated",
            }
            return why.get(self.kind, "not applicable")
        kind = self.kind.replace("_", " ")
        return f"{kind} {format_duration(elapsed)} {unit} (wants {format_duration(self.over)})"

    def next_fire(self, f: Facts) -> float | None:
        since = self._since(f)
        if since is None:
            return None
        return f.clock(self.mode, self.calendar).add_ts(since, self.over)


# --- attribute triggers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """eq / in / regex / empty on one or many values (many: any value matching is enough)."""

    eq: str | None = None
    values: frozenset[str] | None = None
    regex: re.Pattern[str] | None = None
    empty: bool | None = None

    def match(self, value: object) -> bool:
        items = (
            [_text(v) for v in value]
            if isinstance(value, list | tuple | frozenset | set)
            else ([] if value is None or value == "" else [_text(value)])
        )
        if self.empty is not None:
            return (not items) == self.empty
        if self.eq is not None:
            return any(i.lower() == self.eq for i in items)
        if self.values is not None:
            return any(i.lower() in self.values for i in items)
        assert self.regex is not None
        return any(self.regex.search(i) for i in items)

    def __str__(self) -> str:
        if self.empty is not None:
            return "is empty" if self.empty else "is not empty"
        if self.eq is not None:
            return f"= {plain(self.eq)}"
        if self.values is not None:
            return f"in [{', '.join(sorted(self.values))}]"
        assert self.regex is not None
        return f"matches /{self.regex.pattern}/"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _left(remaining: float) -> str:
    """`1h 5m left`, or once the target has passed, `target passed 6h ago`."""
    if remaining < 0:
        return f"target passed {format_duration(-remaining)} ago"
    return f"{format_duration(remaining)} left"


@dataclass(frozen=True, slots=True)
class FieldTrigger(Leaf):
    label: str
    get: Callable[[Facts], object]
    matcher: Matcher

    def test(self, f: Facts) -> bool:
        return self.matcher.match(self.get(f))

    def describe(self, f: Facts) -> str:
        value = self.get(f)
        shown = sorted(map(str, value)) if isinstance(value, frozenset | set) else value
        return f"{self.label} is {plain(shown)} (wants {self.matcher})"


@dataclass(frozen=True, slots=True)
class RankTrigger(Leaf):
    """priority or level membership, as the set of allowed ranks. `reads`: the `Facts`
    attribute holding the rank (`priority_rank`, `level_index`), and nothing else: the rules a
    ticket's ranks rule out are known before its triggers run (`rules.gates`)."""

    label: str
    reads: str
    allowed: frozenset[int]
    name_of: Callable[[int], str]
    wanted: str

    def get(self, f: Facts) -> int:
        rank: int = getattr(f, self.reads)
        return rank

    def test(self, f: Facts) -> bool:
        return getattr(f, self.reads) in self.allowed

    def describe(self, f: Facts) -> str:
        return f"{self.label} is {self.name_of(self.get(f))} (wants {self.wanted})"


@dataclass(frozen=True, slots=True)
class Predicate(Leaf):
    """A yes/no fact with a readable description (assigned, approved, counts, phrases...)."""

    label: str
    check: Callable[[Facts], bool]
    show: Callable[[Facts], str]
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def test(self, f: Facts) -> bool:
        return self.check(f)

    def describe(self, f: Facts) -> str:
        return f"{self.label}: {self.show(f)}"


@dataclass
class TraceNode:
    """One condition node's outcome, for explain."""

    ok: bool
    text: str
    children: list[TraceNode]


def trace(node: Node, f: Facts) -> TraceNode:
    return TraceNode(node.test(f), node.describe(f), [trace(n, f) for n in node.parts()])
