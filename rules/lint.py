"""Lint warnings: a valid policy that probably does not do what its author meant.

Warnings never fail `validate` (exit 0); they point at the key with its line.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime

from rules.clock import BusinessCalendar
from rules.facts import Facts
from rules.model import StatusCategory, Ticket
from rules.policy import Policy, Rule
from rules.triggers import All, ClockTrigger, Node, RankTrigger, SlaTrigger

Warn = Callable[[tuple[str | int, ...], str], None]

#: Clocks that count from the last escalation, so each level gets its own time.
RESTARTING = ("unacknowledged", "at_level")


def lint(policy: Policy) -> list[str]:
    out: list[str] = []

    def warn(path: tuple[str | int, ...], message: str) -> None:
        where = policy.doc.where(path) if policy.doc else policy.source
        out.append(f"{where}: {message}")

    _levels(policy, warn)
    _rules(policy, warn)
    _timings(policy, warn)
    _calendars(policy, warn)
    _coverage(policy, warn)
    _notify_names(policy, warn)
    return out


def _notify_names(policy: Policy, warn: Warn) -> None:
    """A notify entry that is no channel but looks like one (a typo makes it a person)."""
    if not policy.channels:
        return
    lists: list[tuple[tuple[str | int, ...], list[str]]] = [
        (("levels", lv.index, "notify"), lv.model.notify) for lv in policy.levels
    ]
    lists += [(("rules", r.index, "then", "notify"), r.actions.notify) for r in policy.rules]
    for path, names in lists:
        for i, name in enumerate(names):
            if name in policy.channels or "@" in name:
                continue
            close = difflib.get_close_matches(name, list(policy.channels), n=1, cutoff=0.75)
            if close:
                warn(
                    (*path, i),
                    f"notify entry {name!r} is no channel, so a person mentioned in the note;"
                    f" did you mean the channel {close[0]!r}?",
                )


def _top(node: Node) -> list[Node]:
    return list(node.nodes) if isinstance(node, All) else [node]


def _allowed_levels(policy: Policy, rule: Rule) -> set[int]:
    allowed = set(range(len(policy.levels)))
    for node in _top(rule.when):
        if isinstance(node, RankTrigger) and node.label == "level":
            allowed &= node.allowed
    return allowed


def _levels(policy: Policy, warn: Warn) -> None:
    named = {r.actions.escalate for r in policy.rules} | {
        r.actions.de_escalate for r in policy.rules
    }
    reachable = {0} | {policy.level_index[n] for n in named if n in policy.level_index}
    if "requested" in named:
        reachable = set(range(len(policy.levels)))
    changed = True
    while changed:
        changed = False
        for rule in policy.rules:
            if rule.actions.escalate != "next":
                continue
            for lv in _allowed_levels(policy, rule) & reachable:
                if lv + 1 < len(policy.levels) and lv + 1 not in reachable:
                    reachable.add(lv + 1)
                    changed = True
    for level in policy.levels:
        path: tuple[str | int, ...] = ("levels", level.index)
        if level.index not in reachable:
            warn(path, f"level {level.name!r} is unreachable: no rule escalates to it")
        has_matrix = any(lv == level.name for _, lv in policy.matrix)
        if level.model.owner is None and not has_matrix:
            warn(
                path,
                f"level {level.name!r} has no owner and no matrix entry: "
                "escalating to it changes no group or assignee",
            )


def _rules(policy: Policy, warn: Warn) -> None:
    top = len(policy.levels) - 1
    for rule in policy.rules:
        path: tuple[str | int, ...] = ("rules", rule.index)
        for node in _top(rule.when):
            if isinstance(node, RankTrigger) and not node.allowed:
                warn(
                    (*path, "when", node.label),
                    f"rule {rule.name!r} can never match: no {node.label} satisfies {node.wanted}",
                )
        allowed = _allowed_levels(policy, rule)
        actions = rule.actions
        only_level = not (
            actions.note
            or actions.reply
            or actions.notify
            or actions.add_tags
            or actions.set_fields
            or actions.priority
            or actions.assign
            or actions.record_outcome
            or actions.remove_tags
        )
        if actions.escalate == "next" and allowed == {top} and only_level:
            warn(
                path,
                f"rule {rule.name!r} escalates to the next level but only matches at "
                f"the top level {policy.levels[top].name!r}",
            )
        if actions.escalate in policy.level_index and only_level:
            target = policy.level_index[actions.escalate]
            if allowed and min(allowed) >= target:
                warn(
                    path,
                    f"rule {rule.name!r} can never change anything: it escalates to "
                    f"{actions.escalate!r} but only matches at that level or above",
                )
        climbs = actions.escalate == "next" and rule.model.repeat.per == "level"
        timed = any(isinstance(n, ClockTrigger) and n.kind in RESTARTING for n in _walk(rule.when))
        if climbs and not timed:
            warn(
                path,
                f"rule {rule.name!r} repeats per level with escalate: next but measures "
                "no time since the last escalation: it climbs one level every run while "
                "it matches (use unacknowledged or at_level to give each level its time)",
            )
        if any(isinstance(n, SlaTrigger) for n in _walk(rule.when)) and not policy.slas:
            warn(path, f"rule {rule.name!r} uses an SLA trigger but no SLA policy is defined")


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.parts():
        out.extend(_walk(child))
    return out


def _timings(policy: Policy, warn: Warn) -> None:
    """Escalations to a higher level should not come sooner than to a lower one.

    Only clocks that run from the same moment compare: `unacknowledged` and `at_level` restart
    at every escalation, so they are left out.
    """
    seen: list[tuple[str, int, float, Rule]] = []
    for rule in policy.rules:
        target = policy.level_index.get(rule.actions.escalate or "")
        if target is None:
            continue
        for node in _top(rule.when):
            if isinstance(node, ClockTrigger) and node.kind not in RESTARTING:
                seen.append((f"{node.kind}", target, node.over, rule))
            elif isinstance(node, SlaTrigger) and node.used is not None:
                seen.append((f"sla {node.target} used", target, node.used, rule))
    for kind, level, threshold, rule in seen:
        for kind2, level2, threshold2, rule2 in seen:
            if kind == kind2 and level2 > level and threshold2 < threshold:
                warn(
                    ("rules", rule2.index),
                    f"timings out of order: rule {rule2.name!r} escalates "
                    f"to {policy.levels[level2].name!r} sooner ({kind} threshold) than rule "
                    f"{rule.name!r} escalates to {policy.levels[level].name!r}",
                )


def _calendars(policy: Policy, warn: Warn) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    for name, cal in policy.calendars.items():
        if isinstance(cal, BusinessCalendar) and cal.add_ts(start, 1.0) is None:
            warn(
                ("calendars", name),
                f"calendar {name!r} has no working hours: business-time triggers on it never fire",
            )


def _coverage(policy: Policy, warn: Warn) -> None:
    if not policy.slas:
        warn(("sla",), "no SLA policies: no ticket has SLA targets")
        return
    now = datetime(2026, 1, 1, tzinfo=UTC)
    missing = []
    for name in (*policy.priorities, None):
        ticket = Ticket(
            id="lint",
            instance="lint",
            platform="zendesk",
            status="open",
            status_category=StatusCategory.OPEN,
            priority=name,
            priority_rank=policy.priority_rank.get(name or ""),
            created_at=now,
            updated_at=now,
        )
        if Facts(policy, ticket, now).sla is None:
            missing.append(name or "no priority")
    if missing:
        warn(
            ("sla",),
            "tickets that no SLA policy covers, e.g. priority "
            + ", ".join(missing)
            + " with no other fields set: add a catch-all policy "
            "(one without match) last",
        )
