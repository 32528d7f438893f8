"""Notices through real `escalate run`s (in-memory platforms, fake clock) to a real local HTTP
receiver and a real SMTP server (emulators/sink.py): working hours, bypass, exactly once,
retries, dry runs and plans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from emulators.sink import Sink
from tests.connector.fleet import Fleet, fleet
from tests.notify import schemas

#: Friday 2026-03-06, 23:00 in Berlin (UTC+1); Monday 09:00 Berlin is 08:00 UTC.
FRIDAY_23 = datetime(2026, 3, 6, 22, 0, tzinfo=UTC).timestamp()
MONDAY_9 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC).timestamp()
ROUTING_KEY = "R0123456789abcdef0123456789abcde"


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink().start()
    yield s
    s.close()


@pytest.fixture
def f(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sink: Sink
) -> Iterator[Fleet]:
    monkeypatch.setenv("T_SLACK", sink.url("/slack/exec"))
    monkeypatch.setenv("T_PD", ROUTING_KEY)
    with fleet(tmp_path, capsys, instances=("zendesk",)) as found:
        found.time.now = FRIDAY_23
        yield found


def config(f: Fleet, sink: Sink, **channel_extra: Any) -> Path:
    """The contract policy (P1 and P2 to L2, here "management"), its level telling three
    channels; Slack and e-mail wait for office hours, Slack not for a P1."""
    path = f.config()
    doc = yaml.safe_load(path.read_text())
    office = {"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-17:00"]}}
    doc["calendars"] = {"office": office}
    doc["levels"][1]["name"] = "management"
    doc["levels"][1]["notify"] = ["exec-slack", "director-email", "oncall"]
    doc["rules"][0]["when"] = {"priority": {"in": ["P1", "P2"]}}
    doc["rules"][0]["then"].pop("priority")  # a P2 stays a P2 (a P1 may wake people)
    doc["notify"] = {
        "channels": {
            "exec-slack": {
                "type": "slack",
                "url": {"env": "T_SLACK"},
                "calendar": "office",
                "bypass_hours": ["P1"],
                **channel_extra,
            },
            "director-email": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": sink.smtp_port, "security": "none"},
                "from": "escalations@example.com",
                "to": ["director@example.com"],
                "calendar": "office",
            },
            "oncall": {
                "type": "pagerduty",
                "routing_key": {"env": "T_PD"},
                "endpoint": sink.url("/pagerduty/v2/enqueue"),
            },
        }
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def audit(f: Fleet) -> list[dict[str, Any]]:
    path = f.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_night_escalation_waits_for_monday_9_and_is_sent_once(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    ticket = f.stores["zendesk"].add("Checkout down", priority="P2")
    night = f.invoke("run", "-c", path)
    assert night.code == 0, night.err
    assert f.level(ticket) == "management"
    assert sink.posted("/slack") == [] and sink.mails == []  # nothing at night ...
    assert sink.incidents() == {f"zendesk/{ticket}/management": "triggered"}  # ... but on-call
    assert "notices planned 3, deferred 2, sent 1" in night.out
    f.time.now = MONDAY_9 - 60
    early = f.invoke("run", "-c", path)
    assert early.code == 0 and sink.posted("/slack") == [] and sink.mails == []
    f.time.now = MONDAY_9
    monday = f.invoke("run", "-c", path)
    assert monday.code == 0, monday.err
    assert "notices sent 2" in monday.out
    [hit] = sink.posted("/slack")
    [mail] = sink.mails
    jsonschema.validate(hit.body, schemas.SLACK)
    assert "Checkout down" in hit.body["text"] and "management" in str(mail.message["Subject"])
    again = f.invoke("run", "-c", path)
    assert again.code == 0 and len(sink.posted("/slack")) == 1 and len(sink.mails) == 1
    assert len(sink.posted("/pagerduty")) == 1
    sent = [e for e in audit(f) if e["event"] == "notice"]
    assert sorted((e["channel"], e["status"]) for e in sent) == [
        ("director-email", "sent"),
        ("exec-slack", "sent"),
        ("oncall", "sent"),
    ]


def test_a_p1_with_bypass_hours_is_sent_at_once(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    f.stores["zendesk"].add("Everything down", priority="P1")
    result = f.invoke("run", "-c", path)
    assert result.code == 0, result.err
    assert len(sink.posted("/slack")) == 1  # bypass_hours: [P1]
    assert sink.mails == []  # the e-mail channel has no bypass: it waits for Monday


def test_a_channel_answering_500_then_200_delivers_once_on_the_next_run(
    f: Fleet, sink: Sink
) -> None:
    path = config(f, sink, calendar=None)
    sink.script["/slack/exec"] = [500]
    f.stores["zendesk"].add("Checkout down", priority="P2")
    first = f.invoke("run", "-c", path)
    assert first.code == 1  # reported: a notice failed
    assert "notices planned 3, deferred 1, sent 1, failed 1" in first.out
    assert "  notice 1 -> exec-slack: failed: HTTP 500: " in first.out
    waiting = f.invoke("run", "-c", path, "--dry-run")
    assert "  notice 1 -> exec-slack: waiting from an earlier run, due" in waiting.out
    second = f.invoke("run", "-c", path)
    assert second.code == 0, second.err
    assert "notices sent 1" in second.out
    assert len(sink.posted("/slack")) == 2  # the 500, then the one that went in
    third = f.invoke("run", "-c", path)
    assert third.code == 0 and len(sink.posted("/slack")) == 2


def test_a_failing_channel_is_given_up_after_max_attempts(f: Fleet, sink: Sink) -> None:
    path = config(f, sink, calendar=None)
    doc = yaml.safe_load(path.read_text())
    doc["notify"]["max_attempts"] = 2
    path.write_text(yaml.safe_dump(doc))
    sink.script["/slack/exec"] = [503, 503, 503]
    f.stores["zendesk"].add("Checkout down", priority="P2")
    assert f.invoke("run", "-c", path).code == 1
    second = f.invoke("run", "-c", path)
    assert second.code == 1 and "gave up 1" in second.out
    assert f.invoke("run", "-c", path).code == 0
    assert len(sink.posted("/slack")) == 2


def test_dry_run_and_plan_list_the_notices_and_send_nothing(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    f.stores["zendesk"].add("Checkout down", priority="P2")
    dry = f.invoke("run", "-c", path, "--dry-run")
    assert dry.code == 0, dry.err
    assert "notices planned 3, deferred 2" in dry.out
    assert "  notice 1 -> exec-slack: deferred to 2026-03-09T08:00:00Z (level:management#0.1)" in (
        dry.out
    )
    assert "  notice 1 -> oncall: now (level:management#0.1)" in dry.out
    plan = f.invoke("plan", "-c", path)
    assert plan.code == 0, plan.err
    assert "notice exec-slack: deferred to 2026-03-09T08:00:00Z" in plan.out
    assert "notice oncall: now" in plan.out
    assert sink.hits == [] and sink.mails == []


def test_de_escalation_resolves_the_on_call_alert(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    doc = yaml.safe_load(path.read_text())
    doc["rules"].append({"name": "calm", "when": {"priority": "P4"}, "then": {"de_escalate": "L1"}})
    path.write_text(yaml.safe_dump(doc))
    ticket = f.stores["zendesk"].add("Checkout down", priority="P2")
    assert f.invoke("run", "-c", path).code == 0
    f.stores["zendesk"].edit(ticket, priority="P4")
    result = f.invoke("run", "-c", path)
    assert result.code == 0, result.err
    assert sink.incidents() == {f"zendesk/{ticket}/management": "resolved"}
    for hit in sink.posted("/pagerduty"):
        jsonschema.validate(hit.body, schemas.PAGERDUTY)


def test_a_solved_ticket_resolves_its_alert(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    ticket = f.stores["zendesk"].add("Checkout down", priority="P2")
    assert f.invoke("run", "-c", path).code == 0
    f.stores["zendesk"].edit(ticket, status="solved")
    result = f.invoke("run", "-c", path)
    assert result.code == 0, result.err
    assert sink.incidents() == {f"zendesk/{ticket}/management": "resolved"}


def test_doctor_checks_each_channel_without_sending(
    f: Fleet, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(f, sink)
    result = f.invoke("doctor", "-c", path)
    assert result.code == 0, result.out + result.err
    out = result.out
    assert f"notice channel exec-slack (slack, {sink.base}, notices wait for office hours)" in out
    assert f"  ok   reachable: {sink.base}: connected; plain HTTP" in out
    assert f"  ok   smtp: 127.0.0.1:{sink.smtp_port}: EHLO, none, NOOP 250, no login" in out
    assert "  ok   routing key: 32 characters" in out
    assert "/slack/exec" not in out  # the webhook URL's path is its secret
    assert sink.hits == [] and sink.mails == []
    monkeypatch.setenv("T_PD", "not-a-key")
    bad = f.invoke("doctor", "-c", path)
    assert bad.code == 1 and "  FAIL routing key: does not look like a PagerDuty" in bad.out


def test_report_shows_notices_sent_and_failed_per_channel(f: Fleet, sink: Sink) -> None:
    path = config(f, sink, calendar=None)
    sink.script["/slack/exec"] = [500]
    f.stores["zendesk"].add("Checkout down", priority="P2")
    f.invoke("run", "-c", path)
    f.invoke("run", "-c", path)
    result = f.invoke("report", "-c", path, "--no-live", "--since", "1d")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = lines.index("Notices (per channel: sent and not; details in the audit log)")
    table = [line.split() for line in lines[start + 2 : start + 6]]
    assert table[0] == ["channel", "failed", "sent"]
    assert ["exec-slack", "1", "1"] in table and ["oncall", "0", "1"] in table


def test_a_webhook_hears_the_escalation_is_over(
    f: Fleet, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_HOOK", sink.url("/hook/ops"))
    path = config(f, sink)
    doc = yaml.safe_load(path.read_text())
    doc["notify"]["channels"]["ops-hook"] = {"type": "webhook", "url": {"env": "T_HOOK"}}
    doc["levels"][1]["notify"] = ["ops-hook"]
    path.write_text(yaml.safe_dump(doc))
    ticket = f.stores["zendesk"].add("Checkout down", priority="P2")
    assert f.invoke("run", "-c", path).code == 0
    f.stores["zendesk"].edit(ticket, status="solved")
    assert f.invoke("run", "-c", path).code == 0
    assert f.invoke("run", "-c", path).code == 0
    bodies = [h.body for h in sink.posted("/hook/ops")]
    assert [b["type"] for b in bodies] == ["escalation.notice", "escalation.resolved"]
    assert bodies[0]["id"] != bodies[1]["id"] and bodies[1]["ticket"] == ticket
    for body in bodies:
        jsonschema.validate(body, schemas.WEBHOOK)


def test_a_missing_channel_secret_stops_a_run_not_a_dry_run(
    f: Fleet, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(f, sink)
    monkeypatch.delenv("T_SLACK")
    f.stores["zendesk"].add("Checkout down", priority="P2")
    run = f.invoke("run", "-c", path)
    assert run.code == 2
    assert "notify.channels.exec-slack.url: environment variable T_SLACK is not set" in run.err
    assert f.level("1") is None and sink.hits == []  # nothing written, nothing sent
    assert f.invoke("run", "-c", path, "--dry-run").code == 0
    doctor = f.invoke("doctor", "-c", path)
    assert doctor.code == 1
    assert "  FAIL secret: notify.channels.exec-slack.url: environment variable T_SLACK" in (
        doctor.out
    )
    assert "  ok   routing key: 32 characters" in doctor.out  # the others are still checked


def test_a_deferred_notice_of_a_ticket_solved_meanwhile_is_dropped(f: Fleet, sink: Sink) -> None:
    path = config(f, sink)
    ticket = f.stores["zendesk"].add("Checkout down", priority="P2")
    assert f.invoke("run", "-c", path).code == 0  # Slack and e-mail wait for Monday
    f.stores["zendesk"].edit(ticket, status="solved")  # solved on Saturday
    f.time.now = FRIDAY_23 + 12 * 3600
    assert f.invoke("run", "-c", path).code == 0
    f.time.now = MONDAY_9
    monday = f.invoke("run", "-c", path)
    assert monday.code == 0, monday.err
    assert sink.posted("/slack") == [] and sink.mails == []  # the escalation was over
    assert sink.incidents() == {f"zendesk/{ticket}/management": "resolved"}


def test_apply_sends_the_plans_notices_once(f: Fleet, sink: Sink) -> None:
    path = config(f, sink, calendar=None)
    f.stores["zendesk"].add("Checkout down", priority="P2")
    out = f.tmp / "plan.json"
    assert f.invoke("plan", "-c", path, "--out", out).code == 0
    assert sink.hits == []
    applied = f.invoke("apply", out)
    assert applied.code == 0, applied.out + applied.err
    assert len(sink.posted("/slack")) == 1 and len(sink.posted("/pagerduty")) == 1
    again = f.invoke("apply", out)  # the plan's change is on the ticket: nothing to write
    assert again.code == 0, again.out + again.err
    assert f.invoke("run", "-c", path).code == 0
    assert len(sink.posted("/slack")) == 1 and len(sink.posted("/pagerduty")) == 1
