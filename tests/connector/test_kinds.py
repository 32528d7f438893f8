"""The kinds of change the summaries count first: what each change does that people see."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.kinds import breakdown, kind, plural
from rules.markup import Rendered
from rules.plan import Diff, Reason, TicketChange
from rules.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy((ROOT / "config.example.yaml").read_text(encoding="utf-8"), "ex.yaml")
NOTE = Rendered.literal("Escalation to L3 awaits approval")


def change(rules: tuple[str, ...] = ("r",), **kw: Any) -> TicketChange:
    base: dict[str, Any] = {
        "instance": "zendesk-prod",
        "ticket": "7",
        "platform": "zendesk",
        "url": "https://acme.zendesk.com/agent/tickets/7",
        "ticket_updated_at": datetime(2026, 11, 20, tzinfo=UTC),
        "level_from": "L1",
        "level_to": "L1",
        "rules": rules,
    }
    return TicketChange(**{**base, **kw})


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"level_to": "L2", "group": Diff("Support L1", "Support L2")}, "escalated"),
        ({"level_from": "L3", "level_to": "L2"}, "de-escalated"),
        ({"assignee": Diff("sam@example.com", None)}, "reassigned"),
        ({"priority": Diff("P3", "P2")}, "priority, tags or fields only"),
        ({"add_tags": ("vip",)}, "priority, tags or fields only"),
        ({"internal_note": NOTE, "tracking": {"request": Diff("L3", None)}}, "notes only"),
        ({"public_reply": NOTE}, "notes only"),
        (
            {"tracking": {"sla_due": Diff(None, "2026-12-10T17:00:00Z"), "state": Diff("a", "b")}},
            "SLA dates only",
        ),
        ({"tracking": {"request": Diff("L3", None)}}, "tracking fields only"),
    ],
)
def test_each_change_is_counted_by_what_people_see_it_do(kw: dict[str, Any], expected: str) -> None:
    assert kind(change(**kw), POLICY) == expected


def test_the_breakdown_counts_the_kinds_and_the_changes_no_rule_matched() -> None:
    approved = (Reason("approval", "approved by Maria Manager (maria@example.com)"),)
    nudged = (Reason("approval", "reminder 1 of 2 for L3"),)
    changes = [
        change(level_to="L2"),
        change(level_to="L3", rules=(), reasons=approved),
        change(internal_note=NOTE),
        change(internal_note=NOTE, rules=(), reasons=nudged),
        change(tracking={"sla_due": Diff(None, "2026-12-10T17:00:00Z")}, rules=()),
        change(tracking={"sla_due": Diff(None, "2026-12-10T18:00:00Z")}, rules=()),
    ]
    assert breakdown(changes, POLICY) == (
        "6 changes: 2 escalated, 2 notes only, 2 SLA dates only; 4 with no rule matched:"
        " 2 SLA dates kept current, 1 approval landed, 1 approval refused or reminded"
    )
    assert breakdown(changes[:1], POLICY) == "1 change: 1 escalated"
    assert breakdown([], POLICY) == ""


def test_plural() -> None:
    assert [plural(n, "reply", "replies") for n in (0, 1, 2)] == [
        "0 replies",
        "1 reply",
        "2 replies",
    ]
    assert plural(1, "change") == "1 change"
