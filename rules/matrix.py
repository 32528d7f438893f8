"""The escalation matrix as people draw it, generated from the policy (`escalate matrix`).

`build(policy)` gathers, without evaluating any ticket:
- the levels, in order, with their owner, approval, notifications and priority floor;
- the matrix of function × level → owner (the level's own owner where the matrix names none);
- the escalation paths: for every enabled rule that escalates (or de-escalates), each level it
  can fire at (its top-level `level` condition; any level without one) and where it takes the
  ticket from there, with its other conditions as text;
- the rules that act on solved tickets (the "close & review" step), and the levels they can
  act at (a rule with `level: {at_least: L2}` reviews no ticket solved at L1);
- the levels an agent's request can take a ticket to (any level above one where the request
  rule can fire), and the rules that only notify someone (no escalation: "director
  informed"), with the levels they fire at.

Renderers: `table` (plain text), `mermaid` (a flowchart in the shape "New ticket → L1 →
resolved? → escalate to L2 → … → close & review") and `html` (one self-contained page: the
tables and the same flowchart as inline SVG, no script).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.approval import gate_text
from rules.policy import Level, Policy, Rule
from rules.schema import OwnerBase, RankSpec
from rules.units import format_duration


@dataclass(frozen=True)
class LevelRow:
    name: str
    description: str
    owner: str
    approval: str  # "" when none
    notify: str
    priority_floor: str


@dataclass(frozen=True)
class Route:
    """Rule `rule` takes a ticket from level `source` to level `target` when `when` holds."""

    rule: str
    source: str
    target: str
    when: str
    approval: str  # the target level's approvers, "" when it needs none
    down: bool = False  # a de-escalation


@dataclass(frozen=True)
class Notice:
    """Rule `rule` notifies `who` (and escalates nothing) at `levels` when `when` holds."""

    rule: str
    levels: tuple[str, ...]
    who: str
    when: str


@dataclass(frozen=True)
class Matrix:
    levels: tuple[LevelRow, ...]
    functions: tuple[tuple[str, str], ...]  # (name, description)
    cells: Mapping[tuple[str, str], tuple[str, bool]]  # (function, level) -> (owner, inherited)
    paths: tuple[Route, ...]
    requested: tuple[str, ...]  # rules that escalate to the level an agent requests
    closing: tuple[str, ...]  # rules that act on solved or closed tickets
    closing_levels: tuple[str, ...] = ()  # the levels at which one of them can act
    requestable: tuple[str, ...] = ()  # the levels an agent's request can take a ticket to
    notices: tuple[Notice, ...] = ()  # rules that only notify


def build(policy: Policy) -> Matrix:
    levels = tuple(_level_row(level) for level in policy.levels)
    functions = tuple(
        (name, policy.model.functions[name].description or "") for name, _ in policy.functions
    )
    cells: dict[tuple[str, str], tuple[str, bool]] = {}
    for name, _ in policy.functions:
        for level in policy.levels:
            own = policy.matrix.get((name, level.name))
            owner = own if own is not None else level.model.owner
            cells[(name, level.name)] = (owner_text(owner), own is None)
    paths: list[Route] = []
    requested: list[str] = []
    closing: list[str] = []
    closing_at: set[int] = set()
    asked_from: set[int] = set()
    notices: list[Notice] = []
    for rule in policy.rules:
        if not rule.model.enabled:
            continue
        at = _levels(policy, rule)
        if rule.on_done:
            closing.append(rule.name)
            closing_at.update(at)
        if rule.actions.escalate == "requested":
            requested.append(rule.name)
            asked_from.update(at)
            continue
        paths.extend(_paths(policy, rule))
        if rule.actions.notify and rule.actions.escalate is None and not rule.actions.de_escalate:
            names = tuple(policy.levels[i].name for i in sorted(at))
            notices.append(Notice(rule.name, names, ", ".join(rule.actions.notify), _when(rule)))
    order = policy.level_index
    paths.sort(key=lambda p: (order[p.source], order[p.target]))  # stable: policy order within
    lowest = min(asked_from, default=len(policy.levels))
    return Matrix(
        levels,
        functions,
        cells,
        tuple(paths),
        tuple(requested),
        tuple(closing),
        tuple(policy.levels[i].name for i in sorted(closing_at)),
        tuple(level.name for level in policy.levels[lowest + 1 :]),
        tuple(notices),
    )


def _levels(policy: Policy, rule: Rule) -> list[int]:
    """The levels a rule can fire at, by its top-level `level` condition (all without one)."""
    spec = rule.model.when.level
    return [
        level.index
        for level in policy.levels
        if spec is None or _allows(spec, level.index, policy.level_index)
    ]


def _when(rule: Rule) -> str:
    """A rule's conditions but its `level`, in one line."""
    when = rule.model.when.model_dump(exclude_none=True, by_alias=True, mode="json")
    return condition_text({k: v for k, v in when.items() if k != "level"}) or "always"


