"""`escalate run` and `escalate plan` through the real CLI against emulated platforms over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.lock import InstanceLock
from tests.connector.platforms import JIRA_TOKEN, ZENDESK_SECRET, Platforms, platforms


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def zendesk_notes(p: Platforms, tid: str) -> list[tuple[bool, str]]:
    """(public, body) of the comments the connector's account wrote."""
    return [
        (c["public"], c["body"])
        for c in p.zendesk.comments[int(tid)]
        if c["author_id"] == p.zendesk.me
    ]


def jira_level(p: Platforms, key: str) -> object:
    return p.jira.issues[key].fields.get(p.jira.field_id("Escalation level"))


def audit(p: Platforms) -> list[dict[str, object]]:
    path = p.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_escalates_every_due_ticket_once_and_a_second_run_changes_nothing(
    p: Platforms,
) -> None:
    zd, keys = p.p1(3), p.p1(2, "jira")
    config = p.config()
    first = p.invoke("run", "-c", config)
    assert first.code == 0, first.err
    assert "zendesk (zendesk): fetched 3, matched 3, 3 to change, applied 3" in first.out
    assert "jira (jira): fetched 2, matched 2, 2 to change, applied 2" in first.out
    for tid in zd:
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
        assert zendesk_notes(p, tid) == [
            (False, "Escalated Printer on fire"),
            (True, "We are on it"),
        ]
    for key in keys:
        assert jira_level(p, key) == "L2"
        assert len(p.jira.issues[key].comments) == 2
    second = p.invoke("run", "-c", config)
    assert second.code == 0, second.err
    assert "fetched 3, matched 0, 0 to change" in second.out
    assert all(len(zendesk_notes(p, tid)) == 2 for tid in zd)
    assert all(len(p.jira.issues[k].comments) == 2 for k in keys)


def test_dry_run_writes_nothing(p: Platforms) -> None:
    zd = p.p1(2)
    result = p.invoke("run", "-c", p.config(), "--dry-run")
    assert result.code == 0, result.err
    assert "2 to change, skipped 0" in result.out
    assert all(zendesk_notes(p, tid) == [] for tid in zd)
    assert not any(method == "PUT" for method, _ in p.zendesk.log)


def test_storm_guard_refuses_the_instance_unless_forced(p: Platforms) -> None:
    zd = p.p1(3)
    config = p.config(max_changes=2)
    refused = p.invoke("run", "-c", config, "--instance", "zendesk")
    assert refused.code == 1
    assert "REFUSED: 3 tickets would change, more than max_changes = 2" in refused.out
    assert all(zendesk_notes(p, tid) == [] for tid in zd)
    flag = p.invoke("run", "-c", config, "--instance", "zendesk", "--max-changes", "5")
    assert flag.code == 0 and "applied 3" in flag.out


def test_force_overrides_the_storm_guard(p: Platforms) -> None:
    p.p1(3)
    forced = p.invoke("run", "-c", p.config(max_changes=1), "--instance", "zendesk", "--force")
    assert forced.code == 0 and "applied 3" in forced.out


def test_a_held_lock_skips_that_instance_only(p: Platforms) -> None:
    zd, keys = p.p1(1), p.p1(1, "jira")
    config = p.config()
    with InstanceLock(p.state, "zendesk"):
        result = p.invoke("run", "-c", config)
    assert result.code == 0, result.err
    assert (
        "zendesk (zendesk): locked: instance zendesk: another run holds the lock (pid" in result.out
    )
    assert zendesk_notes(p, zd[0]) == []
    assert jira_level(p, keys[0]) == "L2"
    assert not p.zendesk.log  # not one request to the locked instance


def test_a_failed_page_writes_nothing_on_that_instance(p: Platforms) -> None:
    zd, keys = p.p1(3), p.p1(1, "jira")
    p.zendesk.fail("GET", r"/search/export", 500, times=100)
    result = p.invoke("run", "-c", p.config())
    assert result.code == 1
    assert "zendesk (zendesk): aborted:" in result.out
    assert "(no change was written)" in result.out
    assert all(zendesk_notes(p, tid) == [] for tid in zd)
    assert jira_level(p, keys[0]) == "L2"


def test_one_refused_write_does_not_stop_the_others(p: Platforms) -> None:
    zd = p.p1(3)
    p.zendesk.fail("PUT", rf"/tickets/{zd[1]}$", 422, times=5)
    result = p.invoke("run", "-c", p.config(), "--instance", "zendesk")
    assert result.code == 1
    assert "applied 2, unchanged 0, failed 1" in result.out
    assert p.zendesk.field_value(int(zd[0]), "Escalation level") == "L2"
    assert p.zendesk.field_value(int(zd[1]), "Escalation level") is None
    outcomes = {r["ticket"]: r["status"] for r in audit(p) if r["event"] == "write"}
    assert outcomes == {zd[0]: "applied", zd[1]: "failed", zd[2]: "applied"}


