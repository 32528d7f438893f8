"""The named steps `merge` assembles (rules.escalation, rules.merge, rules.comments), one by one.

test_merge.py checks the merged result; these pin each step, including the paths no other
test reaches: a stale escalation request, a notice with nothing else to say, and the order
of the notify list and of the notes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from rules.comments import compose_comments, stale_requests
from rules.engine import evaluate_ticket
from rules.escalation import Decision, Firing, decide
from rules.facts import Facts
from rules.merge import edit_tags_and_fields, reassign
from rules.model import Approval, StatusCategory, Ticket
from rules.plan import Diff, Reason, TicketChange
from rules.policy import Policy, load_policy
from rules.schema import OwnerBase
from rules.tracking import State, Tracking

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

LEVELS: list[dict[str, Any]] = [
    {"name": "L1", "owner": {"group": "Front"}},
    {"name": "L2", "owner": {"group": "Specialists"}, "notify": ["l2-lead"]},
    {
        "name": "L3",
        "owner": {"group": "Engineering"},
        "approval": {"approvers": ["Boss"], "notify": ["ops"]},
    },
]


def policy(rules: list[dict[str, Any]]) -> Policy:
    spec = {"levels": LEVELS, "templates": {"a": "note A", "b": "note B"}, "rules": rules}
    return load_policy(yaml.safe_dump(spec), "test.yaml")


def ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": "T-1",
        "instance": "zd",
        "platform": "zendesk",
        "title": "Broken",
        "status": "open",
        "status_category": StatusCategory.OPEN,
        "priority": "P3",
        "priority_rank": 3,
        "group": "Front",
        "assignee": "sam",
        "tags": frozenset({"old", "kept"}),
        "custom": {"Team": "net"},
        "created_at": NOW - timedelta(hours=2),
        "updated_at": NOW - timedelta(hours=1),
    }
    values.update(overrides)
    return Ticket(**values)


def at_l2(**tracking: Any) -> Ticket:
    return ticket(
        group="Specialists",
        tracking=Tracking(level="L2", escalated_at=NOW - timedelta(hours=1), count=1, **tracking),
    )


def decision(p: Policy, t: Ticket, state: State | None = None) -> tuple[Facts, Decision]:
    f = Facts(p, t, NOW)
    firings = [Firing(rule, Reason(rule.name, "matched")) for rule in p.rules]
    d = decide(f, state or State(), firings)
    assert d is not None
    return f, d


def change_for(p: Policy, t: Ticket) -> TicketChange:
    change = evaluate_ticket(p, t, NOW).change
    assert change is not None
    return change


def test_decide_puts_the_winning_rule_first_and_picks_its_owner() -> None:
    p = policy(
        [
            {"name": "tag", "when": {"priority": "P3"}, "then": {"add_tags": ["x"]}},
            {"name": "up", "when": {"priority": "P3"}, "then": {"escalate": "L2"}},
        ]
    )
    _, d = decision(p, ticket())
    assert [r.name for r in d.ordered] == ["up", "tag"]
    assert d.entered is not None and d.entered.name == "L2" and d.moved
    assert d.owner is not None and d.owner.group == "Specialists"


def test_decide_has_nothing_to_do_without_firings_or_a_granted_approval() -> None:
    f = Facts(policy([]), ticket(), NOW)
    assert decide(f, State(), []) is None
    assert decide(f, State(awaiting="L3"), []) is None  # awaiting, but nobody approved yet


def test_an_explicit_assign_beats_the_entered_levels_owner() -> None:
    p = policy(
        [
            {
                "name": "up",
                "when": {"priority": "P3"},
                "then": {"escalate": "L2", "assign": {"assignee": "kim"}},
            }
        ]
    )
    _, d = decision(p, ticket())
    assert d.owner is not None and (d.owner.group, d.owner.assignee) == (None, "kim")


@pytest.mark.parametrize(
    ("owner", "group", "assignee"),
    [
        (None, None, None),
        (OwnerBase(group="Front"), None, None),  # same group: the assignee stays
        (OwnerBase(group="Back"), Diff("Front", "Back"), Diff("sam", None)),
        (OwnerBase(group="Back", assignee="kim"), Diff("Front", "Back"), Diff("sam", "kim")),
        (OwnerBase(assignee="kim"), None, Diff("sam", "kim")),
    ],
)
def test_reassign(owner: OwnerBase | None, group: Diff | None, assignee: Diff | None) -> None:
    result = reassign(ticket(), owner)
    assert (result.group, result.assignee) == (group, assignee)


def test_tags_union_and_the_first_field_value_wins() -> None:
    p = policy(
        [
            {
                "name": "r1",
                "when": {"priority": "P3"},
                "then": {"add_tags": ["new", "old"], "set_fields": {"Team": "db", "Same": "x"}},
            },
            {
                "name": "r2",
                "when": {"priority": "P3"},
                "then": {"remove_tags": ["new", "kept", "absent"], "set_fields": {"Team": "web"}},
            },
        ]
    )
    edits = edit_tags_and_fields(ticket(custom={"Team": "net", "Same": "x"}), p.rules)
    assert edits.add_tags == ("new",)  # "old" is there already
    assert edits.remove_tags == ("kept",)  # "new" is added, "absent" is not there
    assert edits.fields == {"Team": Diff("net", "db")}


def test_a_stale_request_leaves_only_a_note_and_clears_the_request() -> None:
    p = policy(
        [
            {
                "name": "req",
                "when": {"priority": "P3"},
                "then": {"escalate": "requested", "note": "a", "reply": "b", "notify": ["x"]},
            }
        ]
    )
    t = at_l2(request="L2")
    f, d = decision(p, t)
    assert [r.name for r in stale_requests(f, d.ordered)] == ["req"]
    comments = compose_comments(f, State(), d)
    assert comments.internal_note is not None
    assert comments.internal_note.plain() == (
        "Escalation request 'L2' cleared: the ticket is already at L2."
    )
    assert (comments.public_reply, comments.notify) == (None, ())
    change = change_for(p, t)
    assert change.tracking["request"] == Diff("L2", None)


def test_a_notify_list_with_nothing_to_say_gets_a_notice() -> None:
    p = policy([{"name": "ping", "when": {"priority": "P3"}, "then": {"notify": ["kim"]}}])
    change = change_for(p, ticket())
    assert change.notify == ("kim",)
    assert change.internal_note is not None
    assert change.internal_note.plain() == "Escalation notice: ping: priority is P3 (wants in [P3])"


def test_notes_and_notify_list_order() -> None:
    """Rule notes in merge order (a shared template once), then the level's and approvers'."""
    p = policy(
        [
            {"name": "r1", "when": {"priority": "P3"}, "then": {"note": "b", "notify": ["kim"]}},
            {
                "name": "up",
                "when": {"priority": "P3"},
                "then": {"escalate": "L3", "note": "a", "notify": ["lee", "kim"]},
            },
            {"name": "r3", "when": {"priority": "P3"}, "then": {"note": "b"}},
        ]
    )
    f, d = decision(p, at_l2())
    comments = compose_comments(f, State(), d)
    assert d.move.awaiting is not None and d.move.awaiting.name == "L3"
    assert comments.notify == ("kim", "lee", "Boss", "ops")
    assert comments.internal_note is not None
    assert comments.internal_note.plain() == (
        "note B\n\nnote A\n\nEscalation to L3 is awaiting approval by Boss (rule up). "
        "Set the escalation approval field to approve: who sets it is what counts."
    )


def test_a_granted_approval_moves_the_ticket_and_says_who_owns_it() -> None:
    p = policy([])
    t = replace(at_l2(approved_by="ok"), approval=Approval("Boss (boss@x)", frozenset({"boss"})))
    f = Facts(p, t, NOW)
    d = decide(f, State(awaiting="L3"), [])
    assert d is not None and d.entered is not None and d.entered.name == "L3"
    comments = compose_comments(f, State(awaiting="L3"), d)
    assert comments.notify == ()
    assert comments.internal_note is not None
    assert comments.internal_note.plain() == (
        "Escalation to L3 approved by Boss (boss@x), now owned by Engineering."
    )
