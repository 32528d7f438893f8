"""The scheduler on a fake clock: what runs when, and with which hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.audit import AuditLog
from connector.config import Config, load_config
from connector.progress import Progress
from connector.report import InstanceRun, RunOutcome
from connector.runner import Runtime
from connector.serve.cycle import Hint
from connector.serve.hints import Hints
from connector.serve.scheduler import Scheduler
from connector.serve.shared import Shared
from tests.adapters.fakes import FakeTime
from tests.connector.platforms import NOW, Platforms, platforms
from tests.connector.serving import with_serve


class Recorder:
    """A cycle that records what it was asked and does nothing (or finds the lock held)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Hint]] = []
        self.locked = 0

    def __call__(
        self, config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
    ) -> InstanceRun:
        self.calls.append((instance, hint))
        outcome = RunOutcome.LOCKED if self.locked else RunOutcome.OK
        self.locked = max(0, self.locked - 1)
        return InstanceRun(instance, config.instances[instance].platform, outcome=outcome)

    def take(self) -> list[tuple[str, str, frozenset[str], bool]]:
        out = [(name, h.reason, h.tickets, h.full) for name, h in self.calls]
        self.calls.clear()
        return out


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def scheduler(p: Platforms, **serve: object) -> tuple[Scheduler, Recorder, FakeTime]:
    config = load_config(with_serve(p.config(), p.tmp, **serve))
    time = FakeTime(NOW)
    runtime = Runtime(time.clock, time.sleep, Progress(enabled=False))
    shared = Shared(config, Hints(config.serve.queue), time.clock)
    recorder = Recorder()
    return Scheduler(shared, runtime, recorder), recorder, time


def test_first_a_full_sweep_then_a_cycle_every_interval(p: Platforms) -> None:
    s, rec, time = scheduler(p, interval="60s")
    assert s.step() == NOW + 60
    assert rec.take() == [
        ("zendesk", "start", frozenset(), True),
        ("jira", "start", frozenset(), True),
    ]
    time.now += 59
    s.step()
    assert rec.take() == []
    time.now += 1
    s.step()
    assert rec.take() == [
        ("zendesk", "tick", frozenset(), False),
        ("jira", "tick", frozenset(), False),
    ]
    time.now = NOW + 3600
    s.step()
    assert [(n, r, f) for n, r, _, f in rec.take()] == [
        ("zendesk", "full_sweep", True),
        ("jira", "full_sweep", True),
    ]


def test_a_burst_of_hints_makes_one_cycle_with_each_ticket_once(p: Platforms) -> None:
    s, rec, time = scheduler(p, debounce="2s")
    s.step()
    rec.take()
    hints = s.shared.hints
    for i in range(1000):
        hints.mark("zendesk", str(i % 10), time.now)
        time.now += 0.001
    assert s.next_wake() == pytest.approx(NOW + 2)
    s.step()
    assert rec.take() == []  # still gathering the burst
    time.now = NOW + 2
    s.step()
    assert rec.take() == [("zendesk", "webhook", frozenset(str(i) for i in range(10)), False)]
    time.now += 1
    s.step()
    assert rec.take() == []  # nothing left waiting


def test_an_overflowing_queue_makes_the_next_cycle_a_full_sweep(p: Platforms) -> None:
    s, rec, time = scheduler(p, queue=3, debounce="0s")
    s.step()
    rec.take()
    results = [s.shared.hints.mark("jira", f"SUP-{i}", time.now) for i in range(5)]
    assert results == ["queued", "queued", "queued", "overflow", "overflow"]
    s.step()
    assert rec.take() == [("jira", "overflow", frozenset(), True)]


def test_a_reloaded_policy_makes_a_full_sweep_and_stop_starts_nothing(p: Platforms) -> None:
    s, rec, time = scheduler(p)
    s.step()
    rec.take()
    path = Path(s.shared.config.path)
    text = path.read_text().replace("Escalated {{ ticket.title }}", "Raised {{ ticket.title }}")
    path.write_text(text)
    s.reload(load_config(path))
    assert s.next_wake() == time.now
    s.step()
    assert [(n, r, f) for n, r, _, f in rec.take()] == [
        ("zendesk", "reload", True),
        ("jira", "reload", True),
    ]
    s.shared.hints.mark("zendesk", "7", time.now)
    s.stop()
    assert s.runtime.stop.is_set()
    time.now += 3600
    s.step()
    assert rec.take() == []


def test_hinted_tickets_whose_cycle_found_the_lock_held_are_tried_again(p: Platforms) -> None:
    s, rec, time = scheduler(p, debounce="0s")
    s.step()
    rec.take()
    s.shared.hints.mark("zendesk", "7", time.now)
    rec.locked = 1  # another replica is mid-cycle
    s.step()
    assert rec.take() == [("zendesk", "webhook", frozenset({"7"}), False)]
    assert s.shared.hints.waiting() == {"zendesk": 1}
    s.step()
    assert rec.take() == []  # not at once: a second later
    time.now += 1
    s.step()
    assert rec.take() == [("zendesk", "webhook", frozenset({"7"}), False)]
    assert s.shared.hints.waiting() == {}


def test_a_cycle_only_webhooks_prompted_leaves_the_search_to_the_interval(p: Platforms) -> None:
    s, rec, time = scheduler(p, interval="60s", debounce="0s")
    s.step()
    rec.take()
    time.now += 10
    s.shared.hints.mark("zendesk", "7", time.now)
    s.step()
    assert [(n, h.reason, h.search) for n, h in rec.calls] == [("zendesk", "webhook", False)]
    rec.calls.clear()
    assert s.next_tick["zendesk"] == NOW + 60  # the interval's cycle is not put off
    time.now = NOW + 60
    s.shared.hints.mark("zendesk", "8", time.now)
    s.step()  # the interval has come too: the webhook's cycle searches, and is the tick
    assert [(n, h.reason, h.search) for n, h in rec.calls] == [
        ("zendesk", "webhook", True),
        ("jira", "tick", True),
    ]
    assert s.next_tick["zendesk"] == NOW + 120
