"""A run's notices (notify/): recorded once their change is on the ticket, then sent when due.

Before the writes of `run` (and `apply`), every change's notices are kept as "planned"; a
planned notice is never sent. After the writes:
1. each change written makes its notices due (each id once);
2. a de-escalation resolves the ticket's PagerDuty/JSM alerts above its new level; a ticket
   with an open alert that a full read no longer returned is re-read, and resolved if solved
   or gone (an incremental read leaves that to the next full sweep);
3. everything due is sent: this run's notices, deferred ones whose working hours came, and
   earlier failures (bounded by `notify.max_attempts`).

A run killed after a ticket write and before step 1 leaves that change's notices planned: the
next run reads the ticket, finds the `state` value the change wrote (`Landed`), and makes them
due. A change whose write failed leaves them planned too: the next run evaluates the ticket
again and plans the same notices (the same ids); a planned notice whose change never lands is
dropped after a day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import structlog

from adapters.errors import AdapterError, NotFound
from adapters.protocol import Adapter
from adapters.results import WriteStatus
from connector.audit import AuditLog
from connector.config import Config
from connector.report import InstanceRun
from notify.channels import Channel, open_channels
from notify.outbox import Outbox, Result, Status
from rules.model import Ticket
from rules.policy import Policy
from state import Store

log = structlog.get_logger("connector.notices")


def channels_of(config: Config) -> dict[str, Channel]:
    """The configured channels with their secrets read (ConfigError if one is missing)."""
    policy = config.policy
    settings = policy.model.notify
    base = Path(config.path).resolve().parent
    return open_channels(policy.channels, base, settings.timeout)


def open_outbox(
    config: Config, name: str, store: Store, clock: Callable[[], float], *, sending: bool = True
) -> Outbox | None:
    """The instance's outbox, or None when no channel is configured; without `sending` (a dry
    run) no channel is opened, so no secret is read: it can only list what waits."""
    if not config.policy.channels:
        return None
    settings = config.policy.model.notify
    return Outbox(
        store.notices(name),
        name,
        channels_of(config) if sending else {},
        clock,
        max_attempts=settings.max_attempts,
        concurrency=settings.concurrency,
    )


class Landed:
    """Notices an earlier run planned and never saw written (killed after its ticket write,
    or the write's fate unknown): a ticket read now whose `state` field holds the value that
    change wrote proves it landed, and its notices become due."""

    def __init__(self, outbox: Outbox | None) -> None:
        self.outbox = outbox
        self.markers = outbox.planned() if outbox is not None else {}
        self.found: list[str] = []

    def peek(self, ticket: Ticket) -> None:
        planned = self.markers.get(ticket.id)
        if planned:
            state = ticket.tracking.to_raw().get("state")
            self.found += [nid for nid, marker in planned if marker == state]

    def confirm(self) -> None:
        if self.outbox is not None and self.found:
            self.outbox.landed(self.found)


def after_writes(
    outbox: Outbox,
    adapter: Adapter,
    policy: Policy,
    run: InstanceRun,
    audit: AuditLog,
    seen: set[str] | None,
) -> None:
    """Steps 1 to 3 of the module docstring (`seen`: the tickets the fetch returned; None:
    there was no fetch, as for `apply`, and no alert of an unseen ticket is resolved)."""
    order = policy.level_index
    for result in run.results:
        change = result.written
        if result.status is not WriteStatus.APPLIED or change is None:
            continue
        outbox.record(change)
        to = order.get(change.level_to, 0)
        if to < order.get(change.level_from, 0):
            outbox.resolve(change.ticket, _at_or_below(order, to))
    if seen is not None:
        _resolve_gone(outbox, adapter, run, seen | {r.ticket for r in run.results})
    run.notices = outbox.deliver()
    for r in run.notices:
        _said(run.name, r, audit)


def _at_or_below(order: dict[str, int], to: int) -> Callable[[str], bool]:
    return lambda level: order.get(level, 0) <= to


def _resolve_gone(outbox: Outbox, adapter: Adapter, run: InstanceRun, seen: set[str]) -> None:
    """The tickets with an open alert or a notice still to send that a full read no longer
    returned: re-read, and if solved or gone, their escalation is over (`Outbox.resolve`)."""
    for ticket in sorted((outbox.alerting() | outbox.waiting_on()) - seen):
        try:
            fresh = adapter.reread(ticket)
        except NotFound:
            outbox.resolve(ticket)
            continue
        except AdapterError as exc:
            run.warnings.append(f"ticket {ticket}: its alert stays open ({exc})")
            continue
        if fresh.status_category.done:
            outbox.resolve(ticket)


def _said(instance: str, r: Result, audit: AuditLog) -> None:
    audit.event("notice", instance=instance, **r.to_json())
    bad = r.status not in (Status.SENT,)
    (log.warning if bad else log.info)(
        "notice_" + r.status.value,
        instance=instance,
        ticket=r.ticket,
        channel=r.channel,
        attempts=r.attempts,
        detail=r.detail or None,
    )


def waiting(outbox: Outbox | None) -> list[dict[str, object]]:
    """Notices earlier runs left to send (deferred, or to retry), for plans and dry runs."""
    if outbox is None:
        return []
    out: list[dict[str, object]] = []
    for row in outbox.pending():
        out.append({"ticket": row[1], "channel": row[2], "key": row[3], "event": row[4],
                    "due": row[5], "status": row[6], "attempts": row[7]})  # fmt: skip
    return out


def counts(results: Iterable[Result]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.status.value] = out.get(r.status.value, 0) + 1
    return out
