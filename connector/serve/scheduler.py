"""What runs when: per instance, a cycle every `interval`, a full sweep every `run.full_sweep` (and
first of all), and a cycle `debounce` after webhooks named its tickets. Cycles of different
instances run side by side, up to `run.jobs` at once (each on its own thread, started in the
configuration's order; `run.jobs: 1`: one after the other, on the scheduler's thread); an
instance has one cycle at a time, and hints that come during its cycle wait for the next.

The clock and the wait are injected: tests call `step()` on a fake clock (then `settle()` to
wait for the cycles it started), the service loops in `run()`. `stop()` (SIGTERM) lets the
cycles in flight finish their write batch in flight (the runtime's `stop` flag: nothing more is
read or started), then `run()` returns once they have.
"""

from __future__ import annotations

import threading
import uuid

import structlog

from connector.audit import AuditLog
from connector.commands.common import finish
from connector.config import Config
from connector.metrics import succeeded
from connector.report import InstanceRun, RunOutcome, exit_code
from connector.runner import Runtime
from connector.serve.cycle import Cycle, Hint, Reason, incremental
from connector.serve.hints import Taken
from connector.serve.shared import Shared

log = structlog.get_logger("connector.serve")
RETRY = 1.0  # seconds before a cycle that found the instance's lock held is tried again


