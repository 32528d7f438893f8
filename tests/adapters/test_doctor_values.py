"""The values a policy can write, which `doctor` checks against select lists' options."""

from __future__ import annotations

from adapters.doctor import missing, set_values, tracking_values
from rules.policy import load_policy

POLICY = """
version: 1
priorities: [P1, P2]
defaults: {calendar: 24x7}
levels:
  - name: L1
  - name: L2
  - name: L3
  - name: Management
    approval: {approvers: [boss@example.com]}
rules:
  - name: up
    when: {priority: P1}
    then: {escalate: L3, set_fields: {Impact: high, Areas: [network, billing], Reason: null}}
  - name: back
    when: {priority: P2}
    then: {de_escalate: L1, set_fields: {Impact: low}}
  - name: asked
    when: {priority: P2}
    then: {escalate: requested}
  - name: off
    enabled: false
    when: {priority: P1}
    then: {escalate: Management, set_fields: {Impact: never}}
  - name: tag-only
    when: {priority: P1}
    then: {add_tags: [x]}
"""


def test_levels_rules_and_set_fields_values_written() -> None:
    policy = load_policy(POLICY, "p.yaml")
    assert tracking_values(policy) == {
        "level": ["L1", "L2", "L3", "Management"],  # `requested` reaches any level above L1
        "rule": ["up", "back", "asked", "approval"],
    }
    assert set_values(policy) == {
        "Impact": ["high", "low"],  # the disabled rule writes nothing
        "Areas": ["network", "billing"],
        "Reason": [],  # null clears: no option needed
    }


def test_only_named_levels_when_no_rule_moves_by_next_or_request() -> None:
    text = POLICY.replace("then: {escalate: requested}", "then: {add_tags: [y]}")
    assert tracking_values(load_policy(text, "p.yaml"))["level"] == ["L1", "L3"]


def test_missing_is_exact_and_keeps_order() -> None:
    assert missing(["L2", "l1", "L2", "Management"], ["L1", "L2"]) == ["l1", "Management"]
