"""Lint warnings: valid policies that probably do not do what their author meant.

Each test builds a small policy whose line numbers are counted in comments, and asserts the
complete list of warnings (so a test also fails when an unrelated warning appears).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.lint import lint
from rules.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]

LEVELS = """\
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2, owner: {group: Specialists}}
  - {name: L3, owner: {group: Engineering}}
sla:
  - name: all
    targets: {resolution: 8h}
"""  # lines 1-7: L1 is line 2, L2 line 3, L3 line 4, sla line 5


def warnings(text: str) -> list[str]:
    return lint(load_policy(text, "p.yaml"))


def test_the_example_policy_lints_clean() -> None:
    """config.example.yaml: every level is reachable (L2 by p1-unresolved-1h and vip-customer,
    L3 by resolution-at-risk's next from L2, management by customer-asks, executive by
    not-acknowledged's next from management), every level has an owner, both calendars have
    hours, the `standard` SLA is a catch-all, and no rule's level or priority test is empty."""
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    assert lint(load_policy(text, "config.example.yaml")) == []


def test_a_clean_ladder_has_no_warnings() -> None:
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: up\n"
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == []


def test_unreachable_level() -> None:
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: to-l2\n"  # 9
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: L2}\n"
    )
    assert warnings(text) == [
        "p.yaml:4: levels[2] (L3): level 'L3' is unreachable: no rule escalates to it"
    ]


def test_next_only_reaches_levels_its_guard_allows() -> None:
    """`escalate: next` at L1 only reaches L2; nothing leads from L2 to L3."""
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: up\n"  # 9
        "    when: {level: L1, age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == [
        "p.yaml:4: levels[2] (L3): level 'L3' is unreachable: no rule escalates to it"
    ]


def test_requested_escalations_can_reach_every_level() -> None:
    text = LEVELS + (
        "rules:\n  - name: asked\n    when: {requested: true}\n    then: {escalate: requested}\n"
    )
    assert warnings(text) == []


def test_timings_out_of_order() -> None:
    """Age counts from creation, so L3 after 2h comes before L2 after 4h."""
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: to-l2\n"  # 9
        "    when: {age: {over: 4h}}\n"
        "    then: {escalate: L2}\n"
        "  - name: to-l3\n"  # 12
        "    when: {age: {over: 2h}}\n"
        "    then: {escalate: L3}\n"
    )
    assert warnings(text) == [
        "p.yaml:12: rules[1] (to-l3): timings out of order: rule 'to-l3' escalates to 'L3' "
        "sooner (age threshold) than rule 'to-l2' escalates to 'L2'"
    ]


def test_sla_thresholds_out_of_order() -> None:
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: to-l2\n"  # 9
        "    when: {sla: {target: resolution, used: 90%}}\n"
        "    then: {escalate: L2}\n"
        "  - name: to-l3\n"  # 12
        "    when: {sla: {target: resolution, used: 75%}}\n"
        "    then: {escalate: L3}\n"
    )
    assert warnings(text) == [
        "p.yaml:12: rules[1] (to-l3): timings out of order: rule 'to-l3' escalates to 'L3' "
        "sooner (sla resolution used threshold) than rule 'to-l2' escalates to 'L2'"
    ]


def test_timings_in_order_are_fine() -> None:
    text = LEVELS + (
        "rules:\n"
        "  - name: to-l2\n"
        "    when: {age: {over: 2h}}\n"
        "    then: {escalate: L2}\n"
        "  - name: to-l3\n"
        "    when: {age: {over: 4h}}\n"
        "    then: {escalate: L3}\n"
    )
    assert warnings(text) == []


@pytest.mark.parametrize("clock", ["unacknowledged", "at_level"])
def test_a_ladder_of_clocks_that_restart_is_not_out_of_order(clock: str) -> None:
    """`unacknowledged` and `at_level` restart at every escalation (they count from
    escalated_at), so 4h at L2 then 2h at L3 means L3 -> management comes 6h after the L2
    escalation, not sooner than L2 -> L3. Warning "escalates sooner" here is a false alarm on a
    sensible policy."""
    text = (
        "levels:\n"
        "  - {name: L1, owner: {group: Front}}\n"
        "  - {name: L2, owner: {group: Specialists}}\n"
        "  - {name: L3, owner: {group: Engineering}}\n"
        "  - {name: management, owner: {group: Managers}}\n"
        "sla: [{name: all, targets: {resolution: 8h}}]\n"
        "rules:\n"
        "  - name: to-l2\n"
        "    when: {level: L1, age: {over: 1h}}\n"
        "    then: {escalate: L2}\n"
        "  - name: l2-unacked\n"
        "    when: {level: L2, unacknowledged: {over: 4h}}\n"
        "    then: {escalate: L3}\n"
        "  - name: l3-unacked\n"
        "    when: {level: L3, unacknowledged: {over: 2h}}\n"
        "    then: {escalate: management}\n"
    ).replace("unacknowledged", clock)
    assert warnings(text) == []


