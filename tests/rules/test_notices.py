"""Notice intents (rules.notices): which channels a change tells, with what key, and when."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.apply import apply_change
from rules.engine import evaluate_ticket
from rules.errors import ConfigError
from rules.model import StatusCategory, Ticket
from rules.notices import Notice
from rules.plan import TicketChange, from_json
from rules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
#: Friday 2026-11-20, 23:00 in Berlin (UTC+1).
FRIDAY_NIGHT = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
MONDAY_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

BASE: dict[str, Any] = {
    "calendars": {
        "office": {"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-17:00"]}},
    },
    "levels": [
        {"name": "L1"},
        {"name": "L2", "notify": ["team-chat"]},
        {"name": "management", "notify": ["exec-slack", "head@example.com"]},
    ],
    "rules": [
        {
            "name": "to-management",
            "when": {"age": {"over": "1h", "time": "calendar"}},
            "then": {"escalate": "management"},
        }
    ],
    "notify": {
        "channels": {
            "exec-slack": {
                "type": "slack",
                "url": {"env": "EXEC_SLACK"},
                "calendar": "office",
                "bypass_hours": ["P1"],
            },
            "team-chat": {"type": "teams", "url": {"env": "TEAMS"}},
        }
    },
}


def policy(**extra: Any) -> Policy:
    return load_policy(yaml.safe_dump({**BASE, **extra}), "test.yaml")


def ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": "T-1",
        "instance": "zd",
        "platform": "zendesk",
        "title": "Checkout <!channel> broken",
        "status": "open",
        "status_category": StatusCategory.OPEN,
        "priority": "P3",
        "priority_rank": 3,
        "created_at": FRIDAY_NIGHT - timedelta(hours=2),
        "updated_at": FRIDAY_NIGHT - timedelta(hours=1),
    }
    values.update(overrides)
    return Ticket(**values)


def change(p: Policy, t: Ticket, now: datetime = FRIDAY_NIGHT) -> TicketChange:
    found = evaluate_ticket(p, t, now).change
    assert found is not None
    return found


def test_a_night_escalation_waits_for_the_next_working_minute() -> None:
    c = change(policy(), ticket())
    [n] = c.notices
    assert (n.channel, n.level, n.deferred) == ("exec-slack", "management", True)
    assert n.due == MONDAY_9
    assert n.key == "level:management#0.1"


def test_a_p1_with_bypass_hours_is_due_at_once() -> None:
    [n] = change(policy(), ticket(priority="P1", priority_rank=1)).notices
    assert (n.due, n.deferred) == (FRIDAY_NIGHT, False)


def test_a_level_in_bypass_hours_is_due_at_once() -> None:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["notify"]["channels"]["exec-slack"]["bypass_hours"] = ["management"]
    [n] = change(load_policy(yaml.safe_dump(doc)), ticket()).notices
    assert not n.deferred


def test_channels_are_not_mentioned_people_are() -> None:
    c = change(policy(), ticket())
    assert c.notify == ("head@example.com",)


def test_the_key_is_the_same_however_often_the_change_is_evaluated() -> None:
    p = policy()
    first = change(p, ticket())
    again = change(p, ticket(), FRIDAY_NIGHT + timedelta(minutes=7))
    assert [n.key for n in first.notices] == [n.key for n in again.notices]


def test_once_written_the_ticket_owes_no_second_notice() -> None:
    p = policy()
    c = change(p, ticket())
    after = apply_change(p, ticket(), c, FRIDAY_NIGHT)
    assert evaluate_ticket(p, after, FRIDAY_NIGHT + timedelta(hours=1)).change is None


def test_a_rule_notice_repeats_with_a_new_key() -> None:
    rules = [
        {
            "name": "idle-ping",
            "when": {"age": {"over": "1h", "time": "calendar"}},
            "repeat": {"every": "1h", "max": 3},
            "then": {"notify": ["team-chat"]},
        }
    ]
    p = policy(rules=rules)
    first = change(p, ticket())
    later = apply_change(p, ticket(), first, FRIDAY_NIGHT)
    second = change(p, later, FRIDAY_NIGHT + timedelta(hours=2))
    assert [n.key for n in first.notices] == ["rule:idle-ping#0.1"]
    assert [n.key for n in second.notices] == ["rule:idle-ping#0.2"]
    assert first.internal_note is None  # a channel alone is no one to mention


def test_a_channel_template_renders_ticket_text_as_data() -> None:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["templates"] = {"chat": "*{{ ticket.title }}* went to {{ level.to }}"}
    doc["notify"]["channels"]["exec-slack"]["template"] = "chat"
    [n] = change(load_policy(yaml.safe_dump(doc)), ticket()).notices
    assert n.body.parts == (
        (False, "*"),
        (True, "Checkout <!channel> broken"),
        (False, "* went to "),
        (True, "management"),
    )


def test_notices_survive_a_saved_plan() -> None:
    c = change(policy(), ticket())
    again = from_json(c.to_json())
    assert again.notices == c.notices
    assert Notice.from_json(c.notices[0].to_json()) == c.notices[0]


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (
            {"type": "slack", "calendar": "nowhere", "url": {"env": "X"}},
            "notify.channels.c.calendar: unknown calendar 'nowhere' (expected one of: 24x7,",
        ),
        ({"type": "email", "to": ["a@example.com"]}, "a email channel needs smtp, sender"),
        ({"type": "slack", "url": "https://hooks.slack.com/x"}, "a secret is never written"),
        (
            {
                "type": "email",
                "sender": "a@example.com",
                "to": ["b@example.com"],
                "smtp": {"host": "relay", "security": "none", "password": {"env": "P"}},
            },
            "notify.channels.c.smtp: security none would send the password in the clear",
        ),
        (
            {"type": "pagerduty", "routing_key": {"env": "K"}, "bypass_hours": ["P9"]},
            "unknown priority or level 'P9'",
        ),
    ],
)
def test_a_bad_channel_is_a_config_error(channel: dict[str, Any], message: str) -> None:
    doc = {**BASE, "notify": {"channels": {"c": channel}}}
    with pytest.raises(ConfigError) as info:
        load_policy(yaml.safe_dump(doc, default_flow_style=True), "test.yaml")
    assert message in str(info.value)


def test_the_examples_commented_channels_load() -> None:
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    block = re.search(r"^# notify:\n((?:#   .*\n|#\n)+)", text, re.M)
    assert block is not None
    uncommented = "notify:\n" + re.sub(r"^# ?", "", block.group(1), flags=re.M)
    doc = yaml.safe_load(text)
    doc["notify"] = yaml.safe_load(uncommented)["notify"]
    doc["templates"]["director-mail"] = "{{ ticket.title }}"
    p = load_policy(yaml.safe_dump(doc), "example")
    assert sorted(p.channels) == [
        "audit-hook",
        "director-email",
        "exec-slack",
        "oncall",
        "ops-alerts",
        "support-teams",
    ]


def test_explain_shows_the_notices_and_when() -> None:
    from rules.explain import explain, render_text  # noqa: PLC0415

    text = render_text(explain(policy(), ticket(), FRIDAY_NIGHT))
    assert (
        "  notice to exec-slack: deferred to 2026-11-23T08:00:00Z (outside its hours),"
        " level:management#0.1: Ticket T-1 escalated to management: Checkout <!channel> broken"
    ) in text


def test_backtest_counts_notices_per_channel_and_how_long_they_waited() -> None:
    from rules.backtest import Totals, result  # noqa: PLC0415

    p = policy()
    created = FRIDAY_NIGHT - timedelta(minutes=30)  # escalates at 23:30 Berlin, Friday
    t = ticket(created_at=created, updated_at=created)
    totals = Totals()
    totals.add(result(p, t, FRIDAY_NIGHT + timedelta(days=4)), 0)
    notices = totals.to_json()["notices"]
    assert notices["by_channel"] == {"exec-slack": 1}
    assert notices["deferred"] == 1
    wait = (MONDAY_9 - (created + timedelta(hours=1))).total_seconds()
    assert notices["deferred_seconds"] == {"mean": wait, "max": wait}


def test_lint_warns_of_a_notify_entry_that_looks_like_a_channel() -> None:
    from rules.lint import lint  # noqa: PLC0415

    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["levels"][1]["notify"] = ["team-chatt", "ops-team"]
    warnings = lint(load_policy(yaml.safe_dump(doc), "test.yaml"))
    assert [w.split(": ", 2)[-1] for w in warnings if "notify entry" in w] == [
        "notify entry 'team-chatt' is no channel, so a person mentioned in the note; did you"
        " mean the channel 'team-chat'?"
    ]


def test_an_approval_request_tells_the_approval_notify_channels() -> None:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["levels"][2]["approval"] = {"approvers": ["boss@example.com"], "notify": ["team-chat"]}
    p = load_policy(yaml.safe_dump(doc), "test.yaml")
    c = change(p, ticket())
    assert c.level_to == "L1"  # waiting for the approval
    [n] = c.notices
    assert (n.channel, n.level, n.deferred) == ("team-chat", "management", False)
    assert n.key == f"approval:management#0.ask.{int(FRIDAY_NIGHT.timestamp() // 60)}"
    title = "Ticket T-1 awaits approval for management: Checkout <!channel> broken"
    assert n.title.plain() == title
    assert "team-chat" not in c.notify and "boss@example.com" in c.notify
    after = apply_change(p, ticket(), c, FRIDAY_NIGHT)
    again = evaluate_ticket(p, after, FRIDAY_NIGHT + timedelta(hours=1)).change
    assert again is None or again.notices == ()  # asked once
