"""The outbox: every notice kept once in the state store, sent when due, at most once.

A notice's id is a hash of (instance, ticket, level-or-rule key, channel, event), so however
often a change is evaluated, planned or re-run, the store holds it once (`record` inserts only
ids it lacks). Sending follows one order, each step committed before the next:

    due ──► sending (attempts + 1) ──► send ──► sent | failed (retried next run) | rejected
                                                     | gave_up (after max_attempts)

A process killed between "sending" and the outcome leaves the row "sending". The next run
cannot know whether the service got it. A channel whose service deduplicates (PagerDuty by
dedup_key, JSM by alias) is sent again: people are told once. Any other channel (Slack, Teams,
e-mail, webhook: no idempotency key the service honours) is not sent again: the row becomes
"unknown" and is reported, so a crash can lose such a notice but never doubles it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from adapters.secrets import mask
from notify.channels import Channel, Delivery
from notify.payloads import Outgoing, notice_id
from rules.markup import Rendered
from rules.plan import TicketChange
from state import NoticeRow, NoticeRows

RESOLVABLE = ("pagerduty", "jsm", "webhook")  # told when the escalation is over


class Status(StrEnum):
    PLANNED = "planned"  # its change is about to be written: not sent until it is on the ticket
    DROPPED = "dropped"  # planned, and its change never landed within a day
    DUE = "due"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # a transient failure: the next run tries again
    REJECTED = "rejected"  # the service refused it (400, 401, 403, 404, SMTP 5xx)
    GAVE_UP = "gave_up"  # max_attempts reached, or the channel is no longer configured
    UNKNOWN = "unknown"  # killed mid-send on a channel that cannot deduplicate: not resent


OPEN = (Status.DUE, Status.FAILED)
SETTLED = (Status.SENT, Status.REJECTED, Status.GAVE_UP, Status.UNKNOWN, Status.DROPPED)
KEPT_FOR = 30 * 24 * 3600.0  # a settled notice is forgotten this long after (but open alerts)


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one notice in this run (for the audit log, run output and report)."""

    id: str
    ticket: str
    channel: str
    key: str
    event: str
    status: Status
    attempts: int
    detail: str
    due: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket": self.ticket,
            "channel": self.channel,
            "key": self.key,
            "action": self.event,
            "status": self.status.value,
            "attempts": self.attempts,
            "detail": self.detail,
            "due": datetime.fromtimestamp(self.due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


PLANNED_FOR = 24 * 3600.0  # a planned notice whose change never landed is dropped after this


def rows_for(instance: str, change: TicketChange, now: float) -> list[NoticeRow]:
    """The store rows of a change's notices, "planned"; `marker`: the `state` tracking value
    the change writes, which tells a later run that the change landed."""
    state = change.tracking.get("state")
    marker = "" if state is None or state.new is None else str(state.new)
    rows: list[NoticeRow] = []
    for n in change.notices:
        body = {
            "instance": instance,
            "url": change.url,
            "level": n.level,
            "rule": n.rule,
            "priority": n.priority,
            "title": n.title.to_json(),
            "body": n.body.to_json(),
            "deferred": n.deferred,
            "marker": marker,
        }
        nid = notice_id(instance, change.ticket, n.key, n.channel)
        due = n.due.timestamp()
        rows.append(
            (nid, change.ticket, n.channel, n.key, "trigger", due, Status.PLANNED.value, 0,
             json.dumps(body), "", now, now)
        )  # fmt: skip
    return rows


def outgoing(row: NoticeRow) -> Outgoing:
    nid, ticket, channel, key, event, due, *_ = row
    body = json.loads(row[8])
    return Outgoing(
        id=nid,
        instance=str(body["instance"]),
        ticket=ticket,
        url=str(body.get("url") or ""),
        channel=channel,
        key=key,
        level=str(body["level"]),
        rule=str(body.get("rule") or ""),
        event=event,
        title=Rendered.from_json(body["title"]),
        body=Rendered.from_json(body["body"]),
        priority=body.get("priority"),
        due=datetime.fromtimestamp(due, UTC),
    )


class Outbox:
    """One instance's notices: `record` written changes, `resolve` on-call alerts that are
    over, `deliver` what is due. `channels`: the configured channels, opened."""

    def __init__(
        self,
        rows: NoticeRows,
        instance: str,
        channels: dict[str, Channel],
        clock: Callable[[], float],
        *,
        max_attempts: int = 5,
        concurrency: int = 4,
    ) -> None:
        self.rows, self.instance, self.channels, self.clock = rows, instance, channels, clock
        self.max_attempts, self.concurrency = max_attempts, concurrency

    def plan(self, changes: Iterable[TicketChange]) -> None:
        """Before the writes: the changes' notices, "planned" (sent only once their change is
        known to be on the ticket: `record` after the write, or `landed` by a later run)."""
        rows = [r for c in changes for r in rows_for(self.instance, c, self.clock())]
        self.rows.plan(rows)

    def record(self, change: TicketChange) -> None:
        """After a write went in: the written change's notices become due (each id once; a
        notice kept already, sent or not, stays as it is)."""
        if not change.notices:
            return
        rows = rows_for(self.instance, change, self.clock())
        self.rows.plan(rows)
        self.rows.confirm([r[0] for r in rows], self.clock())

    def planned(self) -> dict[str, list[tuple[str, str]]]:
        """Ticket -> (id, marker) of the notices whose change a run wrote, or tried to, and
        did not see go in (killed, or the write failed); old ones are dropped here."""
        out: dict[str, list[tuple[str, str]]] = {}
        now = self.clock()
        for row in self.rows.select([Status.PLANNED.value]):
            if now - row[10] > PLANNED_FOR:
                self.rows.mark(row[0], Status.DROPPED.value, row[7], "never landed", now)
                continue
            marker = str(json.loads(row[8]).get("marker") or "")
            if marker:
                out.setdefault(row[1], []).append((row[0], marker))
        return out

    def landed(self, ids: Sequence[str]) -> None:
        """Their change is on the ticket (its `state` field holds the marker): due now."""
        self.rows.confirm(list(ids), self.clock())

    def resolve(self, ticket: str, keep: Callable[[str], bool] = lambda level: False) -> int:
        """The escalation is over, except at levels `keep` says the ticket is still at or
        above (a de-escalation keeps the lower ones): its alerts sent to PagerDuty, JSM or a
        webhook are resolved, and its notices not sent yet (deferred, or to retry) dropped."""
        now = self.clock()
        for row in self.rows.select([s.value for s in OPEN], ticket=ticket):
            if row[4] == "trigger" and not keep(str(json.loads(row[8])["level"])):
                why = "the escalation was over before it was sent (de-escalated or solved)"
                self.rows.mark(row[0], Status.DROPPED.value, row[7], why, now)
        out: list[NoticeRow] = []
        for row in self.rows.select([Status.SENT.value], ticket=ticket):
            channel = self.channels.get(row[2])
            if row[4] != "trigger" or channel is None or channel.type not in RESOLVABLE:
                continue
            body = json.loads(row[8])
            if keep(str(body["level"])):
                continue
            nid = notice_id(self.instance, ticket, row[3], row[2], "resolve")
            out.append((nid, ticket, row[2], row[3], "resolve", now, Status.DUE.value, 0,
                        row[8], "", now, now))  # fmt: skip
        return self.rows.add(out) if out else 0

    def waiting_on(self) -> set[str]:
        """Tickets with a notice not sent yet (deferred, or to retry)."""
        return {row[1] for row in self.rows.select([s.value for s in OPEN]) if row[4] == "trigger"}

    def alerting(self) -> set[str]:
        """Tickets with an alert sent to PagerDuty, JSM or a webhook and not resolved."""
        sent = self.rows.select([Status.SENT.value, Status.DUE.value, Status.FAILED.value])
        open_: dict[tuple[str, str, str], bool] = {}
        for row in sent:
            channel = self.channels.get(row[2])
            if channel is None or channel.type not in RESOLVABLE:
                continue
            spot = (row[1], row[2], row[3])
            if row[4] == "resolve":
                open_[spot] = False
            elif row[6] == Status.SENT.value:
                open_.setdefault(spot, True)
        return {ticket for (ticket, _, _), alive in open_.items() if alive}

    def pending(self) -> list[NoticeRow]:
        """Notices still to send (due now or later), for plans and dry runs."""
        return self.rows.select([s.value for s in OPEN])

    def deliver(self) -> list[Result]:
        """Settle what a killed run left mid-send, then send every notice that is due."""
        results = self._settle(self.rows.select([Status.SENDING.value]))
        now = self.clock()
        due = [r for r in self.rows.select([s.value for s in OPEN]) if r[5] <= now]
        results += self._send_all(due)
        self.forget_settled()
        return results

    def forget_settled(self) -> int:
        """Forget notices settled more than KEPT_FOR ago, so the store (which every run
        reads) does not grow with all history; a sent alert whose resolve was not sent stays
        (it is still open). Their keys do not come back: a ticket's next escalation has
        another cycle or count. How many were forgotten."""
        cutoff = self.clock() - KEPT_FOR
        rows = self.rows.select([s.value for s in SETTLED])
        resolved = {
            (r[1], r[2], r[3]) for r in rows if r[4] == "resolve" and r[6] == Status.SENT.value
        }

        def still_open(r: NoticeRow) -> bool:
            channel = self.channels.get(r[2])
            alert = r[4] == "trigger" and r[6] == Status.SENT.value
            resolvable = channel is not None and channel.type in RESOLVABLE
            return alert and resolvable and (r[1], r[2], r[3]) not in resolved

        old = [r[0] for r in rows if r[11] < cutoff and not still_open(r)]
        self.rows.forget(old)
        return len(old)

    def _settle(self, stuck: Sequence[NoticeRow]) -> list[Result]:
        out: list[Result] = []
        for row in stuck:
            channel = self.channels.get(row[2])
            if channel is not None and channel.idempotent:
                continue  # sent again below, as due: the service deduplicates
            detail = "a run stopped while sending it: not sent again (the service has no"
            detail += " idempotency key); check the channel"
            out.append(self._mark(row, Status.UNKNOWN, row[7], detail))
        for row in stuck:
            channel = self.channels.get(row[2])
            if channel is not None and channel.idempotent:
                self.rows.mark(row[0], Status.DUE.value, row[7], row[9], self.clock())
        return out

    def _send_all(self, rows: Iterable[NoticeRow]) -> list[Result]:
        rows = list(rows)
        if not rows:
            return []
        gates = {name: threading.Semaphore(self.concurrency) for name in self.channels}
        workers = min(32, self.concurrency * max(1, len({r[2] for r in rows})))

        def one(row: NoticeRow) -> Result | None:
            channel = self.channels.get(row[2])
            if channel is None:
                return self._mark(row, Status.GAVE_UP, row[7], "the channel is not configured")
            with gates[row[2]]:
                return self._send(channel, row)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return [r for r in pool.map(one, rows) if r is not None]

    def _send(self, channel: Channel, row: NoticeRow) -> Result | None:
        """Send one notice it claims first (None: another run claimed it: never sent twice,
        even were two runs to hold the instance at once)."""
        attempts = row[7] + 1
        if not self.rows.claim(row[0], [s.value for s in OPEN], attempts, self.clock()):
            return None
        try:
            delivery = channel.send(outgoing(row))
        except Exception as exc:  # a bug in a payload: the notice fails, the run goes on
            delivery = Delivery(False, True, mask(f"{type(exc).__name__}: {exc}"))
        if delivery.ok:
            return self._mark(row, Status.SENT, attempts, delivery.detail)
        if not delivery.retry:
            return self._mark(row, Status.REJECTED, attempts, delivery.detail)
        if attempts >= self.max_attempts:
            return self._mark(row, Status.GAVE_UP, attempts, delivery.detail)
        return self._mark(row, Status.FAILED, attempts, delivery.detail)

    def _mark(self, row: NoticeRow, status: Status, attempts: int, detail: str) -> Result:
        self.rows.mark(row[0], status.value, attempts, detail, self.clock())
        return Result(row[0], row[1], row[2], row[3], row[4], status, attempts, detail, row[5])
