"""Compile validated `Condition` models into trigger nodes, checking every name they use."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rules.approval import verified_approver
from rules.facts import Facts
from rules.loader import Path, Problems, unknown_name
from rules.plain import plain
from rules.schema import (
    ClockSpec,
    Condition,
    CountSpec,
    CustomerRequestSpec,
    InStatusSpec,
    MatchSpec,
    RankSpec,
    SlaSpec,
)
from rules.triggers import (
    All,
    AnyOf,
    ClockTrigger,
    FieldTrigger,
    Matcher,
    Node,
    Not,
    Predicate,
    RankTrigger,
    SlaTrigger,
)

TRUTHY = {"1", "true", "yes", "y", "on", "x"}


@dataclass
class Scope:
    """What a condition may refer to, and where to report problems."""

    problems: Problems
    priorities: dict[str, int]
    levels: dict[str, int]
    calendars: set[str]


def compile_condition(cond: Condition, scope: Scope, path: Path) -> Node:
    """Leaves in a fixed order, cheapest first: `all` stops at the first that fails."""
    nodes: list[Node] = []
    for key in sorted(cond.model_fields_set, key=_COST.index):
        spec = getattr(cond, key)
        alias = Condition.model_fields[key].alias or key
        builder = _BUILDERS[key]
        nodes.append(builder(spec, scope, (*path, alias)))
    return nodes[0] if len(nodes) == 1 else All(tuple(nodes))


def _all(spec: list[Condition], scope: Scope, path: Path) -> Node:
    return All(tuple(compile_condition(c, scope, (*path, i)) for i, c in enumerate(spec)))


def _any(spec: list[Condition], scope: Scope, path: Path) -> Node:
    return AnyOf(tuple(compile_condition(c, scope, (*path, i)) for i, c in enumerate(spec)))


def _not(spec: Condition, scope: Scope, path: Path) -> Node:
    return Not(compile_condition(spec, scope, path))


def _clock(kind: str) -> Callable[[ClockSpec, Scope, Path], Node]:
    def build(spec: ClockSpec, scope: Scope, path: Path) -> Node:
        if spec.calendar and spec.calendar not in scope.calendars:
            _unknown(scope, (*path, "calendar"), "calendar", spec.calendar, scope.calendars)
        statuses = None
        if isinstance(spec, InStatusSpec) and spec.status:
            statuses = frozenset(s.lower() for s in spec.status)
        return ClockTrigger(kind, spec.over, spec.time, spec.calendar, statuses)

    return build


def _sla(spec: SlaSpec, scope: Scope, path: Path) -> Node:
    return SlaTrigger(spec.target, spec.used, spec.remaining)


def _status(spec: list[str], scope: Scope, path: Path) -> Node:
    wanted = frozenset(s.lower() for s in spec)
    return Predicate(
        "status",
        # a category is a StrEnum: `in` a set of strings tests its value
        lambda f: f.ticket.status_category in wanted or f.ticket.status.lower() in wanted,
        lambda f: (
            f"is {f.ticket.status} ({f.ticket.status_category.value}) "
            f"(wants one of {', '.join(sorted(wanted))})"
        ),
    )


def _ranks(
    spec: RankSpec, names: dict[str, int], kind: str, scope: Scope, path: Path, invert: bool
) -> tuple[frozenset[int], str]:
    """Allowed ranks on an importance scale: levels count up, priorities count down (P1 = 1)."""

    def rank(name: str, key: str) -> int | None:
        if name not in names:
            _unknown(scope, (*path, key), kind, name, names)
            return None
        return names[name]

    allowed = set(names.values())
    wanted: list[str] = []
    sign = -1 if invert else 1
    if spec.in_ is not None:
        chosen = {r for n in spec.in_ if (r := rank(n, "in")) is not None}
        allowed &= chosen
        wanted.append(f"in [{', '.join(spec.in_)}]")
    for key, test in _COMPARE:
        name = getattr(spec, key)
        if name is None:
            continue
        bound = rank(name, key)
        if bound is not None:
            allowed = {r for r in allowed if test(sign * r, sign * bound)}
        wanted.append(f"{key.replace('_', ' ')} {name}")
    return frozenset(allowed), " and ".join(wanted)


_COMPARE: tuple[tuple[str, Callable[[int, int], bool]], ...] = (
    ("at_least", lambda a, b: a >= b),
    ("at_most", lambda a, b: a <= b),
    ("above", lambda a, b: a > b),
    ("below", lambda a, b: a < b),
)


def _priority(spec: RankSpec, scope: Scope, path: Path) -> Node:
    names = scope.priorities
    allowed, wanted = _ranks(spec, names, "priority", scope, path, invert=True)
    by_rank = {r: n for n, r in names.items()}
    return RankTrigger(
        "priority",
        "priority_rank",
        allowed,
        lambda r: by_rank.get(r, "none"),
        wanted,
    )


def _level(spec: RankSpec, scope: Scope, path: Path) -> Node:
    names = scope.levels
    allowed, wanted = _ranks(spec, names, "level", scope, path, invert=False)
    by_rank = {r: n for n, r in names.items()}
    return RankTrigger("level", "level_index", allowed, lambda r: by_rank[r], wanted)


def matcher(spec: MatchSpec) -> Matcher:
    return Matcher(
        eq=spec.eq.lower() if spec.eq is not None else None,
        values=frozenset(v.lower() for v in spec.in_) if spec.in_ is not None else None,
        regex=re.compile(spec.regex, re.IGNORECASE) if spec.regex is not None else None,
        empty=spec.empty,
    )


def _field(label: str, get: Callable[[Facts], object]) -> Callable[[MatchSpec, Scope, Path], Node]:
    def build(spec: MatchSpec, scope: Scope, path: Path) -> Node:
        return FieldTrigger(label, get, matcher(spec))

    return build


def _org_name(f: Facts) -> object:
    org = f.ticket.organization
    return org.name if org else None


def _custom_getter(name: str) -> Callable[[Facts], object]:
    return lambda f: f.ticket.custom.get(name)


def _custom(spec: dict[str, MatchSpec], scope: Scope, path: Path) -> Node:
    nodes: list[Node] = [
        FieldTrigger(f"field {plain(name)}", _custom_getter(name), matcher(m))
        for name, m in spec.items()
    ]
    return nodes[0] if len(nodes) == 1 else All(tuple(nodes))


def _org_tag(spec: list[str], scope: Scope, path: Path) -> Node:
    wanted = frozenset(t.lower() for t in spec)

    def tags(f: Facts) -> frozenset[str]:
        org = f.ticket.organization
        return frozenset(t.lower() for t in org.tags) if org else frozenset()

    return Predicate(
        "organization tags",
        lambda f: bool(tags(f) & wanted),
        lambda f: (
            f"{', '.join(sorted(tags(f))) or 'none'} (wants any of {', '.join(sorted(wanted))})"
        ),
    )


def _domain(spec: list[str], scope: Scope, path: Path) -> Node:
    wanted = frozenset(d.lower().lstrip("@") for d in spec)

    def domain(f: Facts) -> str | None:
        return f.ticket.requester.domain if f.ticket.requester else None

    return Predicate(
        "requester domain",
        lambda f: domain(f) in wanted,
        lambda f: f"{domain(f) or 'none'} (wants any of {', '.join(sorted(wanted))})",
    )


def _count(
    label: str, get: Callable[[Facts], int], history: str
) -> Callable[[CountSpec, Scope, Path], Node]:
    def build(spec: CountSpec, scope: Scope, path: Path) -> Node:
        least = int(spec.at_least)
        return Predicate(
            label,
            lambda f: get(f) >= least,
            lambda f: f"{get(f)} (wants at least {least})",
            {"history": history},
        )

    return build


def _requested(spec: bool | str, scope: Scope, path: Path) -> Node:
    if isinstance(spec, str) and spec not in scope.levels:
        _unknown(scope, path, "level", spec, scope.levels)
    want = spec

    def check(f: Facts) -> bool:
        request = f.ticket.tracking.request
        if isinstance(want, bool):
            return (request is not None) == want
        return request == want

    return Predicate(
        "escalation requested by an agent",
        check,
        lambda f: (
            f"request field is {_request(f.ticket.tracking.request)} (wants {_request(want)})"
        ),
    )


def _request(value: object) -> str:
    """The request field's value, or what a rule wants of it: `not set`, `set`, a level."""
    if value is None or value is False:
        return "not set"
    return "set" if value is True else plain(value)


