"""A real `escalate serve` process, signalled: SIGTERM in the middle of its write phase, and
SIGHUP with a bad configuration, then a good one.

The child runs on the real clock, so the emulators' clock is frozen at the real time (the
contract policy, P1 -> L2, has no time trigger). Nothing sleeps for a set time: the test waits
for what it can observe (a write landing, a log line, a metric), each wait bounded.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import with_serve, zendesk_delivery
from tests.connector.test_run import zendesk_notes

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds any one wait may take at most (a hung child fails the test)
FULL = [(False, "Escalated Printer on fire"), (True, "We are on it")]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys, start=time.time()) as found:
        yield found


class Child:
    """`escalate ARGS` as a process; its stderr lines read as they come."""

    def __init__(self, p: Platforms, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
        env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=p.tmp,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def logged(self, text: str) -> str:
        """Wait until a stderr line contains `text`; that line."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"never logged {text!r}; stderr so far:\n{''.join(self.seen)}")

    def url(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("serving on "), line
        return line.removeprefix("serving on ").strip()

    def end(self) -> int:
        self.proc.wait(WAIT)
        return self.proc.returncode


def serve(p: Platforms, **settings: object) -> tuple[Child, Path]:
    config = with_serve(p.config(**settings), p.tmp, debounce="0.2s", interval="1h")
    return Child(p, "serve", "-c", str(config), "--listen", "127.0.0.1:0"), config


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling observable state, not waiting a set time


def metric(url: str, name: str, **labels: str) -> float:
    text = requests.get(url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_sigterm_in_the_write_phase_finishes_the_batch_in_flight_and_exits_0(p: Platforms) -> None:
    tickets = p.p1(8)
    held, release = threading.Event(), threading.Event()

    def hold(method: str, path: str) -> None:
        if not held.is_set():
            held.set()
            release.wait(WAIT)  # the first write has landed; its answer waits

    p.taps["zendesk"].after_write = hold
    child, config = serve(p, concurrency=2)
    child.url()
    assert held.wait(WAIT), "the start's full sweep never wrote"
    child.proc.send_signal(signal.SIGTERM)
    child.logged('"stopping"')  # the handler ran: no further write batch starts
    release.set()
    assert child.end() == 0, "".join(child.seen)
    p.taps["zendesk"].after_write = None

    written = [t for t in tickets if p.zendesk.field_value(int(t), "Escalation level") == "L2"]
    for tid in tickets:  # each ticket whole or untouched: never half-written
        if tid in written:
            assert p.zendesk.field_value(int(tid), "Escalation count") == "1"
            assert zendesk_notes(p, tid) == FULL
        else:
            assert p.zendesk.field_value(int(tid), "Escalation count") is None
            assert zendesk_notes(p, tid) == []
    assert 1 <= len(written) < len(tickets)  # stopped mid-phase, after the batches in flight

    # The lock was released: the next run takes it and completes the rest.
    after = Child(p, "run", "-c", str(config))
    assert after.end() == 0
    out = after.proc.stdout.read() if after.proc.stdout else ""
    assert f"applied {len(tickets) - len(written)}" in out, out
    for tid in tickets:
        assert p.zendesk.field_value(int(tid), "Escalation count") == "1"
        assert zendesk_notes(p, tid) == FULL


def test_sighup_with_a_bad_config_keeps_the_old_one_and_a_good_one_is_applied(p: Platforms) -> None:
    child, config = serve(p)
    url = child.url()
    until(lambda: requests.get(url + "/readyz", timeout=10).status_code == 200, "ready")
    good = config.read_text()
    first_hash = next(
        s.labels["policy_hash"]
        for f in text_string_to_metric_families(requests.get(url + "/metrics", timeout=10).text)
        for s in f.samples
        if s.name == "escalation_serve_policy_info"
    )

    config.write_text(good.replace("levels:", "levels: [oops", 1))
    child.proc.send_signal(signal.SIGHUP)
    child.logged("config_reload_refused")
    assert metric(url, "escalation_serve_config_reloads_total", result="refused") == 1
    assert metric(url, "escalation_serve_policy_info", policy_hash=first_hash) == 1

    # The old configuration still serves: its webhook secret, its policy.
    tid = p.p1(1)[0]
    body, headers = zendesk_delivery(tid, time.time(), invocation=f"inv-{tid}")
    answer = requests.post(
        url + "/webhooks/zendesk/zendesk", data=body, headers=headers, timeout=10
    )
    assert answer.status_code == 202
    until(lambda: p.zendesk.field_value(int(tid), "Escalation level") == "L2", "the escalation")
    until(lambda: zendesk_notes(p, tid) == FULL, "both comments")

    doc = yaml.safe_load(good)
    doc["templates"]["handoff"] = "Raised {{ ticket.title }}"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    child.proc.send_signal(signal.SIGHUP)
    child.logged("config_reloaded")
    assert metric(url, "escalation_serve_config_reloads_total", result="applied") == 1
    assert metric(url, "escalation_serve_policy_info", policy_hash=first_hash) == 0

    child.proc.send_signal(signal.SIGTERM)
    assert child.end() == 0