class Waiter:
    """Waits until a deadline or a wake-up (a webhook, a signal)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, seconds: float) -> None:
        self._event.wait(seconds)
        self._event.clear()

    def wake(self) -> None:
        self._event.set()


class Scheduler:
    def __init__(
        self,
        shared: Shared,
        runtime: Runtime,
        cycle: Cycle = incremental,
        waiter: Waiter | None = None,
    ) -> None:
        self.shared, self.runtime, self.cycle = shared, runtime, cycle
        self.waiter = waiter or Waiter()
        self.next_tick: dict[str, float] = {}
        self.next_full: dict[str, float] = {}
        self.forced: dict[str, Reason] = {name: "start" for name in shared.names()}
        self._lock = threading.Lock()
        self._busy: dict[str, threading.Thread] = {}  # instance -> its cycle in flight
        self._failed: list[BaseException] = []  # what a cycle's thread raised (a bug)

    def stop(self) -> None:
        self.shared.stopping.set()
        self.runtime.stop.set()  # the cycle in flight: no further read or write batch
        self.waiter.wake()

    def reload(self, config: Config) -> None:
        """Use `config` from the next cycle on; a changed policy makes that a full sweep."""
        with self._lock:
            old = self.shared.config
            self.shared.config = config
            for name in self.shared.names():
                if config.policy.hash != old.policy.hash or name not in old.instances:
                    self.forced[name] = "reload"
        self.shared.telemetry.policy_in_force(config.policy.hash)
        self.waiter.wake()

    def run(self) -> None:
        try:
            while not self.shared.stopping.is_set():
                wake = self.step()
                delay = wake - self.runtime.clock()
                if delay > 0 and not self.shared.stopping.is_set():
                    self.waiter.wait(delay)
        finally:
            self.settle()

    def step(self) -> float:
        """Start every cycle due now (up to `run.jobs` in flight); when the next one is due."""
        self._raise_failed()
        jobs = self.shared.config.run.jobs
        for name in self.shared.names():
            if self.shared.stopping.is_set():
                break
            with self._lock:
                if name in self._busy:
                    continue
                if jobs > 1 and len(self._busy) >= jobs:
                    break
            hint, taken = self._due(name, self.runtime.clock())
            if hint is None:
                continue
            if jobs <= 1:
                self._run(name, hint, taken)
            else:
                self._start(name, hint, taken)
        return self.next_wake()

    def settle(self) -> None:
        """Wait for the cycles in flight to end (raises what one of their threads raised)."""
        while True:
            with self._lock:
                threads = list(self._busy.values())
            if not threads:
                break
            for thread in threads:
                thread.join()
        self._raise_failed()

    def next_wake(self) -> float:
        """When a cycle is next due among the instances that can start one (an instance with a
        cycle in flight, or all when `run.jobs` are in flight, wait for a cycle to end, which
        wakes the waiter)."""
        config, now = self.shared.config, self.runtime.clock()
        with self._lock:
            busy = set(self._busy)
        names = [n for n in self.shared.names() if n not in busy]
        idle = now + config.serve.interval
        if config.run.jobs > 1 and len(busy) >= config.run.jobs:
            return idle
        if self.shared.stopping.is_set() or any(n in self.forced for n in names):
            return now
        times = [self.next_tick.get(n, 0.0) for n in names]
        times += [self.next_full.get(n, 0.0) for n in names]
        hinted = self.shared.hints.next_due(config.serve.debounce, names)
        if hinted is not None:
            times.append(hinted)
        return min(times, default=idle)

    def _start(self, name: str, hint: Hint, taken: Taken | None) -> None:
        def work() -> None:
            try:
                self._run(name, hint, taken)
            except BaseException as exc:  # a bug: the service stops, as it would with jobs 1
                with self._lock:
                    self._failed.append(exc)
            finally:
                with self._lock:
                    del self._busy[name]
                self.waiter.wake()

        thread = threading.Thread(target=work, name=f"cycle-{name}", daemon=True)
        with self._lock:
            self._busy[name] = thread
        thread.start()

    def _raise_failed(self) -> None:
        with self._lock:
            failed = self._failed[:1]
            self._failed.clear()
        if failed:
            raise failed[0]

    def _due(self, name: str, now: float) -> tuple[Hint | None, Taken | None]:
        hints, debounce = self.shared.hints, self.shared.config.serve.debounce
        with self._lock:
            forced = self.forced.pop(name, None)
        if forced is not None or now >= self.next_full.get(name, 0.0):
            taken = hints.drop(name)  # the sweep reads every ticket, the named ones too
            tickets = taken.tickets if taken else frozenset()
            return Hint(forced or "full_sweep", tickets, full=True), taken
        taken = hints.take(name, now, debounce)
        if taken is not None and taken.overflow:
            return Hint("overflow", taken.tickets, full=True), taken
        ticked = now >= self.next_tick.get(name, 0.0)
        if taken is not None:  # it searches for what changed when the interval has come too
            return Hint("webhook", taken.tickets, search=ticked), taken
        if ticked:
            return Hint("tick"), None
        return None, None

    def _run(self, name: str, hint: Hint, taken: Taken | None) -> None:
        config, rt, telemetry = self.shared.config, self.runtime, self.shared.telemetry
        started = rt.clock()
        serve = config.serve
        if hint.search or hint.full:  # a cycle only webhooks prompted leaves the interval's
            self.next_tick[name] = started + serve.interval
        if hint.full:
            self.next_full[name] = started + config.run.full_sweep
        run = self._cycle(config, name, hint)
        ended = rt.clock()
        telemetry.cycle(run, hint.reason)
        if taken is not None and run.outcome is RunOutcome.LOCKED:
            self._again(name, hint, ended)  # another replica is mid-cycle: try again soon
        elif taken is not None:
            telemetry.lateness.labels(name).observe(max(0.0, ended - taken.since))
        telemetry.waiting.labels(name).set(self.shared.hints.waiting().get(name, 0))
        if run.outcome in (RunOutcome.OK, RunOutcome.LOCKED):
            self.shared.succeeded.set()
            telemetry.ready.set(1)
        if run.outcome is RunOutcome.OK and succeeded(run):
            telemetry.last_success.labels(name).set(ended)
        log.info(
            "cycle_finished",
            instance=name,
            reason=hint.reason,
            hinted=len(hint.tickets),
            full=hint.full,
            outcome=run.outcome.value,
            changes=len(run.changes),
            requests=run.requests,
            seconds=round(ended - started, 3),
        )

    def _again(self, name: str, hint: Hint, now: float) -> None:
        """A cycle that found the lock held (another replica is mid-cycle) is tried again
        `RETRY` seconds later: its hinted tickets wait again, a full sweep stays owed."""
        if hint.full:
            self.next_full[name] = now + RETRY
            return
        at = now + max(0.0, RETRY - self.shared.config.serve.debounce)
        for ticket in hint.tickets:
            self.shared.hints.mark(name, ticket, at)

    def _cycle(self, config: Config, name: str, hint: Hint) -> InstanceRun:
        """The cycle under its own audit run id; what stops it becomes its outcome."""
        rt = self.runtime
        platform = config.instances[name].platform
        try:
            sink = rt.state(config).audit()
            audit = AuditLog(config.audit_log, uuid.uuid4().hex[:12], rt.clock, sink)
        except Exception as exc:  # the state store or the audit log is unusable: try later
            log.error("cycle_not_started", instance=name, error=str(exc))
            return InstanceRun(name, platform, outcome=RunOutcome.ABORTED, error=str(exc))
        audit.event(
            "run_started",
            command="serve",
            config=config.path,
            policy_hash=config.policy.hash,
            instances=[name],
            reason=hint.reason,
            hinted=sorted(hint.tickets),
            full=hint.full,
        )
        try:
            run = self.cycle(config, name, rt, audit, hint)
        except KeyboardInterrupt:  # stopped (SIGTERM) while it read: nothing was written
            run = InstanceRun(name, platform, outcome=RunOutcome.ABORTED, error="stopped")
        except Exception as exc:  # the state store went away, or a bug: the service goes on
            log.exception("cycle_crashed", instance=name)
            run = InstanceRun(name, platform, outcome=RunOutcome.ABORTED, error=str(exc))
        try:
            finish(config, rt, [run], audit, exit_code([run]))
        finally:
            audit.close()
        return run
