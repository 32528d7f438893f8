"""The seam a service cycle runs through: one instance, one cycle, with what prompted it.

`Cycle` is what the scheduler calls. `incremental` (the default) reads what changed or came
due and the hinted tickets (`connector.incremental`), and a full sweep when `hint.full` says so
or the run decides on its own (index missing or stale, policy changed, `run.full_sweep` old).
`full_run` reads every open ticket in scope every cycle (the hinted ones among them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from connector.audit import AuditLog
from connector.config import Config
from connector.incremental import run_incremental
from connector.report import InstanceRun
from connector.runner import Options, Runtime, run_instance

#: What prompted a cycle: the interval, a webhook, the full-sweep schedule, a queue that
#: overflowed, a configuration reloaded (a new policy), or the start of the service.
Reason = Literal["tick", "webhook", "full_sweep", "overflow", "reload", "start"]


@dataclass(frozen=True, slots=True)
class Hint:
    """The tickets webhooks named since the instance's last cycle, whether this cycle must
    be a full sweep (scheduled, at start, after a reload, or because hints overflowed), and
    whether it searches for what changed (False: only webhooks prompted it, not the interval;
    see `connector.due`)."""

    reason: Reason
    tickets: frozenset[str] = frozenset()
    full: bool = False
    search: bool = True


class Cycle(Protocol):
    def __call__(
        self, config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
    ) -> InstanceRun:
        """Run one cycle under the instance's lock (LOCKED when another process holds it) and
        say how it went; what stops the instance is its outcome, never an exception, except
        KeyboardInterrupt when `runtime.stop` is set while it reads."""
        ...


def full_run(
    config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
) -> InstanceRun:
    """`escalate run` for the instance, whatever the hint: every cycle is a full sweep."""
    options = Options(max_changes=config.run.max_changes, concurrency=config.run.concurrency)
    return run_instance(config, instance, runtime, audit, options)


def incremental(
    config: Config, instance: str, runtime: Runtime, audit: AuditLog, hint: Hint
) -> InstanceRun:
    """An incremental run: the hinted tickets, what changed or came due; a sweep when full."""
    return run_incremental(
        config, instance, runtime, hint.tickets, audit=audit, full=hint.full, search=hint.search
    )
