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


SMALL = """\
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2, owner: {group: Specialists}}
sla: [{name: all, calendar: 24x7, targets: {resolution: 100h}}]
rules:
RULES
templates:
  n: "nudge"
"""


def small(rules: str) -> Policy:
    return load_policy(SMALL.replace("RULES", rules.rstrip()), "small.yaml")


def record(history: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {
        "id": "S1",
        "status": "open",
        "created_at": "2026-11-20T09:00:00Z",
        "history": history,
        **kw,
    }


def small_steps(
    policy: Policy, rec: dict[str, Any], until: str
) -> list[tuple[str, tuple[str, ...]]]:
    (t,) = read_tickets(json.dumps([rec]), "t.json", policy)
    out = replay(policy, t, at(until))
    assert not out.truncated
    return [(s.at.strftime("%H:%M:%S"), s.change.rules) for s in out.steps]


def test_rules_are_re_armed_by_a_reopen_even_if_nothing_fires_then() -> None:
    """nudge (idle 1h, once per cycle) at 10:00; solved at 11:00, reopened at 12:00 (nothing
    fires at either): the reopen starts a new cycle, so it nudges again at 13:00."""
    policy = small("  - {name: nudge, when: {idle: {over: 1h, time: calendar}}, then: {note: n}}")
    history = [
        {"at": "2026-11-20T09:00:00Z", "kind": "comment", "actor": "customer", "text": "hi"},
        {"at": "2026-11-20T11:00:00Z", "kind": "status", "actor": "agent", "value": "solved"},
        {"at": "2026-11-20T12:00:00Z", "kind": "status", "actor": "customer", "value": "open"},
    ]
    assert small_steps(policy, record(history), "2026-11-20T14:00:00Z") == [
        ("10:00:00", ("nudge",)),
        ("13:00:00", ("nudge",)),
    ]


def test_tags_the_policy_added_stay_for_the_rules_after() -> None:
    """tag-it adds `stale` after 1h idle (10:00); go-up escalates tickets tagged `stale` aged
    2h: at 11:00, as live."""
    policy = small(
        "  - {name: tag-it, when: {idle: {over: 1h, time: calendar}}, then: {add_tags: [stale]}}\n"
        "  - name: go-up\n"
        "    when: {label: stale, age: {over: 2h, time: calendar}}\n"
        "    then: {escalate: L2}"
    )
    history = [{"at": "2026-11-20T09:00:00Z", "kind": "comment", "actor": "customer", "text": "hi"}]
    assert small_steps(policy, record(history), "2026-11-20T12:00:00Z") == [
        ("10:00:00", ("tag-it",)),
        ("11:00:00", ("go-up",)),
    ]


def test_a_ticket_is_new_until_its_first_status_event() -> None:
    """No status event at creation (a Jira changelog has none): new until the first one, as
    the SLA timeline assumes, not solved from creation because it was solved in the end.
    resolution-at-risk (80% of 40 business hours on berlin-office) fires on Thu 19 Nov at
    11:00Z: Mon 10-18 local 8h, Tue 10h, Wed 10h, Thu 08:00 + 4h = 12:00 local."""
    rec = {
        "id": "J1",
        "platform": "zendesk",
        "status": "solved",
        "priority": "normal",
        "group": "Support L1",
        "created_at": "2026-11-16T09:00:00Z",
        "history": [
            {"at": "2026-11-16T09:00:00Z", "kind": "comment", "actor": "customer", "text": "x"},
            {"at": "2026-11-23T09:00:00Z", "kind": "status", "actor": "agent", "value": "solved"},
        ],
    }
    (t,) = read_tickets(json.dumps([rec]), "t.json", example())
    first = replay(example(), t, at("2026-11-30T00:00:00Z")).steps[0]
    assert (first.at, first.change.rules) == (at("2026-11-19T11:00:00Z"), ("resolution-at-risk",))


def test_sub_second_times_step_to_the_next_second() -> None:
    """Jira times carry milliseconds: a threshold computed in floats may fall a hair short of
    the instant the replay wakes at. Fire times are rounded up to the whole second, and the
    replay never evaluates one instant twice."""
    t = ticket(
        "urgent",
        "2026-11-20T09:00:00.333Z",
        [{"at": "2026-11-20T09:10:00.250Z", "kind": "comment", "actor": "agent", "text": "Hi"}],
    )
    out = replay(example(), t, at("2026-11-20T12:30:00Z"))
    assert not out.truncated and out.evaluations < 20
    assert [(s.at.isoformat(), s.change.rules[0]) for s in out.steps][:1] == [
        ("2026-11-20T10:00:01+00:00", "p1-unresolved-1h")
    ]


def owners(t: Ticket, until: str) -> list[tuple[str, str, str, str | None]]:
    """(instant to the second, from, to, new group) of each change."""
    out = replay(example(), t, at(until))
    return [
        (
            s.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            s.change.level_from,
            s.change.level_to,
            s.change.group.new if s.change.group else None,
        )
        for s in out.steps
    ]


MARIA = {"by": "maria.manager@example.com", "names": ["4711"], "groups": ["support-managers"]}


def test_a_request_and_its_approval_are_replayed_at_their_instants() -> None:
    """An agent asks for L3 at 10:17:23 (L3 needs a manager's approval: the request is noted,
    the ticket stays at L1), Maria approves at 11:42:05: the ticket enters L3 then, to the
    second, and not at the end of the history (nor never, as when requests were not
    replayed). The ticket is about billing at that instant (its labels changed to network at
    12:00, which is what it ends with): L3 goes to Payments Engineering, not Network
    Engineering."""
    t = ticket(
        "normal",
        "2026-11-23T09:00:00Z",
        [
            {"at": "2026-11-23T09:00:00Z", "kind": "field", "field": "tags", "actor": "customer",
             "value": ["billing"]},
            {"at": "2026-11-23T09:20:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
            {"at": "2026-11-23T10:17:23Z", "kind": "field", "field": "tracking.request",
             "actor": "agent", "value": "L3"},
            {"at": "2026-11-23T11:42:05Z", "kind": "field", "field": "tracking.approved_by",
             "actor": "agent", "value": "Maria", "by": MARIA},
            {"at": "2026-11-23T12:00:00Z", "kind": "field", "field": "tags", "actor": "agent",
             "value": ["network"]},
        ],
        tags=["network"],
    )  # fmt: skip
    assert owners(t, "2026-11-23T13:00:00Z") == [
        ("2026-11-23T10:17:23Z", "L1", "L1", None),  # asked: awaiting approval (a note)
        ("2026-11-23T11:42:05Z", "L1", "L3", "Payments Engineering"),
    ]


def test_an_approval_by_someone_else_is_refused_at_its_instant() -> None:
    """The platform's record names who set the field: not an approver, so the replayed
    connector refuses it (a note, the request still pending) at that instant."""
    t = ticket(
        "normal",
        "2026-11-23T09:00:00Z",
        [
            {"at": "2026-11-23T09:20:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
            {"at": "2026-11-23T10:17:23Z", "kind": "field", "field": "tracking.request",
             "actor": "agent", "value": "L3"},
            {"at": "2026-11-23T10:30:00Z", "kind": "field", "field": "tracking.approved_by",
             "actor": "agent", "value": "me", "by": {"by": "eve@example.com"}},
        ],
    )  # fmt: skip
    out = replay(example(), t, at("2026-11-23T11:00:00Z"))
    (_, refused) = out.steps
    assert refused.at == at("2026-11-23T10:30:00Z") and refused.change.level_to == "L1"
    note = refused.change.internal_note
    assert note is not None and "eve@example.com" in note.plain()


def test_routing_uses_the_component_the_ticket_had_at_the_instant() -> None:
    """A Jira issue filed under the Network component, moved out of it at 11:00 (it ends with
    none): the agent's request for L2 at 10:05 goes to Network Support, the owner of network
    tickets at L2, as it would have then."""
    t = ticket(
        "normal",
        "2026-11-23T09:00:00Z",
        [
            {"at": "2026-11-23T09:00:00Z", "kind": "field", "field": "components",
             "actor": "system", "value": ["Network"]},
            {"at": "2026-11-23T09:20:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
            {"at": "2026-11-23T10:05:00Z", "kind": "field", "field": "tracking.request",
             "actor": "agent", "value": "L2"},
            {"at": "2026-11-23T11:00:00Z", "kind": "field", "field": "components",
             "actor": "agent", "value": []},
        ],
    )  # fmt: skip
    assert owners(t, "2026-11-23T10:30:00Z") == [
        ("2026-11-23T10:05:00Z", "L1", "L2", "Network Support"),
    ]
    # Had the final value held throughout (no events), L2's own group would own it.
    final = ticket("normal", "2026-11-23T09:00:00Z", [
        {"at": "2026-11-23T09:20:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
        {"at": "2026-11-23T10:05:00Z", "kind": "field", "field": "tracking.request",
         "actor": "agent", "value": "L2"},
    ])  # fmt: skip
    assert owners(final, "2026-11-23T10:30:00Z") == [
        ("2026-11-23T10:05:00Z", "L1", "L2", "Support L2 Specialists"),
    ]


def test_a_custom_field_takes_its_value_at_the_instant_in_its_own_type() -> None:
    """`Product area` was network until 10:00 (events give text); the function matches it
    then, not after."""
    history = [
        {"at": "2026-11-23T09:00:00Z", "kind": "field", "field": "custom.Product area",
         "actor": "system", "value": "network"},
        {"at": "2026-11-23T09:20:00Z", "kind": "comment", "actor": "agent", "text": "On it"},
        {"at": "2026-11-23T10:00:00Z", "kind": "field", "field": "custom.Product area",
         "actor": "agent", "value": "billing"},
        {"at": "2026-11-23T10:05:00Z", "kind": "field", "field": "tracking.request",
         "actor": "agent", "value": "L2"},
    ]  # fmt: skip
    t = ticket("normal", "2026-11-23T09:00:00Z", history, custom={"Product area": "billing"})
    assert owners(t, "2026-11-23T10:30:00Z") == [
        ("2026-11-23T10:05:00Z", "L1", "L2", "Support L2 Specialists"),
    ]
    early = [*history[:2], {**history[3], "at": "2026-11-23T09:30:00Z"}, history[2]]
    t = ticket("normal", "2026-11-23T09:00:00Z", early, custom={"Product area": "billing"})
    assert owners(t, "2026-11-23T10:30:00Z") == [
        ("2026-11-23T09:30:00Z", "L1", "L2", "Network Support"),
    ]
