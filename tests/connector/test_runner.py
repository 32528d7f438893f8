"""`escalate run` through the real CLI on in-memory platforms: the runner, the storm guard, the
lock, the audit log and the metrics (tests/connector/test_run.py keeps what needs HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.lock import InstanceLock
from tests.connector.fleet import Fleet, fleet


@pytest.fixture
def f(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fleet]:
    with fleet(tmp_path, capsys) as found:
        yield found


def audit(f: Fleet) -> list[dict[str, object]]:
    path = f.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_escalates_every_due_ticket_once_and_a_second_run_changes_nothing(f: Fleet) -> None:
    zd, keys = f.p1(3), f.p1(2, "jira")
    config = f.config()
    first = f.invoke("run", "-c", config)
    assert first.code == 0, first.err
    assert "zendesk (zendesk): fetched 3, matched 3, 3 to change, applied 3" in first.out
    assert "jira (jira): fetched 2, matched 2, 2 to change, applied 2" in first.out
    for tid in zd:
        assert f.level(tid) == "L2"
        assert f.notes(tid) == [(False, "Escalated Printer on fire"), (True, "We are on it")]
    assert all(f.level(key, "jira") == "L2" for key in keys)
    second = f.invoke("run", "-c", config)
    assert second.code == 0, second.err
    assert "fetched 3, matched 0, 0 to change" in second.out
    assert all(len(f.notes(tid)) == 2 for tid in zd)


def test_dry_run_writes_nothing(f: Fleet) -> None:
    zd = f.p1(2)
    result = f.invoke("run", "-c", f.config(), "--dry-run")
    assert result.code == 0, result.err
    assert "2 to change, skipped 0" in result.out
    assert all(f.notes(tid) == [] for tid in zd)
    assert f.stores["zendesk"].calls["PUT"] == 0


def test_storm_guard_refuses_the_instance_unless_allowed(f: Fleet) -> None:
    zd = f.p1(3)
    config = f.config(max_changes=2)
    refused = f.invoke("run", "-c", config, "--instance", "zendesk")
    assert refused.code == 1
    assert "REFUSED: 3 tickets would change, more than max_changes = 2" in refused.out
    assert all(f.notes(tid) == [] for tid in zd)
    assert f.stores["zendesk"].calls["PUT"] == 0
    flag = f.invoke("run", "-c", config, "--instance", "zendesk", "--max-changes", "5")
    assert flag.code == 0 and "applied 3" in flag.out


def test_force_overrides_the_storm_guard(f: Fleet) -> None:
    f.p1(3)
    forced = f.invoke("run", "-c", f.config(max_changes=1), "--instance", "zendesk", "--force")
    assert forced.code == 0 and "applied 3" in forced.out


def test_a_held_lock_skips_that_instance_only(f: Fleet) -> None:
    zd, keys = f.p1(1), f.p1(1, "jira")
    config = f.config()
    with InstanceLock(f.state, "zendesk"):
        result = f.invoke("run", "-c", config)
    assert result.code == 0, result.err
    assert (
        "zendesk (zendesk): locked: instance zendesk: another run holds the lock (pid" in result.out
    )
    assert f.notes(zd[0]) == [] and f.level(keys[0], "jira") == "L2"
    assert not f.stores["zendesk"].calls  # not one request to the locked instance


def test_a_failed_page_writes_nothing_on_that_instance(f: Fleet) -> None:
    zd, keys = f.p1(150), f.p1(1, "jira")  # two pages of 100
    f.stores["zendesk"].fail("page_error", times=100)
    result = f.invoke("run", "-c", f.config())
    assert result.code == 1
    assert "zendesk (zendesk): aborted:" in result.out
    assert "(no change was written)" in result.out
    assert all(f.notes(tid) == [] for tid in zd) and f.stores["zendesk"].calls["PUT"] == 0
    assert f.level(keys[0], "jira") == "L2"


def test_one_refused_write_does_not_stop_the_others(f: Fleet) -> None:
    zd = f.p1(3)
    f.stores["zendesk"].fail("refuse", ticket=zd[1])
    result = f.invoke("run", "-c", f.config(), "--instance", "zendesk")
    assert result.code == 1
    assert "applied 2, unchanged 0, failed 1" in result.out
    assert [f.level(t) for t in zd] == ["L2", None, "L2"]
    outcomes = {r["ticket"]: r["status"] for r in audit(f) if r["event"] == "write"}
    assert outcomes == {zd[0]: "applied", zd[1]: "failed", zd[2]: "applied"}


def test_unknown_instance_is_a_usage_error(f: Fleet) -> None:
    result = f.invoke("run", "-c", f.config(), "--instance", "nope")
    assert result.code == 2
    assert "unknown instance 'nope' (configured: zendesk, jira)" in result.err


def test_audit_log_has_a_line_per_decision_and_write(f: Fleet) -> None:
    zd = f.p1(2)
    f.invoke("run", "-c", f.config(), "--instance", "zendesk")
    lines = audit(f)
    events = [r["event"] for r in lines]
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert events.count("decision") == 2 and events.count("write") == 2
    decision = next(r for r in lines if r["event"] == "decision")
    assert decision["ticket"] in zd and decision["level"] == {"from": "L1", "to": "L2"}
    assert decision["rules"] == ["p1-to-l2"]


def test_metrics_textfile(f: Fleet) -> None:
    f.p1(2)
    f.p1(1, "jira")
    f.invoke("run", "-c", f.config(metrics_file="metrics/escalate.prom"))
    text = (f.tmp / "metrics" / "escalate.prom").read_text()
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


def test_last_success_survives_a_failed_run(f: Fleet) -> None:
    f.p1(1)
    config = f.config(metrics_file="m/{instance}.prom")
    f.invoke("run", "-c", config, "--instance", "zendesk")
    f.time.now += 600
    f.p1(1)
    f.stores["zendesk"].fail("rate_limited", times=100)  # every request, until retries give up
    failed = f.invoke("run", "-c", config, "--instance", "zendesk")
    assert failed.code == 1
    text = (f.tmp / "m" / "zendesk.prom").read_text()
    assert 'escalation_last_run_success{instance="zendesk",platform="zendesk"} 0.0' in text
    success = 'escalation_last_success_timestamp_seconds{instance="zendesk",platform="zendesk"}'
    assert f"{success} 1.7724456e+09" in text


def test_loop_runs_every_interval_until_interrupted(f: Fleet) -> None:
    f.p1(1)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt
        f.time.now += seconds
        f.p1(1)  # a new P1 arrives while the connector waits

    f.time.sleep = sleep  # type: ignore[method-assign]
    result = f.invoke(
        "run", "-c", f.config(), "--instance", "zendesk", "--loop", "--interval", "2m"
    )
    assert result.code == 0, result.err
    assert naps == [120.0, 120.0]
    assert result.out.count("applied 1") == 2


def test_loop_refuses_an_interval_of_zero(f: Fleet) -> None:
    """--interval 0s would run back to back against the platforms: a usage error, nothing run."""
    f.p1(1)
    result = f.invoke("run", "-c", f.config(), "--loop", "--interval", "0s")
    assert result.code == 2 and "--interval" in result.err and "more than 0" in result.err
    assert "applied" not in result.out
    alone = f.invoke("run", "-c", f.config(), "--interval", "5m")  # one run: no interval
    assert alone.code == 2 and "--interval is for --loop" in alone.err
    assert "applied" not in alone.out


def test_a_run_skipped_for_the_lock_leaves_the_metrics_alone(f: Fleet) -> None:
    f.p1(1)
    config = f.config(metrics_file="m/{instance}.prom")
    f.invoke("run", "-c", config, "--instance", "zendesk")
    before = (f.tmp / "m" / "zendesk.prom").read_text()
    f.time.now += 300
    with InstanceLock(f.state, "zendesk"):
        assert f.invoke("run", "-c", config, "--instance", "zendesk").code == 0
    assert (f.tmp / "m" / "zendesk.prom").read_text() == before


def test_an_unwritable_state_dir_is_a_config_error(f: Fleet) -> None:
    f.p1(1)
    (f.tmp / "blocked").write_text("a file, not a folder")
    result = f.invoke("run", "-c", f.config(state_dir="blocked/state"), "--instance", "zendesk")
    assert result.code == 2
    assert "cannot write the audit log" in result.err and "Traceback" not in result.err


def test_a_missing_tracking_field_aborts_that_instance_only(f: Fleet) -> None:
    zd, keys = f.p1(1), f.p1(1, "jira")
    f.stores["zendesk"].fields.discard("state")
    result = f.invoke("run", "-c", f.config())
    assert result.code == 2, result.out
    assert "zendesk (zendesk): aborted: in-memory instance zendesk: fields missing: state" in (
        result.out
    )
    assert f.notes(zd[0]) == [] and f.level(keys[0], "jira") == "L2"


def test_a_reply_that_failed_is_owed_and_the_next_run_sends_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a platform that takes one comment per update, the reply is a second update: when it
    fails, the change still stands, the reply is journaled, and the next run sends it before
    it reads anything, once."""
    with fleet(tmp_path, capsys, comments_per_update=1) as f:
        (tid,) = f.p1(1)
        f.stores["zendesk"].fail("refuse", ticket=tid, skip=1)  # the change passes, not its reply
        config = f.config()
        first = f.invoke("run", "-c", config, "--instance", "zendesk")
        assert first.code == 1, first.out
        assert "applied 1 (1 without a comment)" in first.out
        assert "comments owed to the next run 1" in first.out
        assert f.level(tid) == "L2" and f.notes(tid) == [(False, "Escalated Printer on fire")]
        second = f.invoke("run", "-c", config, "--instance", "zendesk")
        assert second.code == 0, second.out
        assert "owed comments from earlier runs: sent 1" in second.out
        assert "0 to change" in second.out
        assert f.notes(tid) == [(False, "Escalated Printer on fire"), (True, "We are on it")]
        third = f.invoke("run", "-c", config, "--instance", "zendesk")
        assert "owed comments" not in third.out and len(f.notes(tid)) == 2
