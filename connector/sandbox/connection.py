"""The real adapters on the sandbox's platforms, over HTTP, as `escalate run` uses them: seeding
writes each past connector run through them (so tracking values and comments are exactly what
a real run leaves), and the demo and tests read the tickets through them, as a run sees them.
They keep no state (no state directory): seeding never touches a journal or a cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.protocol import Syncing
from adapters.registry import platform
from adapters.results import WriteStatus
from connector.config import Config
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange

Clock = Callable[[], float]


def _idle(seconds: float) -> None:
    """The sandbox's platforms never ask a seeding run to wait."""


def connect(config: Config, instance: str, clock: Clock) -> Syncing:
    """The adapter `escalate run` would build for `instance`, without a state directory."""
    settings = config.instances[instance]
    adapter = platform(settings.platform).build(
        instance, settings, config.policy, clock=clock, sleep=_idle, state_dir=None
    )
    adapter.fields()
    return adapter


def read_tickets(config: Config, instance: str, clock: Clock, now: datetime) -> list[Ticket]:
    """Every ticket in the instance's scope, with the history the policy needs at `now`."""
    adapter = connect(config, instance, clock)
    try:
        return list(adapter.fetch(needs(config.policy), now))
    finally:
        adapter.close()


class PastRuns:
    """Connector runs in the past: at the clock's instant, one ticket re-read, evaluated and
    written through the real adapter."""

    def __init__(self, config: Config, instance: str, clock: Clock) -> None:
        self.policy, self.clock = config.policy, clock
        self.adapter = connect(config, instance, clock)

    def run(self, ticket: str, now: datetime) -> None:
        def evaluate(fresh: Ticket) -> TicketChange | None:
            return evaluate_ticket(self.policy, fresh, now).change

        change = evaluate(self.adapter.reread(ticket))
        if change is None:
            return
        for result in self.adapter.write([change], evaluate):
            if result.status is not WriteStatus.APPLIED or result.comment_dropped:
                raise RuntimeError(f"sandbox seeding: {ticket}: {result.message}")

    def close(self) -> None:
        self.adapter.close()
