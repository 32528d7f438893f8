"""Approval gates: only the platform's record of who set the field counts; a forged approval is
refused, cleared and noted; a group member approves; reminders and timeouts; the `rule` field
after an approved move; the approvers' schema."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from rules.apply import apply_change
from rules.approval import approvers_text, gate_text
from rules.engine import evaluate_ticket
from rules.errors import ConfigError
from rules.explain import explain, render_text
from rules.model import Approval, StatusCategory, Ticket
from rules.plan import TicketChange
from rules.policy import Policy, load_policy
from rules.tracking import State, Tracking, rule_key

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ASKED = NOW - timedelta(hours=5)


def policy(approval: dict[str, Any]) -> Policy:
    spec = {
        "levels": [
            {"name": "L1", "owner": {"group": "Front"}},
            {"name": "L2", "owner": {"group": "Specialists"}},
            {"name": "L3", "owner": {"group": "Engineering"}, "approval": approval},
        ],
        "rules": [
            {"name": "first", "when": {"priority": "P4"}, "then": {"escalate": "L2"}},
            {"name": "asker", "when": {"priority": "P1"}, "then": {"escalate": "L3"}},
        ],
    }
    return load_policy(yaml.safe_dump(spec), "test.yaml")


GATE = {"approvers": ["Maria@Example.com"], "groups": ["support-managers"], "notify": ["ops"]}


def waiting(
    approved_by: str | None = None, approval: Approval | None = None, **state: Any
) -> Ticket:
    """An L2 ticket whose escalation to L3, asked for by rule `asker`, awaits approval."""
    asked = State(
        written_at=ASKED,
        awaiting="L3",
        asked_at=ASKED,
        asked_by=rule_key("asker"),
        **state,
    )
    tracking = Tracking.parse(
        {
            "level": "L2",
            "rule": "first",
            "count": "1",
            "escalated_at": "2026-11-20T06:00:00Z",
            "approved_by": approved_by,
            "state": asked.encode(),
        }
    )
    return Ticket(
        id="T-1",
        instance="zd",
        platform="zendesk",
        status="open",
        status_category=StatusCategory.OPEN,
        priority="P3",
        priority_rank=3,
        group="Specialists",
        created_at=NOW - timedelta(hours=8),
        updated_at=NOW - timedelta(hours=1),
        tracking=tracking,
        approval=approval,
    )


def run(p: Policy, t: Ticket, now: datetime = NOW) -> TicketChange | None:
    return evaluate_ticket(p, t, now).change


def person(by: str, *names: str, groups: tuple[str, ...] = ()) -> Approval:
    """Who set the field (after the request: 10:00, the request was made at 07:00)."""
    at = NOW - timedelta(hours=2)
    return Approval(by, frozenset(n.lower() for n in names), frozenset(groups), at)


def test_a_named_approver_recorded_by_the_platform_moves_the_ticket() -> None:
    p = policy(GATE)
    change = run(p, waiting("yes", person("Maria (maria@example.com)", "maria@example.com")))
    assert change is not None and change.level_to == "L3"
    assert change.tracking["approved_by"].new is None
    assert change.internal_note is not None
    assert "approved by Maria (maria@example.com)" in change.internal_note.plain()
    # the rule field names the rule that asked for the approval, not the earlier `first`
    assert change.tracking["rule"].new == "asker"


def test_a_group_member_approves() -> None:
    p = policy(GATE)
    dana = person("Dana", "dana@example.com", groups=("support-managers",))
    change = run(p, waiting("ok", dana))
    assert change is not None and change.level_to == "L3"


def test_a_forged_approval_is_refused_cleared_and_names_who_typed_it() -> None:
    p = policy(GATE)
    lee = person("Lee (lee@example.com)", "lee@example.com", groups=("support-l2",))
    ticket = waiting("Maria@Example.com", lee)
    change = run(p, ticket)
    assert change is not None and change.level_to == "L2"
    assert change.tracking["approved_by"] == replace(change.tracking["approved_by"], new=None)
    assert change.internal_note is not None
    note = change.internal_note.plain()
    assert "refused: 'Maria@Example.com' was entered by Lee (lee@example.com)" in note
    assert "maria@example.com, group support-managers" in note.lower()
    after = apply_change(p, ticket, change, NOW)
    assert after.tracking.state.awaiting == "L3" and after.approval is None
    assert run(p, after) is None  # refused once; nothing more until someone sets it again


def test_an_approval_without_a_record_is_refused() -> None:
    p = policy(GATE)
    change = run(p, waiting("maria@example.com", None))
    assert change is not None and change.level_to == "L2"
    assert change.internal_note is not None
    assert "no record says who set the approval field" in change.internal_note.plain()
    system = run(p, waiting("maria@example.com", Approval("")))  # set by no one we can name
    assert system is not None and system.level_to == "L2"


def test_a_gate_open_to_anyone_must_say_so_and_takes_anyone_the_platform_recorded() -> None:
    with pytest.raises(ConfigError, match="an approval needs `approvers`, `groups`, or `anyone"):
        policy({"notify": ["ops"]})
    p = policy({"anyone": True, "notify": ["ops"]})
    change = run(p, waiting("ok", person("Kim", "kim")))
    assert change is not None and change.level_to == "L3"
    assert "approved by Kim" in (change.internal_note.plain() if change.internal_note else "")


def test_reminders_repeat_every_interval_to_the_approvers() -> None:
    p = policy({**GATE, "remind_every": "4h"})
    early = run(p, waiting(), ASKED + timedelta(hours=3))
    assert early is None
    ticket = waiting()
    change = run(p, ticket)  # 5h after asking
    assert change is not None and change.level_to == "L2"
    assert change.internal_note is not None
    assert (
        "Reminder: the escalation to L3 has been awaiting approval" in change.internal_note.plain()
    )
    assert change.notify == ("Maria@Example.com", "ops")
    after = apply_change(p, ticket, change, NOW)
    assert run(p, after, NOW + timedelta(hours=3)) is None
    again = run(p, after, NOW + timedelta(hours=4))
    assert again is not None and again.internal_note is not None


def test_a_timeout_notifies_the_approvers_once() -> None:
    p = policy({**GATE, "timeout": {"after": "4h", "then": "notify"}})
    ticket = waiting()
    change = run(p, ticket)
    assert change is not None and change.level_to == "L2"
    assert change.internal_note is not None
    assert "No approval for the escalation to L3 within 4h" in change.internal_note.plain()
    assert "Maria@Example.com" in change.notify
    after = apply_change(p, ticket, change, NOW)
    assert after.tracking.state.timeout_noted
    assert run(p, after, NOW + timedelta(days=2)) is None


def test_a_timeout_that_enters_escalates_past_the_gate() -> None:
    p = policy({**GATE, "timeout": {"after": "4h", "then": "enter"}})
    assert run(p, waiting(), ASKED + timedelta(hours=3)) is None
    change = run(p, waiting())
    assert change is not None and change.level_to == "L3"
    assert change.tracking["rule"].new == "asker"
    assert change.internal_note is not None
    assert "escalated without it (approval timeout)" in change.internal_note.plain()
    assert any("timed out: entered without approval" in str(r) for r in change.reasons)


def test_a_request_is_timed_from_when_it_was_made() -> None:
    p = policy({**GATE, "remind_every": "1h"})
    ticket = evaluate_ticket(
        p, replace(waiting(), priority="P1", priority_rank=1, tracking=Tracking()), NOW
    )
    assert ticket.change is not None
    state = State.parse(ticket.change.tracking["state"].new)  # type: ignore[arg-type]
    assert state.awaiting == "L3" and state.asked_at == NOW and state.asked_by == rule_key("asker")
    assert State.parse(state.encode()) == state


@pytest.mark.parametrize(
    "bad",
    [
        {"approvers": 5},
        {"approvers": "maria@example.com"},
        {"approvers": [5]},
        {"groups": [""]},
        {},
        {"approvers": []},
        {"remind_every": "0m"},
        {"timeout": {"after": "1h", "then": "skip"}},
    ],
)
def test_approver_lists_must_be_lists_of_names(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        policy(bad)


def test_the_matrix_line_of_a_gate() -> None:
    p = policy({**GATE, "remind_every": "4h", "timeout": {"after": "1d", "then": "enter"}})
    gate = p.levels[2].model.approval
    assert gate is not None
    assert gate_text(gate) == (
        "Maria@Example.com, group support-managers; reminded every 4h;"
        " after 1d: enters without approval"
    )
    gate = policy({"anyone": True}).levels[2].model.approval
    assert gate is not None and approvers_text(gate) == "anyone who can edit the ticket"


def test_explain_shows_the_pending_approval_who_set_the_field_and_what_comes_next() -> None:
    p = policy({**GATE, "remind_every": "4h", "timeout": {"after": "1d", "then": "notify"}})
    lee = person("Lee (lee@example.com)", "lee@example.com")
    data = explain(p, waiting("Maria@Example.com", lee), ASKED + timedelta(hours=1))
    assert data["approval"] == {
        "level": "L3",
        "asked_at": "2026-11-20T07:00:00Z",
        "approvers": "Maria@Example.com, group support-managers",
        "field": "Maria@Example.com",
        "set_by": "Lee (lee@example.com)",
        "verdict": "refused: 'Maria@Example.com' was entered by Lee (lee@example.com), who is"
        " not an approver for L3 (Maria@Example.com, group support-managers)",
        "next": "reminder at 2026-11-20T11:00:00Z",
    }
    text = render_text(data)
    assert "Approval: L3 awaits approval since 2026-11-20T07:00:00Z by Maria@Example.com" in text
    assert "set by Lee (lee@example.com): refused:" in text
    assert explain(p, replace(waiting(), tracking=Tracking()), NOW)["approval"] is None


def test_a_value_set_before_the_request_does_not_approve_it() -> None:
    p = policy(GATE)
    early = Approval("Maria", frozenset({"maria@example.com"}), at=ASKED - timedelta(minutes=5))
    change = run(p, waiting("yes", early))
    assert change is not None and change.level_to == "L2"
    assert change.tracking["approved_by"].new is None
    assert "before the escalation asked for approval" in str(change.reasons)


def test_a_value_while_no_escalation_awaits_approval_is_refused_and_cleared() -> None:
    p = policy(GATE)
    idle = replace(
        waiting(), tracking=Tracking.parse({"level": "L2", "approved_by": "maria@example.com"})
    )
    idle = replace(idle, approval=person("Maria", "maria@example.com"))
    change = run(p, idle)
    assert change is not None and change.level_to == "L2"
    assert change.tracking["approved_by"].new is None
    assert "but no escalation awaits approval" in str(change.reasons)
    assert run(p, apply_change(p, idle, change, NOW)) is None


def test_the_approved_trigger_counts_only_a_recorded_allowed_approval() -> None:
    spec = {**GATE}
    p = load_policy(
        yaml.safe_dump(
            {
                "levels": [
                    {"name": "L1"},
                    {"name": "L2"},
                    {"name": "L3", "approval": spec},
                    {"name": "L4"},
                ],
                "rules": [
                    {"name": "jump", "when": {"approved": True}, "then": {"escalate": "L4"}},
                ],
            }
        ),
        "t.yaml",
    )
    forged = run(p, waiting("Maria@Example.com", person("Lee", "lee@example.com")))
    assert forged is not None and forged.level_to == "L2"  # refused, and `jump` does not fire
    assert "jump" not in forged.rules
    real = run(p, waiting("ok", person("Maria", "maria@example.com")))
    assert real is not None and real.level_to == "L4" and "jump" in real.rules


def test_a_move_below_the_pending_level_keeps_the_request() -> None:
    spec = {
        "levels": [
            {"name": "L1"},
            {"name": "L2"},
            {"name": "L3", "approval": GATE},
        ],
        "rules": [{"name": "up", "when": {"priority": "P3"}, "then": {"escalate": "L2"}}],
    }
    p = load_policy(yaml.safe_dump(spec), "t.yaml")
    at_l1 = replace(
        waiting(),
        tracking=Tracking.parse(
            {"state": State(written_at=ASKED, awaiting="L3", asked_at=ASKED).encode()}
        ),
    )
    change = run(p, at_l1)
    assert change is not None and change.level_to == "L2"
    after = apply_change(p, at_l1, change, NOW)
    assert after.tracking.state.awaiting == "L3" and after.tracking.state.asked_at == ASKED


def test_a_request_from_before_requests_were_timed_is_timed_from_its_last_write() -> None:
    p = policy({**GATE, "timeout": {"after": "4h", "then": "enter"}})
    old = State(written_at=ASKED, awaiting="L3", asked_by=rule_key("asker"))  # no q=
    ticket = replace(
        waiting(),
        tracking=Tracking.parse({"level": "L2", "state": old.encode()}),
    )
    change = run(p, ticket)
    assert change is not None and change.level_to == "L3"


def test_long_level_names_are_refused_so_the_state_field_fits() -> None:
    with pytest.raises(ConfigError, match="40"):
        load_policy(yaml.safe_dump({"levels": [{"name": "L" * 41}]}), "t.yaml")
    state = State(
        cycle=9,
        written_at=NOW,
        activity_at=NOW,
        awaiting="L" * 40,
        asked_at=NOW,
        asked_by="abcdef",
        reminded_at=NOW,
        timeout_noted=True,
        reopens_seen=9,
        solved_seen=True,
    )
    assert len(state.encode()) <= 255 and State.parse(state.encode()) == state
