"""What runs when: per instance, a cycle every `interval`, a full sweep every `run.full_sweep` (and
first of all), and a cycle `debounce` after webhooks named its tickets. One cycle at a time, in
the configuration's order; hints that come during a cycle wait for the next.

The clock and the wait are injected: tests call `step()` on a fake clock, the service loops in
`run()`. `stop()` (SIGTERM) lets the cycle in flight finish its write batch in flight (the
runtime's `stop` flag: nothing more is read or started), then `run()` returns.
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
        while not self.shared.stopping.is_set():
            wake = self.step()
            delay = wake - self.runtime.clock()
            if delay > 0 and not self.shared.stopping.is_set():
                self.waiter.wait(delay)

    def step(self) -> float:
        """Run every cycle due now; when the next one is due."""
        for name in self.shared.names():
            if self.shared.stopping.is_set():
                break
            hint, taken = self._due(name, self.runtime.clock())
            if hint is not None:
                self._run(name, hint, taken)
        return self.next_wake()

    def next_wake(self) -> float:
        names = self.shared.names()
        if self.shared.stopping.is_set() or any(n in self.forced for n in names):
            return self.runtime.clock()
        times = [self.next_tick.get(n, 0.0) for n in names]
        times += [self.next_full.get(n, 0.0) for n in names]
        hinted = self.shared.hints.next_due(self.shared.config.serve.debounce)
        if hinted is not None:
            times.append(hinted)
        return min(times, default=self.runtime.clock() + self.shared.config.serve.interval)

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
        if taken is not None:
            return Hint("webhook", taken.tickets), taken
        if now >= self.next_tick.get(name, 0.0):
            return Hint("tick"), None
        return None, None

    def _run(self, name: str, hint: Hint, taken: Taken | None) -> None:
        config, rt, telemetry = self.shared.config, self.runtime, self.shared.telemetry
        started = rt.clock()
        serve = config.serve
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
