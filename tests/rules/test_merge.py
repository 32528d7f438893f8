"""Merge semantics: one change per ticket, deterministic conflict resolution, owners."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from rules.apply import apply_change
from rules.engine import evaluate_ticket
from rules.model import Organization, StatusCategory, Ticket
from rules.plan import TicketChange
from rules.policy import Policy, load_policy
from rules.tracking import State, Tracking

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

BASE: dict[str, Any] = {
    "levels": [
        {"name": "L1", "owner": {"group": "Front"}},
        {"name": "L2", "owner": {"group": "Specialists"}},
        {"name": "L3", "owner": {"group": "Engineering", "assignee": "eng-lead"}},
        {"name": "management", "owner": {"group": "Managers"}},
    ],
    "templates": {
        "a": "note A for {{ ticket.title }}",
        "b": "note B",
        "hello": "Hello {{ ticket.requester.name }}",
        "bye": "Bye",
    },
}


def policy(rules: list[dict[str, Any]], **extra: Any) -> Policy:
    return load_policy(yaml.safe_dump({**BASE, "rules": rules, **extra}), "test.yaml")


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
        "created_at": NOW - timedelta(hours=2),
        "updated_at": NOW - timedelta(hours=1),
    }
    values.update(overrides)
    return Ticket(**values)


def change_for(p: Policy, t: Ticket) -> TicketChange:
    change = evaluate_ticket(p, t, NOW).change
    assert change is not None
    return change


def test_highest_level_wins_and_its_owner_applies() -> None:
    p = policy(
        [
            {"name": "to-l2", "when": {"priority": "P3"}, "then": {"escalate": "L2"}},
            {"name": "to-l3", "when": {"priority": "P3"}, "then": {"escalate": "L3"}},
        ]
    )
    change = change_for(p, ticket())
    assert (change.level_from, change.level_to) == ("L1", "L3")
    assert change.group is not None and change.group.new == "Engineering"
    assert change.assignee is not None and change.assignee.new == "eng-lead"
    assert change.tracking["rule"].new == "to-l3"
    assert change.tracking["count"].new == "1"
    assert change.rules == ("to-l2", "to-l3")


def test_group_change_clears_the_assignee_unless_the_owner_names_one() -> None:
    p = policy([{"name": "up", "when": {"priority": "P3"}, "then": {"escalate": "next"}}])
    change = change_for(p, ticket())
    assert change.group is not None and change.group.new == "Specialists"
    assert change.assignee is not None and change.assignee.new is None


def test_most_urgent_priority_wins() -> None:
    p = policy(
        [
            {"name": "raise", "when": {"priority": "P3"}, "then": {"priority": {"raise": 1}}},
            {"name": "floor", "when": {"priority": "P3"}, "then": {"priority": {"at_least": "P1"}}},
            {"name": "set", "when": {"priority": "P3"}, "then": {"priority": {"set": "P4"}}},
        ]
    )
    change = change_for(p, ticket())
    assert change.priority is not None and (change.priority.old, change.priority.new) == (
        "P3",
        "P1",
    )


def test_at_least_never_lowers_a_priority() -> None:
    p = policy(
        [
            {
                "name": "floor",
                "when": {"priority": "P1"},
                "then": {"priority": {"at_least": "P2"}, "add_tags": ["x"]},
            }
        ]
    )
    change = change_for(p, ticket(priority="P1", priority_rank=1))
    assert change.priority is None and change.add_tags == ("x",)


def test_one_comment_per_visibility() -> None:
    p = policy(
        [
            {"name": "r1", "when": {"priority": "P3"}, "then": {"note": "a", "reply": "hello"}},
            {"name": "r2", "when": {"priority": "P3"}, "then": {"note": "b", "reply": "bye"}},
            {"name": "r3", "when": {"priority": "P3"}, "then": {"note": "a"}},
        ]
    )
    change = change_for(p, ticket())
    assert change.internal_note is not None
    assert change.internal_note.plain() == "note A for Broken\n\nnote B"
    assert change.public_reply is not None and change.public_reply.plain() == "Hello None"


def test_the_escalating_rule_comes_first_for_reply_and_assignment() -> None:
    p = policy(
        [
            {
                "name": "tag",
                "when": {"priority": "P3"},
                "then": {"reply": "bye", "assign": {"assignee": "kim"}},
            },
            {
                "name": "up",
                "when": {"priority": "P3"},
                "then": {"escalate": "L2", "reply": "hello", "assign": {"assignee": "lee"}},
            },
        ]
    )
    change = change_for(p, ticket())
    assert change.public_reply is not None and change.public_reply.plain().startswith("Hello")
    assert change.assignee is not None and change.assignee.new == "lee"


def test_levels_only_go_down_with_an_explicit_de_escalation() -> None:
    at_l3 = ticket(
        group="Engineering",
        tracking=Tracking(level="L3", escalated_at=NOW - timedelta(hours=1), count=2),
    )
    lower = policy([{"name": "next", "when": {"priority": "P3"}, "then": {"escalate": "L2"}}])
    assert evaluate_ticket(lower, at_l3, NOW).change is None
    down = policy([{"name": "calm", "when": {"priority": "P3"}, "then": {"de_escalate": "L1"}}])
    change = change_for(down, at_l3)
    assert (change.level_from, change.level_to) == ("L3", "L1")
    assert change.group is not None and change.group.new == "Front"


def test_escalation_beats_de_escalation() -> None:
    at_l2 = ticket(tracking=Tracking(level="L2", escalated_at=NOW - timedelta(hours=1), count=1))
    p = policy(
        [
            {"name": "calm", "when": {"priority": "P3"}, "then": {"de_escalate": "L1"}},
            {"name": "up", "when": {"priority": "P3"}, "then": {"escalate": "next"}},
        ]
    )
    assert change_for(p, at_l2).level_to == "L3"


def test_matrix_owner_beats_the_level_owner_and_instances_override() -> None:
    p = policy(
        [{"name": "up", "when": {"priority": "P3"}, "then": {"escalate": "L2"}}],
        functions={"net": {"match": {"component": "Network"}}},
        matrix={"net": {"L2": {"group": "Net L2", "instances": {"jira": {"group": "net-l2"}}}}},
    )
    assert change_for(p, ticket(components=("network",))).group.new == "Net L2"  # type: ignore[union-attr]
    jira_ticket = ticket(components=("Network",), instance="jira", platform="jira")
    assert change_for(p, jira_ticket).group.new == "net-l2"  # type: ignore[union-attr]
    assert change_for(p, ticket()).group.new == "Specialists"  # type: ignore[union-attr]


def test_a_cascade_settles_within_one_run() -> None:
    """Raising the priority makes another rule fire; the next run has nothing left to do."""
    p = policy(
        [
            {
                "name": "vip",
                "when": {"organization_tag": "vip", "priority": "P3"},
                "then": {"priority": {"set": "P1"}, "note": "a"},
            },
            {"name": "p1", "when": {"priority": "P1"}, "then": {"escalate": "L2", "note": "b"}},
        ]
    )
    t = ticket(organization=Organization("1", "Big", frozenset({"vip"})))
    change = change_for(p, t)
    assert change.level_to == "L2" and change.priority.new == "P1"  # type: ignore[union-attr]
    assert change.rules == ("vip", "p1")
    after = apply_change(p, t, change, NOW)
    assert evaluate_ticket(p, after, NOW).change is None


def test_tags_and_fields_are_diffs() -> None:
    p = policy(
        [
            {
                "name": "t",
                "when": {"priority": "P3"},
                "then": {
                    "add_tags": ["a", "b"],
                    "remove_tags": ["old", "absent"],
                    "set_fields": {"Team": "net", "Same": "x"},
                },
            }
        ]
    )
    change = change_for(p, ticket(tags=frozenset({"b", "old"}), custom={"Same": "x"}))
    assert change.add_tags == ("a",) and change.remove_tags == ("old",)
    assert set(change.fields) == {"Team"}


def test_no_effective_change_means_no_write() -> None:
    p = policy([{"name": "t", "when": {"priority": "P3"}, "then": {"add_tags": ["a"]}}])
    assert evaluate_ticket(p, ticket(tags=frozenset({"a"})), NOW).change is None


def test_ack_without_history_is_measured_from_the_escalation_not_our_last_write() -> None:
    """An agent touched the ticket after the escalation; our later write must not hide that."""
    p = policy(
        [
            {
                "name": "unacked",
                "when": {"unacknowledged": {"over": "30m", "time": "calendar"}, "level": "L2"},
                "then": {"escalate": "next"},
            }
        ]
    )
    escalated = NOW - timedelta(hours=3)
    agent_touch = NOW - timedelta(hours=2)  # a human update after the escalation
    our_write = NOW - timedelta(hours=1)  # e.g. an sla_due bookkeeping write, later
    state = State(written_at=our_write, activity_at=agent_touch)
    t = ticket(
        group="Specialists",
        updated_at=our_write,  # the platform's updated_at is our own write
        tracking=Tracking(level="L2", escalated_at=escalated, count=1, state=state),
    )
    assert evaluate_ticket(p, t, NOW).change is None
    untouched = replace(
        t,
        tracking=replace(
            t.tracking, state=replace(state, activity_at=escalated - timedelta(hours=1))
        ),
    )
    assert change_for(p, untouched).level_to == "L3"