def _level_row(level: Level) -> LevelRow:
    model = level.model
    approval = gate_text(model.approval) if model.approval else ""
    return LevelRow(
        name=level.name,
        description=model.description or "",
        owner=owner_text(model.owner),
        approval=approval,
        notify=", ".join(model.notify),
        priority_floor=model.priority_at_least or "",
    )


def owner_text(owner: OwnerBase | None) -> str:
    """ "group / assignee", plus the per-instance overrides in brackets."""
    if owner is None:
        return "-"
    text = " / ".join(x for x in (owner.group, owner.assignee) if x) or "-"
    instances = getattr(owner, "instances", None) or {}
    overrides = [f"{name}: {owner_text(o)}" for name, o in sorted(instances.items())]
    return f"{text} ({'; '.join(overrides)})" if overrides else text


def _paths(policy: Policy, rule: Rule) -> list[Route]:
    actions = rule.actions
    wanted, down = actions.escalate, False
    if wanted is None and actions.de_escalate is not None:
        wanted, down = actions.de_escalate, True
    if wanted is None:
        return []
    text = _when(rule)
    out: list[Route] = []
    for index in _levels(policy, rule):
        level = policy.levels[index]
        target = level.index + 1 if wanted == "next" else policy.level_index[wanted]
        if target >= len(policy.levels) or (target <= level.index) != down or target == level.index:
            continue  # nothing to escalate to from here (or, for down, nothing below)
        to = policy.levels[target]
        approval = to.model.approval
        gate = gate_text(approval) if approval and not down else ""
        out.append(Route(rule.name, level.name, to.name, text, gate, down))
    return out


def _allows(spec: RankSpec, index: int, names: Mapping[str, int]) -> bool:
    checks = [
        spec.in_ is None or index in {names[n] for n in spec.in_},
        spec.at_least is None or index >= names[spec.at_least],
        spec.at_most is None or index <= names[spec.at_most],
        spec.below is None or index < names[spec.below],
        spec.above is None or index > names[spec.above],
    ]
    return all(checks)


def condition_text(cond: Mapping[str, Any]) -> str:
    """A condition (as the policy file gives it) in one line: `; ` between its keys."""
    parts: list[str] = []
    for key, value in cond.items():
        if key in ("any", "all"):
            inner = " | ".join(condition_text(c) for c in value) if key == "any" else None
            inner = inner or "; ".join(condition_text(c) for c in value)
            parts.append(f"{key} of ({inner})")
        elif key == "not":
            parts.append(f"not ({condition_text(value)})")
        elif value is True:
            parts.append(key)
        elif isinstance(value, Mapping):
            parts.append(f"{key} " + " ".join(_spec(k, v) for k, v in value.items()))
        elif isinstance(value, list):
            parts.append(f"{key} {_list(value)}")
        else:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def _spec(key: str, value: Any) -> str:
    if key in ("over", "remaining"):
        return f"{key} {format_duration(float(value))}"
    if key == "used":
        return f"used {float(value):g}%"
    if key in ("time", "target"):
        return f"({value})" if key == "time" else str(value)
    if key == "in":
        return _list(value)
    if key == "field":
        return f'field "{value}"'
    if key == "phrases":
        return "phrases [" + ", ".join(f'"{v}"' for v in value) + "]"
    if key in ("at_least", "at_most", "below", "above"):
        return f"{key.replace('_', ' ')} {value}"
    if isinstance(value, Mapping):
        return f"{key} " + " ".join(_spec(k, v) for k, v in value.items())
    if isinstance(value, list):
        return f"{key} {_list(value)}"
    return f"{key} {value}"


def _list(values: Iterable[Any]) -> str:
    items = [str(v) for v in values]
    return f"= {items[0]}" if len(items) == 1 else f"in [{', '.join(items)}]"
