"""Real `escalate run` processes against emulated platforms over HTTP: two runs started at once,
and a run killed (SIGKILL) after K writes, then re-run.

After each: no duplicate comment, no skipped level, every due escalation done. The child
processes use the real clock, so the emulators' clock is frozen at the real time; the contract
policy (P1 -> L2) has no time trigger, so nothing depends on timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import Platforms, platforms
from tests.connector.test_run import jira_level, zendesk_notes

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds a child may take at most (a hung child fails the test, never hangs it)


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys, start=time.time()) as found:
        yield found


def spawn(p: Platforms, config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "run", "-c", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=p.tmp,
    )


def assert_escalated_once(p: Platforms, zd: list[str], keys: list[str]) -> None:
    for tid in zd:
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
        assert p.zendesk.field_value(int(tid), "Escalation count") == "1"
        assert zendesk_notes(p, tid) == [
            (False, "Escalated Printer on fire"),
            (True, "We are on it"),
        ]
    for key in keys:
        assert jira_level(p, key) == "L2"
        bodies = [str(c["body"]) for c in p.jira.issues[key].comments]
        assert len(bodies) == 2, bodies


def test_two_runs_started_at_once_one_works_the_other_exits(p: Platforms) -> None:
    zd, keys = p.p1(5), p.p1(3, "jira")
    config = p.config()
    first_write, second_done = threading.Event(), threading.Event()

    def hold(method: str, path: str) -> None:
        first_write.set()
        second_done.wait(WAIT)  # the first run is mid-write while the second one starts

    p.taps["zendesk"].after_write = hold
    first = spawn(p, config)
    assert first_write.wait(WAIT), "the first run never wrote"
    second = spawn(p, config)
    out, err = second.communicate(timeout=WAIT)
    second_done.set()
    assert second.returncode == 0, err
    assert "zendesk (zendesk): locked: instance zendesk: another run holds the lock" in out
    assert "jira (jira): fetched 3, matched 3, 3 to change, applied 3" in out  # not locked
    first_out, first_err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, first_err
    assert "zendesk (zendesk): fetched 5, matched 5, 5 to change, applied 5" in first_out
    assert "jira (jira): fetched 3, matched 0, 0 to change" in first_out  # the other run did it
    assert_escalated_once(p, zd, keys)


@pytest.mark.parametrize("kill_after", [1, 4, 7])
def test_a_run_killed_after_k_writes_then_rerun(p: Platforms, kill_after: int) -> None:
    zd = p.p1(6)
    keys = p.p1(3, "jira")
    config = p.config(concurrency=2)
    child: list[subprocess.Popen[str]] = []
    killed = threading.Event()

    def kill(method: str, path: str) -> None:
        if p.taps["zendesk"].writes >= kill_after and not killed.is_set():
            killed.set()
            os.kill(child[0].pid, signal.SIGKILL)  # before the answer reaches the client

    p.taps["zendesk"].after_write = kill
    child.append(spawn(p, config, "--instance", "zendesk"))
    child[0].communicate(timeout=WAIT)
    assert killed.is_set() and child[0].returncode == -signal.SIGKILL
    p.taps["zendesk"].after_write = None
    again = spawn(p, config)
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    # Every ticket escalated exactly once: no duplicate note, no level skipped or repeated.
    for tid in zd:
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
        assert p.zendesk.field_value(int(tid), "Escalation count") == "1"
        # Both comments, once each: a reply the kill kept from being sent is owed, and sent
        # by the re-run (adapters/owed.py).
        assert zendesk_notes(p, tid) == [
            (False, "Escalated Printer on fire"),
            (True, "We are on it"),
        ]
    for key in keys:
        assert jira_level(p, key) == "L2"
    third = spawn(p, config)
    out, err = third.communicate(timeout=WAIT)
    assert third.returncode == 0, err
    assert out.count("0 to change") == 2
