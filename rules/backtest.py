"""Backtest figures: what a policy would have done to past tickets (rules/replay.py), summed up.

`run(policy, tickets, until, interval)` replays each ticket and returns per-ticket records and
totals: escalations by target level, rule and priority, notes and replies, and the lateness a
poller every `interval` seconds would have added to each change (the replay has the exact
trigger instant; a poller acts at the first poll at or after it, polls on the multiples of
the interval since the epoch). `compare` sets two runs side by side, ticket by ticket.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean
from typing import Any

from rules.model import Ticket
from rules.plan import format_instant
from rules.policy import Policy
from rules.replay import Step, replay


@dataclass(frozen=True)
class TicketResult:
    ticket: str
    priority: str | None
    steps: tuple[Step, ...]
    created_at: datetime
    moves: tuple[int, ...]  # per step: 1 up the ladder, -1 down, 0 the same level

    def to_json(self, interval: float) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "priority": self.priority,
            "changes": [_step_json(s, interval) for s in self.steps],
        }

    @property
    def escalations(self) -> list[Step]:
        return [s for s, move in zip(self.steps, self.moves, strict=True) if move > 0]


@dataclass
class Totals:
    tickets: int = 0
    changed: int = 0
    escalations: int = 0
    de_escalations: int = 0
    notes: int = 0
    replies: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    lateness: list[float] = field(default_factory=list)
    to_first: list[float] = field(default_factory=list)  # creation -> first escalation, seconds

    def add(self, result: TicketResult, interval: float) -> None:
        self.tickets += 1
        self.changed += bool(result.steps)
        for step, move in zip(result.steps, result.moves, strict=True):
            change = step.change
            self.notes += change.internal_note is not None
            self.replies += change.public_reply is not None
            self.by_rule.update(change.rules)
            self.lateness.append(late(step.at, interval))
            if move > 0:
                self.escalations += 1
                self.by_level[change.level_to] += 1
                self.by_priority[result.priority or "none"] += 1
            elif move < 0:
                self.de_escalations += 1
        if result.escalations:
            first = result.escalations[0].at
            self.to_first.append((first - result.created_at).total_seconds())

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "tickets_changed": self.changed,
            "escalations": self.escalations,
            "de_escalations": self.de_escalations,
            "notes": self.notes,
            "replies": self.replies,
            "by_level": dict(sorted(self.by_level.items())),
            "by_rule": dict(self.by_rule.most_common()),
            "by_priority": dict(sorted(self.by_priority.items())),
            "lateness_seconds": {
                "mean": round(mean(self.lateness), 1) if self.lateness else None,
                "max": round(max(self.lateness), 1) if self.lateness else None,
            },
            "mean_seconds_to_first_escalation": round(mean(self.to_first), 1)
            if self.to_first
            else None,
        }


def late(at: datetime, interval: float) -> float:
    """Seconds from `at` to the first poll at or after it, polls every `interval` seconds."""
    if interval <= 0:
        return 0.0
    ts = at.timestamp()
    return math.ceil(ts / interval) * interval - ts


def run(
    policy: Policy, tickets: Iterable[Ticket], until: datetime, interval: float
) -> tuple[list[TicketResult], Totals]:
    results: list[TicketResult] = []
    totals = Totals()
    for ticket in tickets:
        steps = replay(policy, ticket, until).steps
        order = policy.level_index
        moves = tuple(
            (order[s.change.level_to] > order[s.change.level_from])
            - (order[s.change.level_to] < order[s.change.level_from])
            for s in steps
        )
        result = TicketResult(ticket.id, ticket.priority, steps, ticket.created_at, moves)
        totals.add(result, interval)
        results.append(result)
    return results, totals


def compare(a: list[TicketResult], b: list[TicketResult]) -> list[dict[str, Any]]:
    """Tickets on which the two policies differ: the changes only one of them makes, by time,
    level move and rules."""
    out: list[dict[str, Any]] = []
    theirs = {r.ticket: r for r in b}
    for ours in a:
        other = theirs.get(ours.ticket)
        left = {_key(s) for s in ours.steps}
        right = {_key(s) for s in other.steps} if other else set()
        if left != right:
            out.append(
                {
                    "ticket": ours.ticket,
                    "only_a": [_show(k) for k in sorted(left - right)],
                    "only_b": [_show(k) for k in sorted(right - left)],
                }
            )
    return out


def _key(step: Step) -> tuple[str, str, str, tuple[str, ...]]:
    c = step.change
    return (format_instant(step.at), c.level_from, c.level_to, c.rules)


def _show(key: tuple[str, str, str, tuple[str, ...]]) -> str:
    at, src, dst, rules = key
    move = f"{src} -> {dst}" if src != dst else src
    return f"{at} {move} {', '.join(rules)}"


def _step_json(step: Step, interval: float) -> dict[str, Any]:
    c = step.change
    return {
        "at": format_instant(step.at),
        "acted_at_late_seconds": round(late(step.at, interval), 1),
        "level": {"from": c.level_from, "to": c.level_to},
        "rules": list(c.rules),
        "actions": c.actions(),
        "reasons": [str(r) for r in c.reasons],
    }
