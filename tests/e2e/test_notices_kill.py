"""A real `escalate run` process killed (SIGKILL) after a notice reached the service and before
the run recorded it, then re-run: people get the notice exactly once (notify/outbox.py).

The service (emulators/sink.py: a real HTTP receiver, a real aiosmtpd server) kills the run the
moment it has the notice, before it answers: the run dies not knowing the notice went in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.sink import Sink
from tests.connector.platforms import Platforms, platforms
from tests.e2e.test_processes import WAIT, spawn

ROUTING_KEY = "R0123456789abcdef0123456789abcde"


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys, start=time.time()) as found:
        yield found


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink().start()
    yield s
    s.close()


def channel(kind: str, sink: Sink) -> dict[str, Any]:
    if kind == "slack":
        return {"type": "slack", "url": {"env": "T_HOOK"}}
    if kind == "pagerduty":
        endpoint = sink.url("/pagerduty/v2/enqueue")
        return {"type": "pagerduty", "routing_key": {"env": "T_PD"}, "endpoint": endpoint}
    smtp = {"host": "127.0.0.1", "port": sink.smtp_port, "security": "none"}
    return {"type": "email", "smtp": smtp, "from": "esc@example.com", "to": ["boss@example.com"]}


def received(kind: str, sink: Sink) -> int:
    """How many notices people got: PagerDuty counts incidents (it deduplicates)."""
    if kind == "email":
        return len(sink.mails)
    if kind == "pagerduty":
        return len(sink.incidents())
    return len(sink.posted("/slack"))


@pytest.mark.parametrize("kind", ["slack", "email", "pagerduty"])
def test_killed_after_the_send_and_before_the_record_then_rerun_sends_once(
    p: Platforms, sink: Sink, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_HOOK", sink.url("/slack/c"))
    monkeypatch.setenv("T_PD", ROUTING_KEY)
    [ticket] = p.p1(1)
    path = p.config()
    doc = yaml.safe_load(path.read_text())
    doc["levels"][1]["notify"] = ["boss"]
    doc["notify"] = {"channels": {"boss": channel(kind, sink)}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    child: list[subprocess.Popen[str]] = []
    killed = threading.Event()

    def kill(where: str) -> None:
        if not killed.is_set():
            killed.set()
            os.kill(child[0].pid, signal.SIGKILL)  # the service has it; the run never hears

    sink.on_receive = kill
    child.append(spawn(p, path, "--instance", "zendesk"))
    child[0].communicate(timeout=WAIT)
    assert killed.is_set() and child[0].returncode == -signal.SIGKILL
    sink.on_receive = None
    assert p.zendesk.field_value(int(ticket), "Escalation level") == "L2"
    again = spawn(p, path, "--instance", "zendesk")
    out, err = again.communicate(timeout=WAIT)
    if kind == "pagerduty":  # sent again: PagerDuty keeps one incident per dedup_key
        assert again.returncode == 0, err
        assert "notices sent 1" in out
        assert len(sink.posted("/pagerduty")) == 2
    else:  # not sent again, and said so (exit 1: check the channel)
        assert again.returncode == 1, err
        assert "notices unknown 1" in out
    assert received(kind, sink) == 1
    third = spawn(p, path, "--instance", "zendesk")
    out, err = third.communicate(timeout=WAIT)
    assert third.returncode == 0, err
    assert received(kind, sink) == 1


def test_killed_after_the_ticket_write_and_before_the_notices_then_rerun_sends_once(
    p: Platforms, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notices are kept ("planned") before the write; the re-run reads the ticket, sees
    the change's `state` value on it, and sends them."""
    monkeypatch.setenv("T_HOOK", sink.url("/slack/c"))
    [ticket] = p.p1(1)
    path = p.config()
    doc = yaml.safe_load(path.read_text())
    doc["levels"][1]["notify"] = ["boss"]
    doc["notify"] = {"channels": {"boss": channel("slack", sink)}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    child: list[subprocess.Popen[str]] = []
    killed = threading.Event()

    def kill(method: str, where: str) -> None:
        if not killed.is_set():
            killed.set()
            os.kill(child[0].pid, signal.SIGKILL)  # the ticket has the change; no notice yet

    p.taps["zendesk"].after_write = kill
    child.append(spawn(p, path, "--instance", "zendesk"))
    child[0].communicate(timeout=WAIT)
    assert killed.is_set() and child[0].returncode == -signal.SIGKILL
    p.taps["zendesk"].after_write = None
    assert p.zendesk.field_value(int(ticket), "Escalation level") == "L2"
    assert sink.hits == []
    again = spawn(p, path, "--instance", "zendesk")
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    assert "0 to change" in out and "notices sent 1" in out
    assert len(sink.posted("/slack")) == 1
    third = spawn(p, path, "--instance", "zendesk")
    third.communicate(timeout=WAIT)
    assert len(sink.posted("/slack")) == 1
