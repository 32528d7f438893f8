"""Serve cycles side by side: up to `run.jobs` instances at once, each one cycle at a time.

The cycles here block on events the test opens (no sleeping): what is in flight at once is
observed, not timed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connector.audit import AuditLog
from connector.config import Config, load_config
from connector.progress import Progress
from connector.report import InstanceRun, RunOutcome
from connector.runner import Runtime
from connector.serve.cycle import Hint
from connector.serve.hints import Hints
from connector.serve.scheduler import Scheduler, Waiter
from connector.serve.shared import Shared
from tests.adapters.fakes import FakeTime
from tests.connector.platforms import NOW, Platforms, platforms
from tests.connector.serving import jira_delivery, served, with_serve, zendesk_delivery
from tests.connector.test_run import jira_level

WAIT = 10.0  # seconds before a test gives up on a thread (a hang, not a timing)


class Gated:
    """A cycle that says it started, then waits until the test opens its instance's gate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gates: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}
        self.calls: list[tuple[str, str, frozenset[str]]] = []
        self.in_flight = 0
        self.most = 0

    def gate(self, name: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(name, threading.Event())

    def began(self, name: str) -> threading.Event:
        with self.lock:
            return self.started.setdefault(name, threading.Event())

    def __call__(
        self, config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
    ) -> InstanceRun:
        with self.lock:
            self.calls.append((instance, hint.reason, hint.tickets))
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        self.began(instance).set()
        assert self.gate(instance).wait(WAIT), f"{instance}'s gate never opened"
        self.gate(instance).clear()
        with self.lock:
            self.in_flight -= 1
        return InstanceRun(instance, config.instances[instance].platform, outcome=RunOutcome.OK)


class Wakes(Waiter):
    def __init__(self) -> None:
        super().__init__()
        self.woken = threading.Event()

    def wake(self) -> None:
        self.woken.set()
        super().wake()


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def scheduler(p: Platforms, jobs: int, third: bool = False) -> tuple[Scheduler, Gated, FakeTime]:
    path = with_serve(p.config(jobs=jobs), p.tmp, debounce="0s")
    if third:  # a second Zendesk instance (same account): three instances, `jobs` fewer
        doc = yaml.safe_load(path.read_text())
        doc["instances"]["zendesk-b"] = dict(doc["instances"]["zendesk"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    config = load_config(path)
    time = FakeTime(NOW)
    runtime = Runtime(time.clock, time.sleep, Progress(enabled=False))
    shared = Shared(config, Hints(config.serve.queue), time.clock)
    gated = Gated()
    return Scheduler(shared, runtime, gated, Wakes()), gated, time


def test_cycles_of_different_instances_run_side_by_side(p: Platforms) -> None:
    s, gated, _ = scheduler(p, jobs=2)
    s.step()
    assert gated.began("zendesk").wait(WAIT)
    assert gated.began("jira").wait(WAIT)  # both sweeps in flight, neither has ended
    assert gated.in_flight == 2
    gated.gate("zendesk").set()
    gated.gate("jira").set()
    s.settle()
    assert sorted(gated.calls) == [
        ("jira", "start", frozenset()),
        ("zendesk", "start", frozenset()),
    ]


def test_a_webhook_cycle_starts_while_another_instance_sweeps(p: Platforms) -> None:
    s, gated, time = scheduler(p, jobs=2)
    waiter = s.waiter
    assert isinstance(waiter, Wakes)
    s.step()
    gated.gate("jira").set()
    assert gated.began("zendesk").wait(WAIT)  # zendesk's long sweep is still reading
    assert waiter.woken.wait(WAIT)  # jira's sweep ended (its thread wakes the scheduler)
    gated.began("jira").clear()
    s.shared.hints.mark("jira", "SUP-1", time.now)
    s.shared.hints.mark("zendesk", "7", time.now)
    s.step()
    assert gated.began("jira").wait(WAIT)
    assert gated.calls[-1] == ("jira", "webhook", frozenset({"SUP-1"}))
    # zendesk is still in its sweep: its hint waits for its next cycle, not a second one now
    assert [c for c in gated.calls if c[0] == "zendesk"] == [("zendesk", "start", frozenset())]
    assert s.shared.hints.waiting() == {"zendesk": 1}
    gated.gate("jira").set()
    gated.gate("zendesk").set()
    s.settle()
    s.step()
    gated.gate("zendesk").set()
    s.settle()
    assert gated.calls[-1] == ("zendesk", "webhook", frozenset({"7"}))
    assert s.shared.hints.waiting() == {}


def test_no_more_than_jobs_cycles_at_once_the_rest_start_as_they_end(p: Platforms) -> None:
    s, gated, time = scheduler(p, jobs=2, third=True)
    waiter = s.waiter
    assert isinstance(waiter, Wakes)
    wake = s.step()
    assert gated.began("zendesk").wait(WAIT) and gated.began("jira").wait(WAIT)
    started = {c[0] for c in gated.calls}
    assert started == {"zendesk", "jira"}  # the first two in the configuration's order
    assert wake == time.now + s.shared.config.serve.interval  # nothing can start: wait
    s.step()
    assert len(gated.calls) == 2  # zendesk-b waits its turn
    gated.gate("jira").set()
    assert waiter.woken.wait(WAIT)  # jira's sweep ended
    s.step()
    assert gated.began("zendesk-b").wait(WAIT)
    assert gated.calls[-1] == ("zendesk-b", "start", frozenset())
    gated.gate("zendesk").set()
    gated.gate("zendesk-b").set()
    s.settle()
    assert gated.most == 2


def test_jobs_one_runs_each_cycle_on_the_scheduler_thread(p: Platforms) -> None:
    s, gated, _ = scheduler(p, jobs=1)
    threads: list[str] = []

    def cycle(
        config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
    ) -> InstanceRun:
        threads.append(threading.current_thread().name)
        gated.gate(instance).set()
        return gated(config, instance, runtime, audit, hint)

    s.cycle = cycle
    s.step()
    assert [c[0] for c in gated.calls] == ["zendesk", "jira"]
    assert threads == [threading.current_thread().name] * 2
    assert gated.most == 1


def test_stop_lets_the_cycles_in_flight_end_then_run_returns(p: Platforms) -> None:
    s, gated, _ = scheduler(p, jobs=2)
    order: list[str] = []
    settling, settle = threading.Event(), s.settle

    def waits_for_cycles() -> None:
        order.append(f"settling with {gated.in_flight} in flight")
        settling.set()
        settle()

    def serve() -> None:
        s.run()
        order.append("returned")

    s.settle = waits_for_cycles  # type: ignore[method-assign]
    runner = threading.Thread(target=serve)
    runner.start()
    assert gated.began("zendesk").wait(WAIT) and gated.began("jira").wait(WAIT)
    s.stop()
    assert s.runtime.stop.is_set()
    assert settling.wait(WAIT)  # run() left its loop, and waits for the cycles in flight
    for name in ("zendesk", "jira"):
        order.append(f"{name} released")
        gated.gate(name).set()
    runner.join(WAIT)
    assert not runner.is_alive()
    assert order == [
        "settling with 2 in flight",
        "zendesk released",
        "jira released",
        "returned",
    ]
    assert len(gated.calls) == 2  # nothing started after stop


def test_real_cycles_side_by_side_write_both_instances(p: Platforms) -> None:
    """The service (`served`: the real app and cycles, the emulated platforms) with
    `run.jobs: 2`: the start's sweeps and the webhooks' cycles of both instances run on their
    own threads, and each writes its ticket once."""
    config = with_serve(p.config(jobs=2), p.tmp, debounce="1s", interval="1h")
    with served(config, p.time) as s:
        s.step()
        s.service.scheduler.settle()
        tid, key = p.p1(1)[0], p.p1(1, "jira")[0]
        assert s.post("/webhooks/zendesk/zendesk", zendesk_delivery(tid, p.time.now)).ok
        assert s.post("/webhooks/jira/jira", jira_delivery(key, p.time.now)).ok
        p.time.now += 1
        s.step()
        s.service.scheduler.settle()
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
        assert jira_level(p, key) == "L2"
        for name in ("zendesk", "jira"):
            cycles = s.metric(
                "escalation_serve_cycles_total", instance=name, reason="webhook", outcome="ok"
            )
            assert cycles == 1
