"""The steps behind `compile_policy`, `render_text`, `template_context` and the clock split.

test_config_errors.py asserts whole messages one problem at a time; here one policy has a
problem for every compile step, so the order in which the steps report them is pinned too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from rules import clock, schedule
from rules.context import template_context
from rules.errors import ConfigError
from rules.explain import render_text
from rules.facts import Facts
from rules.model import StatusCategory, Ticket
from rules.policy import load_policy

EVERY_STEP_WRONG = """\
levels:
  - name: L1
    priority_at_least: P9
  - name: L1
rules:
  - name: r
    when: {priority: P0}
    then: {escalate: L7, note: missing}
  - name: r
    when: {level: L1}
    then: {add_tags: [x]}
defaults: {calendar: nowhere}
calendars:
  office: {timezone: Mars/Base, hours: {mon-fri: ["09:00-17:00"]}}
sla:
  - name: s
    calendar: elsewhere
    targets: {resolution: 4h}
functions:
  net: {match: {level: L5}}
matrix:
  hr: {L1: {group: HR}}
templates:
  broken: "{{ unclosed"
platforms:
  zendesk: {priorities: {urgent: P8}}
"""


def test_problems_come_in_compile_step_order() -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(EVERY_STEP_WRONG, "policy.yaml")
    paths = [line.split(": ")[1] for line in str(info.value).splitlines()[1:]]
    assert paths == [
        "levels[1] (L1).name",
        "rules[1] (r).name",
        "calendars.office.timezone",
        "defaults.calendar",
        "sla[0] (s).calendar",
        "functions.net.match.level.in",
        "matrix.hr",
        "templates.broken",
        "rules[0] (r).when.priority.in",
        "rules[0] (r).then.escalate",
        "rules[0] (r).then.note",
        "levels[0] (L1).priority_at_least",
        "platforms.zendesk.priorities.urgent",
    ]


EXPLAINED: dict[str, Any] = {
    "ticket": {
        "id": "T-1",
        "instance": "zd",
        "status": "open (open)",
        "priority": None,
        "level": "L1",
        "tracking_state": "",
        "state_unreadable": True,
        "rearmed": True,
    },
    "now": "2026-11-20T12:00:00Z",
    "sla": None,
    "rules": [
        {
            "rule": "r",
            "status": "guarded",
            "when": {"ok": True, "test": "priority is P3"},
            "unless": {"ok": True, "test": "tag vip", "parts": [{"ok": False, "test": "x"}]},
        }
    ],
    "change": {
        "level": {"from": "L1", "to": "L1"},
        "actions": [
            {"type": "add_tags", "tags": ["a"]},
            {"type": "internal_note", "body": "one\ntwo", "notify": ["kim", "lee"]},
        ],
    },
    "next_trigger": None,
}


def test_render_text_sections() -> None:
    assert render_text(EXPLAINED) == (
        "Ticket T-1 (zd) at 2026-11-20T12:00:00Z: open (open), priority none, level L1\n"
        "  ! the state tracking field could not be read; treated as empty\n"
        "  reopened since the last run: a new cycle starts, rules may fire again\n"
        "\n"
        "SLA: no SLA policy covers this ticket\n"
        "\n"
        "Rules:\n"
        "  [guarded] r\n"
        "      yes  priority is P3\n"
        "      unless:\n"
        "        yes  tag vip\n"
        "             no   x\n"
        "\n"
        "Change: level stays L1\n"
        '  add_tags: ["a"]\n'
        "  internal_note:\n"
        "    | one\n"
        "    | two\n"
        "    notify: kim, lee\n"
        "\n"
        "Next trigger: none scheduled\n"
    )


def test_template_context_keeps_its_key_order() -> None:
    """Templates can print a whole section, so the order of its keys is visible."""
    policy = load_policy("levels: [{name: L1}, {name: L2}]\nrules: []\n", "p.yaml")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    t = Ticket(
        id="T-1",
        instance="zd",
        platform="zendesk",
        status="open",
        status_category=StatusCategory.OPEN,
        created_at=now - timedelta(hours=1),
        updated_at=now,
    )
    rule = load_policy(
        "levels: [{name: L1}]\nrules: [{name: r, when: {level: L1}, then: {add_tags: [x]}}]\n",
        "r.yaml",
    ).rules[0]
    ctx = template_context(Facts(policy, t, now), 1, None, rule, None, ["why"])
    assert list(ctx) == [
        "ticket",
        "level",
        "rule",
        "reasons",
        "sla",
        "escalation",
        "notify",
        "now",
    ]
    assert list(ctx["level"]) == [
        "from",
        "to",
        "name",
        "description",
        "owner",
        "previous_owner",
        "awaiting_approval",
        "approvers",
        "approver_groups",
    ]
    assert list(ctx["sla"]) == ["policy", "next_due", "targets"]
    assert list(ctx["ticket"])[:3] == ["id", "key", "url"]
    assert ctx["level"]["to"] == "L2" and ctx["level"]["awaiting_approval"] is False


def test_the_clock_still_exports_the_schedule_names() -> None:
    assert clock.HolidaySource is schedule.HolidaySource
    assert clock.weekly_working_seconds is schedule.weekly_working_seconds


def test_weekday_ranges_split_a_shift_that_crosses_midnight() -> None:
    ranges = schedule.weekday_ranges({6: [(time(22), time(2))], 0: [(time(1), time(3))]})
    assert ranges[6] == [(22 * 3600.0, 86400.0)]
    assert ranges[0] == [(0.0, 3 * 3600.0)]  # 00:00-02:00 from Sunday joined with 01:00-03:00


def test_union_spans_clips_and_joins_touching_spans() -> None:
    spans = [(5.0, 8.0), (0.0, 2.0), (2.0, 3.0), (7.0, 12.0)]
    assert schedule.union_spans(spans, 1.0, 10.0) == [(1.0, 3.0), (5.0, 10.0)]
