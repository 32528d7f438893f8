"""Replaying the example policy along hand-checked ticket timelines (rules/replay.py): every
change at the exact instant its trigger fires, with SLA pauses, holidays and a DST change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from rules.model import Ticket
from rules.policy import Policy, load_policy
from rules.replay import replay
from rules.ticketio import read_tickets

ROOT = Path(__file__).resolve().parents[2]


@cache
def example() -> Policy:
    return load_policy((ROOT / "config.example.yaml").read_text(encoding="utf-8"), "example")


def ticket(priority: str, created: str, history: list[dict[str, Any]], **kw: Any) -> Ticket:
    record = {
        "id": "T1",
        "instance": "zendesk-prod",
        "platform": "zendesk",
        "title": "Reports arrive empty",
        "status": "open",
        "priority": priority,
        "group": "Support L1",
        "requester": {"id": "501", "name": "Alex", "email": "alex@shop.example"},
        "created_at": created,
        "history": [
            {"at": created, "kind": "status", "actor": "customer", "value": "new"},
            {"at": created, "kind": "comment", "actor": "customer", "text": "It is broken"},
            *history,
        ],
        **kw,
    }
    (out,) = read_tickets(json.dumps([record]), "t.json", example())
    return out


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def steps(t: Ticket, until: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    out = replay(example(), t, at(until))
    return [
        (s.at.strftime("%Y-%m-%dT%H:%MZ"), s.change.level_from, s.change.level_to, s.change.rules)
        for s in out.steps
    ]


def test_a_p1_on_the_24x7_clock() -> None:
    """P1 (SLA p1, 24x7): created 09:00Z, an agent answered at 09:10 and nobody since.
    - 10:00 p1-unresolved-1h (age 1h, calendar): L1 -> L2.
    - 12:00 not-acknowledged (2h unacknowledged after 10:00): asks for L3, which awaits
      approval, so the level stays L2.
    - 12:12 resolution-at-risk (80% of 4h = 3h12m after 09:00): escalate next is L3, still
      awaiting approval: a note at L2.
    - 13:00 inform-director (age 4h).
    - 14:00 idle-reminder: idle since 09:10 (4h at 13:10), and 4h at L2 since 10:00."""
    t = ticket(
        "urgent",
        "2026-11-20T09:00:00Z",
        [
            {"at": "2026-11-20T09:10:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
            {"at": "2026-11-20T09:10:00Z", "kind": "status", "actor": "agent", "value": "open"},
        ],
    )
    assert steps(t, "2026-11-20T18:00:00Z") == [
        ("2026-11-20T10:00Z", "L1", "L2", ("p1-unresolved-1h",)),
        ("2026-11-20T12:00Z", "L2", "L2", ("not-acknowledged",)),
        ("2026-11-20T12:12Z", "L2", "L2", ("resolution-at-risk",)),
        ("2026-11-20T13:00Z", "L2", "L2", ("inform-director",)),
        ("2026-11-20T14:00Z", "L2", "L2", ("idle-reminder",)),
    ]


def test_a_pause_and_two_holidays_on_the_berlin_office_calendar() -> None:
    """P3 (SLA standard: berlin-office, Mon-Fri 08:00-18:00 Europe/Berlin, CET = UTC+1 in
    December; pauses while pending). resolution-at-risk fires at 80% of 40h = 32 business hours.
    Created Mon 2026-12-21 10:00 local (09:00Z); pending Tue 10:00-14:00 local.
    Mon 10-18: 8h. Tue 08-10 + 14-18: 6h (14). Wed: 10h (24). Thu 24 Dec: office closed (the
    calendar's own dates). Fri 25 Dec: public holiday (DE-BE). Weekend. Mon 28 Dec 08:00 + 8h =
    16:00 local = 15:00Z: 32h."""
    t = ticket(
        "normal",
        "2026-12-21T09:00:00Z",
        [
            {"at": "2026-12-22T09:00:00Z", "kind": "status", "actor": "agent", "value": "pending"},
            {"at": "2026-12-22T13:00:00Z", "kind": "status", "actor": "customer", "value": "open"},
        ],
    )
    assert steps(t, "2026-12-28T15:00:00Z") == [
        ("2026-12-28T15:00Z", "L1", "L2", ("resolution-at-risk",))
    ]
    assert steps(t, "2026-12-28T14:59:00Z") == []


def test_across_the_spring_dst_change() -> None:
    """P3 again. Created Fri 2026-03-27 10:00 local (CET, 09:00Z): 8h on Friday. Clocks go
    forward on Sunday 29 March. Mon 30: 10h (18), Tue 31: 10h (28), Wed 1 April 08:00 + 4h =
    12:00 local = 10:00Z (CEST, UTC+2): 32h. (Ignoring DST would give 11:00Z.) Then nobody
    acknowledges: not-acknowledged, 2 business hours later (14:00 local = 12:00Z), asks for L3,
    which awaits approval."""
    t = ticket("normal", "2026-03-27T09:00:00Z", [])
    assert steps(t, "2026-04-01T12:00:00Z") == [
        ("2026-04-01T10:00Z", "L1", "L2", ("resolution-at-risk",)),
        ("2026-04-01T12:00Z", "L2", "L2", ("not-acknowledged",)),
    ]


def test_a_persons_later_reassignment_wins_over_the_replayed_write() -> None:
    """The replay writes the L2 owner at 10:00; an agent moved the ticket to another group at
    11:00 in real life: from then on the ticket is in that group (the history is what people
    did). Evaluations happen at events and trigger times only."""
    t = ticket(
        "urgent",
        "2026-11-20T09:00:00Z",
        [
            {"at": "2026-11-20T09:10:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
            {"at": "2026-11-20T11:00:00Z", "kind": "group", "actor": "agent", "value": "Billing"},
        ],
    )
    out = replay(example(), t, at("2026-11-20T11:30:00Z"))
    (first,) = out.steps
    assert first.change.group is not None and first.change.group.new == "Support L2 Specialists"
    # created, 09:10, 10:00 (the escalation), 11:00 (the reassignment) and nothing after it
    # before 11:30 (not-acknowledged: the agent's reassignment acknowledged the escalation)
    assert out.evaluations == 4