@pytest.mark.parametrize(("clock", "warned"), [("age", True), ("at_level", False)])
def test_a_per_level_climb_needs_a_clock_that_restarts(clock: str, warned: bool) -> None:
    text = LEVELS + (
        "rules:\n"  # line 8
        "  - name: climb\n"
        f"    when: {{{clock}: {{over: 2h}}}}\n"
        "    repeat: {per: level}\n"
        "    then: {escalate: next}\n"
    )
    expected = (
        "p.yaml:9: rules[0] (climb): rule 'climb' repeats per level with escalate: next but"
        " measures no time since the last escalation: it climbs one level every run while it"
        " matches (use unacknowledged or at_level to give each level its time)"
    )
    assert warnings(text) == ([expected] if warned else [])


def test_rule_that_can_never_match() -> None:
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: up\n"  # 9
        "    when: {age: {over: 1h}}\n"  # 10
        "    then: {escalate: next}\n"
        "  - name: impossible-level\n"  # 12
        "    when: {level: {above: L3}}\n"  # 13
        "    then: {add_tags: [x]}\n"
        "  - name: impossible-priority\n"  # 15
        "    when: {priority: {at_least: P2, below: P2}}\n"  # 16
        "    then: {add_tags: [y]}\n"
    )
    assert warnings(text) == [
        "p.yaml:13: rules[1] (impossible-level).when.level: rule 'impossible-level' can never "
        "match: no level satisfies above L3",
        "p.yaml:16: rules[2] (impossible-priority).when.priority: rule 'impossible-priority' "
        "can never match: no priority satisfies at least P2 and below P2",
    ]


def test_rules_that_can_never_change_the_level() -> None:
    text = LEVELS + (
        "rules:\n"  # 8
        "  - name: up\n"  # 9
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
        "  - name: past-the-top\n"  # 12
        "    when: {level: L3}\n"
        "    then: {escalate: next}\n"
        "  - name: already-there\n"  # 15
        "    when: {level: {at_least: L2}}\n"
        "    then: {escalate: L2}\n"
    )
    assert warnings(text) == [
        "p.yaml:12: rules[1] (past-the-top): rule 'past-the-top' escalates to the next level "
        "but only matches at the top level 'L3'",
        "p.yaml:15: rules[2] (already-there): rule 'already-there' can never change anything: "
        "it escalates to 'L2' but only matches at that level or above",
    ]


def test_level_without_owner() -> None:
    text = (
        "levels:\n"
        "  - {name: L1, owner: {group: Front}}\n"
        "  - {name: L2}\n"  # 3
        "sla: [{name: all, targets: {resolution: 8h}}]\n"
        "rules:\n"
        "  - name: up\n"
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == [
        "p.yaml:3: levels[1] (L2): level 'L2' has no owner and no matrix entry: "
        "escalating to it changes no group or assignee"
    ]


def test_level_owned_through_the_matrix_only_is_fine() -> None:
    text = (
        "levels:\n"
        "  - {name: L1, owner: {group: Front}}\n"
        "  - {name: L2}\n"
        "sla: [{name: all, targets: {resolution: 8h}}]\n"
        "functions:\n"
        "  network: {match: {component: Network}}\n"
        "matrix:\n"
        "  network: {L2: {group: Network Support}}\n"
        "rules:\n"
        "  - name: up\n"
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == []


def test_calendar_without_working_hours() -> None:
    text = LEVELS + (
        "calendars:\n"  # 8
        "  never: {timezone: UTC, hours: {}}\n"  # 9
        '  office: {timezone: UTC, hours: {mon-fri: "09:00-17:00"}}\n'
        "rules:\n"
        "  - name: up\n"
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == [
        "p.yaml:9: calendars.never: calendar 'never' has no working hours: "
        "business-time triggers on it never fire"
    ]


def test_tickets_no_sla_covers() -> None:
    text = (
        "levels:\n"
        "  - {name: L1, owner: {group: Front}}\n"
        "  - {name: L2, owner: {group: Specialists}}\n"
        "sla:\n"  # 4
        "  - {name: p1, match: {priority: P1}, targets: {resolution: 4h}}\n"
        "  - {name: p2, match: {priority: P2}, targets: {resolution: 8h}}\n"
        "rules:\n"
        "  - name: up\n"
        "    when: {age: {over: 1h}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == [
        "p.yaml:4: sla: tickets that no SLA policy covers, e.g. priority P3, P4, no priority "
        "with no other fields set: add a catch-all policy (one without match) last"
    ]


def test_sla_trigger_without_sla_policies() -> None:
    text = (
        "levels:\n"
        "  - {name: L1, owner: {group: Front}}\n"
        "  - {name: L2, owner: {group: Specialists}}\n"
        "rules:\n"
        "  - name: breach\n"  # 5
        "    when: {sla: {breached: true}}\n"
        "    then: {escalate: next}\n"
    )
    assert warnings(text) == [
        "p.yaml:5: rules[0] (breach): rule 'breach' uses an SLA trigger but no SLA policy is "
        "defined",
        # there is no `sla` key, so the warning falls back to the document's first line
        "p.yaml:1: sla: no SLA policies: no ticket has SLA targets",
    ]