def test_bad_credentials_exit_2_and_write_nothing(p: Platforms) -> None:
    zd = p.p1(1)
    config = p.config()
    (p.tmp / "zendesk.secret").write_text("wrong-secret\n")
    result = p.invoke("run", "-c", config, "--instance", "zendesk")
    assert result.code == 2
    assert "zendesk (zendesk): aborted:" in result.out and "401" in result.out
    assert zendesk_notes(p, zd[0]) == []


def test_a_missing_secret_stops_before_any_request(p: Platforms) -> None:
    p.p1(1)
    config = p.config()
    (p.tmp / "jira.secret").unlink()
    result = p.invoke("run", "-c", config)
    assert result.code == 2
    assert "jira.secret" in result.err and "cannot read" in result.err
    assert not p.zendesk.log and not p.jira.log


def test_unknown_instance_is_a_usage_error(p: Platforms) -> None:
    result = p.invoke("run", "-c", p.config(), "--instance", "nope")
    assert result.code == 2
    assert "unknown instance 'nope' (configured: zendesk, jira)" in result.err


def test_audit_log_has_a_line_per_decision_and_write_and_no_secret(p: Platforms) -> None:
    zd = p.p1(2)
    p.invoke("run", "-c", p.config(), "--instance", "zendesk")
    lines = audit(p)
    events = [r["event"] for r in lines]
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert events.count("decision") == 2 and events.count("write") == 2
    decision = next(r for r in lines if r["event"] == "decision")
    assert decision["ticket"] in zd and decision["level"] == {"from": "L1", "to": "L2"}
    assert decision["rules"] == ["p1-to-l2"]
    text = (p.state / "audit.jsonl").read_text()
    assert ZENDESK_SECRET not in text and JIRA_TOKEN not in text
    assert "zd-token-" not in text  # the OAuth access token obtained at run time


def test_metrics_textfile(p: Platforms) -> None:
    p.p1(2)
    p.p1(1, "jira")
    p.invoke("run", "-c", p.config(metrics_file="metrics/escalate.prom"))
    text = (p.tmp / "metrics" / "escalate.prom").read_text()
    assert (
        'escalation_last_run_escalations{instance="zendesk",level="L2",platform="zendesk",'
        'rule="p1-to-l2"} 2.0' in text
    )
    assert (
        'escalation_last_run_changes{instance="jira",platform="jira",status="applied"} 1.0' in text
    )
    assert 'escalation_last_run_success{instance="zendesk",platform="zendesk"} 1.0' in text
    assert (
        'escalation_last_success_timestamp_seconds{instance="jira",platform="jira"} 1.7724456e+09'
        in text
    )


def test_last_success_survives_a_failed_run(p: Platforms) -> None:
    p.p1(1)
    config = p.config(metrics_file="m/{instance}.prom")
    p.invoke("run", "-c", config, "--instance", "zendesk")
    p.time.now += 600
    p.p1(1)
    p.zendesk.fail("GET", r"/search/export", 500, times=100)
    failed = p.invoke("run", "-c", config, "--instance", "zendesk")
    assert failed.code == 1
    text = (p.tmp / "m" / "zendesk.prom").read_text()
    assert 'escalation_last_run_success{instance="zendesk",platform="zendesk"} 0.0' in text
    success = 'escalation_last_success_timestamp_seconds{instance="zendesk",platform="zendesk"}'
    assert f"{success} 1.7724456e+09" in text


def test_loop_runs_every_interval_until_interrupted(p: Platforms) -> None:
    p.p1(1)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt
        p.time.now += seconds
        p.p1(1)  # a new P1 arrives while the connector waits

    p.time.sleep = sleep  # type: ignore[method-assign]
    result = p.invoke(
        "run", "-c", p.config(), "--instance", "zendesk", "--loop", "--interval", "2m"
    )
    assert result.code == 0, result.err
    assert naps == [120.0, 120.0]
    assert result.out.count("applied 1") == 2


def test_a_run_skipped_for_the_lock_leaves_the_metrics_alone(p: Platforms) -> None:
    p.p1(1)
    config = p.config(metrics_file="m/{instance}.prom")
    p.invoke("run", "-c", config, "--instance", "zendesk")
    before = (p.tmp / "m" / "zendesk.prom").read_text()
    p.time.now += 300
    with InstanceLock(p.state, "zendesk"):
        assert p.invoke("run", "-c", config, "--instance", "zendesk").code == 0
    assert (p.tmp / "m" / "zendesk.prom").read_text() == before


def test_an_unwritable_state_dir_is_a_config_error(p: Platforms) -> None:
    p.p1(1)
    (p.tmp / "blocked").write_text("a file, not a folder")
    result = p.invoke("run", "-c", p.config(state_dir="blocked/state"), "--instance", "zendesk")
    assert result.code == 2
    assert "cannot write the audit log" in result.err and "Traceback" not in result.err


def test_concurrent_writers_read_a_projects_edit_screen_once(p: Platforms) -> None:
    p.p1(12, "jira")
    result = p.invoke("run", "-c", p.config(concurrency=8), "--instance", "jira")
    assert result.code == 0, result.err
    assert len(p.jira.requests("GET", "/editmeta")) == 1
