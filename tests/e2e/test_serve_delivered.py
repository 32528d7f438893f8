"""Webhooks delivered by the emulated platforms themselves (signed as they sign them) into a
real `escalate serve` app on uvicorn: a person's edit makes the escalation, in one cycle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.jira import hooks as jira_hooks
from emulators.outbox import Outbox
from emulators.zendesk import hooks as zendesk_hooks
from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import Served, served, with_serve
from tests.connector.test_run import jira_level, zendesk_notes


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


@pytest.fixture
def outbox(p: Platforms) -> Iterator[Outbox]:
    box = Outbox().start()
    p.zendesk.outbox = p.jira.outbox = box
    yield box
    box.close()


@pytest.fixture
def s(p: Platforms, outbox: Outbox) -> Iterator[Served]:
    config = with_serve(p.config(), p.tmp, debounce="1s", interval="1h")
    with served(config, p.time) as found:
        found.step()  # the start's full sweep
        yield found


def zendesk_webhook(p: Platforms, s: Served) -> None:
    """What `escalate setup` creates: a webhook, and a trigger calling it on any change made by
    someone else than the connector."""
    z = p.zendesk
    hook = zendesk_hooks.create_webhook(
        z,
        {
            "name": "Escalation connector",
            "endpoint": f"{s.url}/webhooks/zendesk/zendesk",
            "http_method": "POST",
            "request_format": "json",
            "status": "active",
            "subscriptions": ["conditional_ticket_events"],
        },
        z.me,
    )
    action = [hook["id"], json.dumps({"ticket_id": "{{ticket.id}}"})]
    trigger = {
        "title": "Escalation connector: tell it",
        "conditions": {
            "all": [{"field": "current_user", "operator": "is_not", "value": str(z.me)}],
            "any": [
                {"field": "update_type", "operator": "is", "value": "Create"},
                {"field": "update_type", "operator": "is", "value": "Change"},
            ],
        },
        "actions": [{"field": "notification_webhook", "value": action}],
    }
    zendesk_hooks.create_trigger(z, {"trigger": trigger}, z.me)
    (p.tmp / "zendesk-hook.secret").write_text(z.webhook_secrets[hook["id"]])


def test_a_zendesk_edit_delivered_by_webhook_escalates_in_one_cycle(
    p: Platforms, s: Served, outbox: Outbox
) -> None:
    zendesk_webhook(p, s)
    tid = p.zendesk.add_ticket(priority="normal", group="Support L1")  # not due: not a P1
    assert outbox.drain()
    p.time.now += 1
    s.step()
    assert p.zendesk.field_value(tid, "Escalation level") is None
    p.zendesk.agent_edit(tid, {"priority": "urgent"})  # an agent raises it to P1
    assert outbox.drain()
    assert [status for _, status, _ in outbox.sent] == [202, 202]
    p.time.now += 1
    s.step()
    assert p.zendesk.field_value(tid, "Escalation level") == "L2"
    assert zendesk_notes(p, str(tid)) == [
        (False, "Escalated Printer on fire"),
        (True, "We are on it"),
    ]
    assert outbox.drain()
    assert len(outbox.sent) == 2  # the connector's own writes notify nobody (the trigger says so)
    assert s.metric("escalation_serve_hint_lateness_seconds_count", instance="zendesk") == 2


def test_a_jira_edit_delivered_by_webhook_escalates_once(
    p: Platforms, s: Served, outbox: Outbox
) -> None:
    registered = jira_hooks.route(
        p.jira,
        "POST",
        jira_hooks.BASE,
        {
            "name": "Escalation connector",
            "url": f"{s.url}/webhooks/jira/jira",
            "events": ["jira:issue_created", "jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = SUP"},
            "excludeBody": False,
            "secret": "jira-hook-secret-9f8e",
        },
    )
    assert registered[0] == 201
    key = p.jira.create_issue("SUP", priority="Medium")
    p.jira.edit(key, priority="Highest")
    assert outbox.drain()
    assert [status for _, status, _ in outbox.sent] == [202, 202]
    p.time.now += 1
    s.step()
    assert jira_level(p, key) == "L2"
    assert outbox.drain()  # Jira tells of the connector's own edit too: a cycle that writes nothing
    writes = len(p.jira.requests("PUT", "/issue/")) + len(p.jira.requests("POST", "/comment"))
    p.time.now += 1
    s.step()
    assert (
        len(p.jira.requests("PUT", "/issue/")) + len(p.jira.requests("POST", "/comment")) == writes
    )
    assert len(p.jira.issues[key].comments) == 2
