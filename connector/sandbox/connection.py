"""The real adapters on the sandbox's platforms, as `escalate run` uses them, with the emulator
under their transport in process (`emulators.transport`: no socket, everything above it real):
seeding writes each past connector run through them (so tracking values and comments are
exactly what a real run leaves), and the demo and tests read the tickets through them, as a
run sees them.
Seeding keeps no state (no state directory): it never touches a journal or a cache. Reads keep
the history cache a run keeps, in a state directory of their own (`view`), so reading the same
tickets again costs what a second run costs: the histories of the tickets updated since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from requests.adapters import BaseAdapter

from adapters.package import Wiring
from adapters.protocol import Syncing
from adapters.registry import platform
from adapters.results import WriteStatus
from connector.audit import AuditLog
from connector.config import Config
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange

Clock = Callable[[], float]


def _idle(seconds: float) -> None:
    """The sandbox's platforms never ask a seeding run to wait."""


def connect(
    config: Config, instance: str, under: BaseAdapter, clock: Clock, view: Path | None = None
) -> Syncing:
    """The adapter `escalate run` would build for `instance`, over the transport `under`,
    keeping its state in `view`."""
    settings = config.instances[instance]
    wiring = Wiring(clock, _idle, state_dir=view, transport=under)
    adapter = platform(settings.platform).build(instance, settings, config.policy, wiring)
    adapter.fields()
    return adapter


def read_tickets(
    config: Config, instance: str, under: BaseAdapter, clock: Clock, now: datetime, view: Path
) -> list[Ticket]:
    """Every ticket in the instance's scope, with the history the policy needs at `now`."""
    adapter = connect(config, instance, under, clock, view)
    try:
        return list(adapter.fetch(needs(config.policy), now))
    finally:
        adapter.close()


class PastRuns:
    """Connector runs in the past: at the clock's instant, one ticket re-read, evaluated and
    written through the real adapter; with `audit`, the decision and the write are logged as a
    run logs them (at the clock's instant), so `escalate report` has a past to show."""

    def __init__(
        self,
        config: Config,
        instance: str,
        under: BaseAdapter,
        clock: Clock,
        audit: AuditLog | None = None,
    ) -> None:
        self.policy, self.clock, self.instance, self.audit = config.policy, clock, instance, audit
        self.adapter = connect(config, instance, under, clock)

    def run(self, ticket: str, now: datetime) -> None:
        def evaluate(fresh: Ticket) -> TicketChange | None:
            return evaluate_ticket(self.policy, fresh, now).change

        change = evaluate(self.adapter.reread(ticket))
        if change is None:
            return
        if self.audit is not None:
            self.audit.decision(change, dry_run=False)
        for result in self.adapter.write([change], evaluate):
            if result.status is not WriteStatus.APPLIED or result.comment_dropped:
                raise RuntimeError(f"sandbox seeding: {ticket}: {result.message}")
            if self.audit is not None:
                self.audit.outcome(self.instance, result)

    def close(self) -> None:
        self.adapter.close()