def _flag(label: str, get: Callable[[Facts], object]) -> Callable[[bool, Scope, Path], Node]:
    def build(spec: bool, scope: Scope, path: Path) -> Node:
        return Predicate(
            label,
            lambda f: bool(get(f)) == spec,
            lambda f: f"{plain(get(f))} (wants {'set' if spec else 'unset'})",
        )

    return build


def _customer_request(spec: CustomerRequestSpec, scope: Scope, path: Path) -> Node:
    field_name = spec.field
    # One pattern for all the phrases: it matches where any one of them would.
    either = "|".join(rf"(?:\b{re.escape(p)}\b)" for p in spec.phrases)
    phrases = re.compile(either, re.IGNORECASE) if spec.phrases else None

    def by_field(f: Facts) -> bool:
        if field_name is None:
            return False
        value = f.ticket.custom.get(field_name)
        return value is True or str(value).strip().lower() in TRUTHY

    def by_phrase(f: Facts) -> bool:
        text = f.ticket.last_customer_comment or ""
        return phrases is not None and phrases.search(text) is not None

    return Predicate(
        "escalation requested by the customer",
        lambda f: by_field(f) or by_phrase(f),
        lambda f: (
            f"form field {'set' if by_field(f) else 'not set'}, "
            f"phrase {'found' if by_phrase(f) else 'not found'} in their latest public comment"
        ),
        {"history": "events"} if phrases else {},
    )


