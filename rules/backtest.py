"""Backtest figures: what a policy would have done to past tickets (rules/replay.py), summed up.

`result(policy, ticket, until, since)` replays one ticket; `Totals.add` sums the results up:
escalations by target level, rule and priority, notes and replies, and the lateness a poller
every `interval` seconds would have added to each change (the replay has the exact
trigger instant; a poller acts at the first poll at or after it, polls on the multiples of
the interval since the epoch). `difference` sets two policies' results for one ticket side by
side.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.model import Ticket
from rules.plan import format_instant
from rules.policy import Policy
from rules.profile import count_verdicts, sla_cells
from rules.replay import Step, replay


@dataclass(frozen=True)
class TicketResult:
    ticket: str
    priority: str | None
    steps: tuple[Step, ...]
    created_at: datetime
    moves: tuple[int, ...]  # per step: 1 up the ladder, -1 down, 0 the same level
    truncated: bool = False  # the replay stopped at its step limit (rules.replay.MAX_STEPS)
    error: str | None = None  # why the ticket could not be replayed (odd data): it is skipped
    sla: dict[str, str] = field(default_factory=dict)  # SLA verdicts at the end (profile)
    #: The first escalation of the whole replay, also when it is before `since` (left out).
    first_escalation: datetime | None = None

    def to_json(self, interval: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ticket": self.ticket,
            "priority": self.priority,
            "changes": [_step_json(s, interval) for s in self.steps],
            "sla": self.sla,
        }
        if self.error is not None:
            out["error"] = self.error
        return out

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
    by_team: Counter[str] = field(default_factory=Counter)  # the team that escalated it
    by_type: Counter[str] = field(default_factory=Counter)
    sla: dict[str, Counter[str]] = field(default_factory=dict)  # target -> verdict counts
    sla_by_priority: dict[str, Counter[str]] = field(default_factory=dict)
    breached: int = 0  # tickets with a target breached by the end
    breached_escalated: int = 0  # ... that the policy escalated (at any time)
    late_sum: float = 0.0  # lateness of every change for the polling interval, seconds
    late_max: float = 0.0
    changes: int = 0
    first_sum: float = 0.0  # creation -> first escalation, seconds, over the escalated tickets
    escalated: int = 0
    truncated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # tickets that could not be replayed
    by_channel: Counter[str] = field(default_factory=Counter)  # notices (rules.notices)
    deferred: int = 0  # notices held for their channel's working hours
    deferred_sum: float = 0.0  # ... and for how long in all, seconds
    deferred_max: float = 0.0
    #: per channel: notices deferred, their wait in all and the longest wait, seconds
    waits: dict[str, list[float]] = field(default_factory=dict)

    def add(self, result: TicketResult, interval: float) -> None:
        self.tickets += 1
        self.changed += bool(result.steps)
        if result.truncated:
            self.truncated.append(result.ticket)
        if result.error is not None:
            self.failed.append(result.ticket)
        for step, move in zip(result.steps, result.moves, strict=True):
            change = step.change
            self.notes += change.internal_note is not None
            self.replies += change.public_reply is not None
            self.by_rule.update(change.rules)
            self._notices(step)
            lateness = late(step.at, interval)
            self.changes += 1
            self.late_sum += lateness
            self.late_max = max(self.late_max, lateness)
            if move > 0:
                self.escalations += 1
                self.by_level[change.level_to] += 1
                self.by_priority[result.priority or "none"] += 1
                about = change.about or {}
                self.by_team[about.get("team") or "none"] += 1
                self.by_type[about.get("type") or "none"] += 1
            elif move < 0:
                self.de_escalations += 1
        for target, verdict in result.sla.items():
            self.sla.setdefault(target, Counter())[verdict] += 1
        count_verdicts(
            result.sla, self.sla_by_priority.setdefault(result.priority or "none", Counter())
        )
        if "breached" in result.sla.values():
            self.breached += 1
            self.breached_escalated += result.first_escalation is not None  # at any time
        first = result.first_escalation
        if first is not None and result.escalations and result.escalations[0].at == first:
            self.escalated += 1  # first escalated in the window (not before --from)
            self.first_sum += (first - result.created_at).total_seconds()

    def _notices(self, step: Step) -> None:
        for n in step.change.notices:
            self.by_channel[n.channel] += 1
            if n.deferred:
                wait = (n.due - step.at).total_seconds()
                self.deferred += 1
                self.deferred_sum += wait
                self.deferred_max = max(self.deferred_max, wait)
                count = self.waits.setdefault(n.channel, [0, 0.0, 0.0])
                count[0] += 1
                count[1] += wait
                count[2] = max(count[2], wait)

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "tickets_changed": self.changed,
            "truncated": self.truncated,
            "failed": self.failed,
            "escalations": self.escalations,
            "de_escalations": self.de_escalations,
            "notes": self.notes,
            "replies": self.replies,
            "by_level": dict(sorted(self.by_level.items())),
            "by_rule": dict(self.by_rule.most_common()),
            "by_priority": dict(sorted(self.by_priority.items())),
            "by_team": dict(self.by_team.most_common()),
            "by_type": dict(self.by_type.most_common()),
            "sla": {t: sla_cells(n, t) for t, n in sorted(self.sla.items())},
            "sla_by_priority": {p: sla_cells(n) for p, n in sorted(self.sla_by_priority.items())},
            "breached_tickets": self.breached,
            "breached_tickets_escalated": self.breached_escalated,
            "lateness_seconds": {
                "mean": round(self.late_sum / self.changes, 1) if self.changes else None,
                "max": round(self.late_max, 1) if self.changes else None,
            },
            "mean_seconds_to_first_escalation": round(self.first_sum / self.escalated, 1)
            if self.escalated
            else None,
            "notices": {
                "by_channel": dict(sorted(self.by_channel.items())),
                "deferred": self.deferred,
                "deferred_seconds": {
                    "mean": round(self.deferred_sum / self.deferred, 1) if self.deferred else None,
                    "max": round(self.deferred_max, 1) if self.deferred else None,
                },
                "channels": {
                    name: self._channel(name, count)
                    for name, count in sorted(self.by_channel.items())
                },
            },
        }

    def _channel(self, name: str, notices: int) -> dict[str, Any]:
        deferred, total, top = self.waits.get(name, [0, 0.0, 0.0])
        return {
            "notices": notices,
            "deferred": int(deferred),
            "deferred_seconds": {
                "mean": round(total / deferred, 1) if deferred else None,
                "max": round(top, 1) if deferred else None,
            },
        }


#: What --compare sets side by side: the --compare policy's figure minus this one's.
DELTA_KEYS = (
    "escalations",
    "de_escalations",
    "notes",
    "replies",
    "breached_tickets",
    "breached_tickets_escalated",
    "mean_seconds_to_first_escalation",
)


def delta(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float | None]:
    return {
        k: None if ours[k] is None or theirs[k] is None else round(theirs[k] - ours[k], 1)
        for k in DELTA_KEYS
    }


def late(at: datetime, interval: float) -> float:
    """Seconds from `at` to the first poll at or after it, polls every `interval` seconds."""
    if interval <= 0:
        return 0.0
    ts = at.timestamp()
    return math.ceil(ts / interval) * interval - ts


def result(
    policy: Policy, ticket: Ticket, until: datetime, since: datetime | None = None
) -> TicketResult:
    """One ticket replayed: its changes, and whether each moved it up or down the ladder.
    With `since`, the changes before it are replayed (they make the state at `since`) but
    left out of the result."""
    try:
        done = replay(policy, ticket, until)
    except Exception as exc:  # odd data skips the ticket, never the backtest (as a live run)
        error = f"{type(exc).__name__}: {exc}"
        return TicketResult(ticket.id, ticket.priority, (), ticket.created_at, (), error=error)
    steps, order = done.steps, policy.level_index
    moves = tuple(
        (order[s.change.level_to] > order[s.change.level_from])
        - (order[s.change.level_to] < order[s.change.level_from])
        for s in steps
    )
    first = next((s.at for s, move in zip(steps, moves, strict=True) if move > 0), None)
    if since is not None:
        kept = [n for n, s in enumerate(steps) if s.at >= since]
        steps, moves = tuple(steps[n] for n in kept), tuple(moves[n] for n in kept)
    return TicketResult(
        ticket.id,
        ticket.priority,
        steps,
        ticket.created_at,
        moves,
        done.truncated,
        sla=done.sla,
        first_escalation=first,
    )


def difference(ours: TicketResult, other: TicketResult | None) -> dict[str, Any] | None:
    """Where two policies' replays of one ticket differ: the changes only one makes, when
    each first escalated it (in the window), how much later the --compare one did
    (`first_escalation_shift_seconds`, negative: sooner), and the level each last escalated it
    to (`escalated_to_a`, `escalated_to_b`)."""
    left = {_key(s) for s in ours.steps}
    right = {_key(s) for s in other.steps} if other else set()
    if left == right:
        return None
    first_a = ours.escalations[0].at if ours.escalations else None
    first_b = other.escalations[0].at if other and other.escalations else None
    shift = (first_b - first_a).total_seconds() if first_a and first_b else None
    return {
        "ticket": ours.ticket,
        "only_a": [_show(k) for k in sorted(left - right)],
        "only_b": [_show(k) for k in sorted(right - left)],
        "first_escalation_a": format_instant(first_a) if first_a else None,
        "first_escalation_b": format_instant(first_b) if first_b else None,
        "first_escalation_shift_seconds": shift,
        "escalated_to_a": _top(ours),
        "escalated_to_b": _top(other) if other else None,
    }


def _top(result: TicketResult) -> str | None:
    """The last level the ticket was moved up to in the window (None: never moved up)."""
    ups = result.escalations
    return ups[-1].change.level_to if ups else None


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
        # what people would have seen: the comments' text, not their parts, and no tracking
        "actions": [
            {k: v for k, v in action.items() if k != "parts"}
            for action in c.actions()
            if action["type"] != "set_tracking"
        ],
        "reasons": [str(r) for r in c.reasons],
    }
