"""What the policy asks adapters to read (rules/needs.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.model import StatusCategory, Ticket
from rules.needs import needs
from rules.policy import load_policy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

BASE = """
version: 1
priorities: [P1, P2, P3, P4]
defaults: {calendar: 24x7}
levels: [{name: L1}, {name: L2}]
"""


def policy(rules: str, extra: str = "") -> object:
    return load_policy(BASE + "rules:\n" + rules + extra, "t.yaml")


def ticket(**kw: object) -> Ticket:
    values: dict[str, object] = {
        "id": "1",
        "instance": "zd",
        "platform": "zendesk",
        "status": "open",
        "status_category": StatusCategory.OPEN,
        "priority": "P1",
        "priority_rank": 1,
        "created_at": NOW - timedelta(hours=5),
        "updated_at": NOW - timedelta(hours=1),
    }
    values.update(kw)
    return Ticket(**values)  # type: ignore[arg-type]


def test_a_policy_of_plain_triggers_needs_no_history() -> None:
    n = needs(
        policy("  - {name: a, when: {priority: P1, age: {over: 1h}}, then: {escalate: next}}\n")
    )  # type: ignore[arg-type]
    assert n.history is None and n.custom_fields == frozenset()
    assert not n.wants_events(ticket(), NOW)


def test_sla_and_reopens_need_summary_figures() -> None:
    n = needs(policy("  - {name: a, when: {reopens: {at_least: 2}}, then: {escalate: next}}\n"))  # type: ignore[arg-type]
    assert n.history == "summary" and not n.event_rules


def test_customer_replies_need_events_only_where_the_rest_of_the_trigger_holds() -> None:
    p = policy(
        "  - {name: a, when: {priority: P1, customer_replies: {at_least: 2}},"
        " then: {escalate: next}}\n"
    )
    n = needs(p)  # type: ignore[arg-type]
    assert n.history == "events"
    assert n.wants_events(ticket(priority="P1", priority_rank=1), NOW)
    # The P3 ticket can never match `priority: P1`, so its comments are not worth a request.
    assert not n.wants_events(ticket(priority="P3", priority_rank=3), NOW)
    # Solved tickets are out unless the rule names a done status.
    assert not n.wants_events(ticket(status="solved", status_category=StatusCategory.SOLVED), NOW)


def test_custom_fields_read_anywhere_in_the_policy_are_listed() -> None:
    p = policy(
        "  - name: a\n"
        "    when: {any: [{custom: {Product area: network}},"
        " {customer_request: {field: Escalate please, phrases: [manager]}}]}\n"
        "    then: {set_fields: {Escalation reason: timeout}}\n",
    )
    n = needs(p)  # type: ignore[arg-type]
    assert n.custom_fields == {"Product area", "Escalate please", "Escalation reason"}
    assert n.history == "events"  # the phrases read the customer's latest comment


def test_people_are_needed_only_when_a_trigger_or_template_reads_them() -> None:
    assert (
        needs(policy("  - {name: a, when: {priority: P1}, then: {escalate: next}}\n")).people
        == frozenset()
    )  # type: ignore[arg-type]
    p = policy(
        "  - {name: a, when: {any: [{requester_domain: [example.com]}, {priority: P1}]},"
        " then: {note: n}}\n",
        "templates:\n  n: \"For {{ ticket.organization or 'nobody' }}\"\n",
    )
    assert needs(p).people == {"requester", "organization"}  # type: ignore[arg-type]