def _unknown(scope: Scope, path: Path, kind: str, name: str, known: Iterable[object]) -> None:
    scope.problems.add(path, unknown_name(kind, name, [str(k) for k in known]))


_BUILDERS: dict[str, Callable[..., Node]] = {
    "all": _all,
    "any": _any,
    "not_": _not,
    "sla": _sla,
    "age": _clock("age"),
    "idle": _clock("idle"),
    "in_status": _clock("in_status"),
    "unacknowledged": _clock("unacknowledged"),
    "at_level": _clock("at_level"),
    "status": _status,
    "priority": _priority,
    "level": _level,
    "type": _field("type", lambda f: f.ticket.type),
    "group": _field("group", lambda f: f.ticket.group),
    "assignee": _field("assignee", lambda f: f.ticket.assignee),
    "component": _field("components", lambda f: f.ticket.components),
    "label": _field("labels/tags", lambda f: f.ticket.tags),
    "organization": _field("organization", _org_name),
    "custom": _custom,
    "organization_tag": _org_tag,
    "requester_domain": _domain,
    "customer_replies": _count(
        "customer replies without an answer", lambda f: f.ticket.customer_replies, "events"
    ),
    "reopens": _count("reopens", lambda f: f.ticket.reopens, "summary"),
    "requested": _requested,
    "approved": _flag("approved (as recorded) by", verified_approver),
    "awaiting_approval": _flag("awaiting approval for", lambda f: f.ticket.tracking.state.awaiting),
    "customer_request": _customer_request,
    "assigned": _flag("assignee", lambda f: f.ticket.assignee),
}


# Evaluation order of the keys of one condition mapping: plain field tests before clocks.
_COST = [
    "level",
    "priority",
    "status",
    "assigned",
    "requested",
    "approved",
    "awaiting_approval",
    "type",
    "group",
    "assignee",
    "component",
    "label",
    "organization",
    "organization_tag",
    "requester_domain",
    "custom",
    "customer_replies",
    "reopens",
    "customer_request",
    "not_",
    "any",
    "all",
    "age",
    "in_status",
    "idle",
    "unacknowledged",
    "at_level",
    "sla",
]
