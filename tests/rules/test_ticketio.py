"""The ticket JSON format: a record read back (rules/ticketio.py), and a ticket written as one."""

from __future__ import annotations

import json

from rules.model import StatusCategory
from rules.policy import load_policy
from rules.ticketio import read_records, to_record, to_ticket

BASE = """
version: 1
priorities: [P1, P2]
levels: [{name: L1}, {name: L2}]
platforms:
  jira:
    priorities: {Highest: P1, Medium: P2}
"""
HOLD_OPEN = BASE + "    statuses: {Open: hold}\n"
RECORD = {
    "id": "SUP-1",
    "platform": "jira",
    "status": "Waiting for vendor",
    "status_category": "pending",
    "priority": "Highest",
    "created_at": "2026-03-02T08:00:00Z",
    "history": [
        {"at": "2026-03-02T08:00:00Z", "kind": "status", "actor": "system", "value": "Open",
         "category": "open"},
        {"at": "2026-03-02T09:00:00Z", "kind": "status", "actor": "agent",
         "value": "Waiting for vendor", "category": "pending"},
    ],
}  # fmt: skip


def test_a_records_categories_are_the_platforms_and_each_policy_maps_first() -> None:
    """What `backtest --instance` saves holds the categories the platform gave; a --compare
    policy with its own status mapping must see its mapping, not the first policy's."""
    (record,) = read_records(json.dumps(RECORD), "r.json")
    plain = to_ticket(record, load_policy(BASE, "a.yaml"))
    assert plain.status_category is StatusCategory.PENDING  # the record's, unmapped name
    assert plain.history is not None and plain.history[0].category is StatusCategory.OPEN
    held = to_ticket(record, load_policy(HOLD_OPEN, "b.yaml"))
    assert held.history is not None and held.history[0].category is StatusCategory.HOLD
    assert held.status_category is StatusCategory.PENDING


def test_a_ticket_written_as_a_record_reads_back_the_same() -> None:
    policy = load_policy(BASE, "a.yaml")
    (record,) = read_records(json.dumps(RECORD), "r.json")
    ticket = to_ticket(record, policy)
    line = to_record(ticket).model_dump_json(exclude_none=True, exclude_unset=True)
    (again,) = read_records(line, "saved.jsonl")
    assert to_ticket(again, policy) == ticket
    assert again.priority == "Highest"  # raw: each policy maps it
    assert json.loads(line).get("tracking") is None
