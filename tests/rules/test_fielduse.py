"""Which parts of a policy need each custom field, and the policy without them
(rules/fielduse.py): what a missing policy field switches off on one instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.engine import evaluate_ticket
from rules.fielduse import User, users, users_of, value_kind, without
from rules.model import StatusCategory, Ticket
from rules.policy import Policy, load_policy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = """
version: 1
priorities: [P1, P2, P3, P4]
defaults: {calendar: 24x7}
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2, owner: {group: Specialists}}
functions:
  network:
    match: {any: [{label: network}, {custom: {Product area: network}}]}
matrix:
  network: {L2: {group: Network}}
sla:
  - {name: gold, match: {custom: {Plan: gold}}, targets: {resolution: 1h}}
  - {name: standard, targets: {resolution: 8h}}
rules:
  - name: asks
    when: {customer_request: {field: Escalate to a manager}}
    then: {escalate: L2}
  - name: p1
    when: {priority: P1}
    unless: {custom: {Hold: {empty: false}}}
    then: {escalate: L2}
  - name: stamp
    when: {priority: P2}
    then: {set_fields: {Reviewed: true, Score: 3}}
  - name: switched-off
    enabled: false
    when: {custom: {Product area: x}}
    then: {escalate: L2}
"""


def policy() -> Policy:
    return load_policy(POLICY, "t.yaml")


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
        "tags": frozenset({"network"}),
    }
    values.update(kw)
    return Ticket(**values)  # type: ignore[arg-type]


def test_every_enabled_part_that_names_a_field_is_found() -> None:
    assert users(policy()) == [
        User("rule", "asks", frozenset({"Escalate to a manager"})),
        User("rule", "p1", frozenset({"Hold"})),
        User("rule", "stamp", frozenset({"Reviewed", "Score"})),
        User("function", "network", frozenset({"Product area"})),
        User("SLA policy", "gold", frozenset({"Plan"})),
    ]
    assert [str(u) for u in users_of(policy(), "Product area")] == ["function 'network'"]


def test_without_a_field_only_what_reads_it_is_off_and_named() -> None:
    cut = without(policy(), {"Hold": "missing", "Product area": "ambiguous"})
    assert cut.describe() == (
        "policy field 'Hold' (missing): off here: rule 'p1'; policy field 'Product area'"
        " (ambiguous): off here: function 'network'"
    )
    rules = {r.name: r.model.enabled for r in cut.policy.rules}
    assert rules == {"asks": True, "p1": False, "stamp": True, "switched-off": False}
    assert [name for name, _ in cut.policy.functions] == []
    assert [s.name for s in cut.policy.slas] == ["gold", "standard"]
    # The P1 rule no longer fires, so nothing escalates; the full policy would escalate it
    # to the network function's L2 owner.
    full = evaluate_ticket(policy(), ticket(), NOW).change
    assert full is not None and full.group is not None and full.group.new == "Network"
    assert evaluate_ticket(cut.policy, ticket(), NOW).change is None


def test_an_sla_policy_without_its_field_gives_way_to_the_next() -> None:
    cut = without(policy(), {"Plan": "missing"})
    assert [s.name for s in cut.policy.slas] == ["standard"]
    assert cut.describe() == "policy field 'Plan' (missing): off here: SLA policy 'gold'"


def test_a_field_nothing_enabled_reads_is_said_so() -> None:
    cut = without(policy(), {"Unused": "missing"})
    assert cut.off == () and "nothing (no enabled part reads it)" in cut.describe()


def test_the_kind_of_value_the_policy_keeps_chooses_the_type() -> None:
    p = policy()
    assert value_kind(p, "Escalate to a manager") == "flag"  # a customer's yes/no
    assert value_kind(p, "Reviewed") == "flag"  # written true
    assert value_kind(p, "Score") == "number"
    assert value_kind(p, "Product area") == "text"
    assert value_kind(p, "Plan") == "text"
