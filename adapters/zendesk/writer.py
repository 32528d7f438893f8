"""Writing: one safe `PUT` per change, or `update_many` jobs above the batch threshold (run
side by side and polled together: `jobs`).

Every write carries `safe_update` with the ticket's `updated_at` as read, so an agent's edit made
since the read is never overwritten: Zendesk answers 409 (a job reports the item as failed), the
ticket is re-read, `reevaluate` says what to write now, and that is written once.

A write that timed out or answered 5xx (or a job that did not finish) may have landed: it is
never re-sent blind. It is re-read before anything else: if the tracking fields already hold what
the change wrote, it landed, and only the public reply it still owed is sent.

The reply is the one thing that takes a second update (Zendesk takes one comment per update):
it is sent after the change, once (`replies`). It is written to the owed-comment journal
(`adapters.owed`) before the change is sent, and removed only once the write went in whole
(or was refused, or the ticket is gone): a reply that failed for good, or that a killed process
never sent, goes out at the next run (`Replies.pay`).
Replies sent in jobs carry `safe_update` on the `updated_at` the change left (re-read, one
request per 100), so a job that runs late can never post a reply the next run sent meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from adapters.base import Reevaluate, WriteResult, WriteStatus
from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    Rejected,
)
from adapters.http import Clock, Sleeper, maybe_landed
from adapters.owed import Journal, Owed, superseded
from adapters.zendesk.client import Client
from adapters.zendesk.fields import FieldMap
from adapters.zendesk.jobs import Jobs
from adapters.zendesk.mapping import field_values
from adapters.zendesk.payload import reply_body
from adapters.zendesk.reader import Fresh
from adapters.zendesk.replies import Json, Replies, Sent, put, text_of
from rules.plan import TicketChange
from rules.tracking import format_time

Body = Callable[[TicketChange, str | None], Json]
Refresh = Callable[[Sequence[int]], dict[int, Fresh]]


def _result(change: TicketChange, status: WriteStatus, message: str = "", **kw: Any) -> WriteResult:
    return WriteResult(change.ticket, status, message, **kw)


def _failed(change: TicketChange, exc: AdapterError, rereads: int = 0) -> WriteResult:
    return _result(change, WriteStatus.FAILED, str(exc), error=exc, rereads=rereads)


class Writer:
    def __init__(
        self,
        client: Client,
        body: Body,
        fresh: Refresh,
        fields: Callable[[], FieldMap],
        me: Callable[[], int | None],
        sleep: Sleeper,
        journal: Journal,
        clock: Clock,
        *,
        threshold: int,
        in_flight: int,
        poll_seconds: float,
        job_timeout: float,
    ) -> None:
        self.client, self.body, self.fresh = client, body, fresh
        self.fields, self.me = fields, me
        self.threshold, self.journal, self.clock = threshold, journal, clock
        self.jobs = Jobs(client, sleep, in_flight, poll_seconds, job_timeout)
        self.replies = Replies(client, fields, me, clock, journal)
        self._owing: dict[str, set[tuple[str, str]]] = {}  # journal keys per ticket, this run
        self._owing_lock = threading.Lock()

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        self._owe(changes)
        results = (
            self._batch(changes, reevaluate)
            if len(changes) > self.threshold
            else (self._single(change, reevaluate) for change in changes)
        )
        for result in results:
            yield self._settle(result)

    def _owe(self, changes: Iterable[TicketChange], stamp: str | None = None) -> None:
        """Journal the replies these changes will owe once they land (before sending them,
        as safe updates on `stamp`, or on the `updated_at` each change was planned on)."""
        items = [self._owed(c, b, stamp) for c in changes if (b := reply_body(c)) is not None]
        if self.journal.owe(items):
            with self._owing_lock:
                for item in items:
                    self._owing.setdefault(item.ticket, set()).add(item.key)

    def _settle(self, result: WriteResult) -> WriteResult:
        """Forget what this write owed only when it went in whole (or the ticket is gone, or
        the write was refused); mark it confirmed when the change went in and the reply did
        not. A write that went in also ends what earlier runs owed on the ticket."""
        with self._owing_lock:
            keys = self._owing.pop(result.ticket, set())
        whole = result.status is WriteStatus.APPLIED and not result.comment_dropped
        if whole or result.status is WriteStatus.SKIPPED or refused(result):
            self.journal.paid(keys)
        elif result.status is WriteStatus.APPLIED and result.written is not None:
            self.journal.confirm(_key(result.written))
        if result.status is WriteStatus.APPLIED and result.written is not None:
            return superseded(self.journal, result, keys, "public reply")
        return result

    # --- one change ------------------------------------------------------------------------

    def _put(self, change: TicketChange, stamp: str | None) -> Sent:
        try:
            body = self.body(change, stamp)
        except AuthError:
            raise
        except AdapterError as exc:
            return "failed", exc, None
        return put(self.client, int(change.ticket), body)

    def _single(self, change: TicketChange, reevaluate: Reevaluate) -> WriteResult:
        kind, error, stamp = self._put(change, None)
        if kind == "ok":
            applied = _result(change, WriteStatus.APPLIED, written=change)
            return self._reply(change, applied, stamp)
        if kind == "gone":
            return _result(change, WriteStatus.SKIPPED, str(error), error=error)
        if kind == "failed":
            assert error is not None
            return _failed(change, error)
        return self._recover(change, reevaluate, kind == "uncertain", error, None)

    def _recover(
        self,
        change: TicketChange,
        reevaluate: Reevaluate,
        uncertain: bool,
        error: AdapterError | None,
        fresh: Fresh | None,
    ) -> WriteResult:
        """Re-read, see whether our write landed, re-evaluate, and write what is left once."""
        tid = int(change.ticket)
        if fresh is None:
            try:
                fresh = self.fresh([tid]).get(tid)
            except AuthError:
                raise
            except AdapterError as exc:
                return _failed(change, exc, rereads=1)
        if fresh is None:
            return _result(change, WriteStatus.SKIPPED, "the ticket is gone", rereads=1)
        raw, ticket = fresh
        stamp = format_time(ticket.updated_at)
        landed = uncertain and self._landed(change, raw)
        base = _result(
            change, WriteStatus.APPLIED, "the write had landed", written=change, rereads=1
        )
        if landed:  # what is left (an agent's edit since, say) waits for the next run's read
            return self._reply(change, base, stamp)
        new = reevaluate(ticket)
        if new is None:
            why = f" ({error})" if error is not None else ""
            return _result(change, WriteStatus.UNCHANGED, f"nothing left to write{why}", rereads=1)
        self._owe([new], stamp)
        kind, again, after = self._put(new, stamp)
        if kind == "ok":
            applied = _result(change, WriteStatus.APPLIED, written=new, rereads=1)
            return self._reply(new, applied, after)
        if kind == "gone":
            return _result(change, WriteStatus.SKIPPED, str(again), error=again, rereads=1)
        assert again is not None
        reason = {
            "conflict": "changed again meanwhile; the next run re-reads it",
            "uncertain": "it may have landed; the next run reads whether it did",
        }.get(kind, "")
        return _result(
            change,
            WriteStatus.FAILED,
            f"{again}{'; ' + reason if reason else ''}",
            error=again,
            rereads=1,
        )

    def _landed(self, change: TicketChange, raw: Mapping[str, Any]) -> bool:
        """Do the ticket's tracking fields hold exactly what `change` wrote?"""
        ids = self.fields().tracking
        values = field_values(raw)
        compared = 0
        for name, diff in change.tracking.items():
            fid = ids.get(name)
            if fid is None:
                continue
            compared += 1
            if text_of(values.get(fid)) != text_of(diff.new):
                return False
        return compared > 0

    def _reply(self, change: TicketChange, result: WriteResult, stamp: str | None) -> WriteResult:
        """Send the public reply `change` still owes, on `stamp` (the ticket's `updated_at`
        after the change), at most once."""
        body = reply_body(change)
        if body is None:
            return result
        error = self.replies.send(int(change.ticket), body, stamp)
        if error is None:
            return result
        return _dropped(result, error, self.journal.active)

    def _owed(self, change: TicketChange, body: Json, stamp: str | None) -> Owed:
        text = change.public_reply.plain() if change.public_reply else ""
        me = self.me()
        who = "" if me is None else str(me)
        old = change.tracking.get("state")
        return Owed(
            change.ticket,
            "reply",
            body,
            text,
            _key(change)[1],
            who,
            self.clock(),
            old="" if old is None else text_of(old.old),
            sent=stamp or format_time(change.ticket_updated_at),
        )

    # --- many changes ------------------------------------------------------------------------

    def _batch(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        by_id: dict[int, TicketChange] = {}
        bodies: dict[int, Json] = {}
        for change in changes:
            try:
                bodies[int(change.ticket)] = self.body(change, None)
                by_id[int(change.ticket)] = change
            except AuthError:
                raise
            except AdapterError as exc:
                yield _failed(change, exc)
        outcomes = self.jobs.run(bodies)
        applied: dict[int, WriteResult] = {}
        again: dict[int, str] = {}
        for tid, (kind, text) in outcomes.items():
            change = by_id[tid]
            if kind == "ok":
                applied[tid] = _result(change, WriteStatus.APPLIED, written=change)
            elif kind == "gone":
                yield _result(change, WriteStatus.SKIPPED, text)
            elif kind == "failed":
                yield _failed(change, Rejected(f"ticket {tid}: update_many refused it: {text}"))
            else:
                again[tid] = kind
        yield from self._replies(applied, by_id)
        if again:
            try:
                fresh = self.fresh(list(again))
            except AuthError:
                raise
            except AdapterError as exc:
                for tid in again:
                    yield _failed(by_id[tid], exc, rereads=1)
                return
            for tid, kind in again.items():
                found = fresh.get(tid)
                if found is None:
                    yield _result(by_id[tid], WriteStatus.SKIPPED, "the ticket is gone", rereads=1)
                    continue
                error = Conflict(f"ticket {tid}: changed meanwhile") if kind == "conflict" else None
                yield self._recover(by_id[tid], reevaluate, kind == "unknown", error, found)

    def _replies(
        self, applied: dict[int, WriteResult], by_id: Mapping[int, TicketChange]
    ) -> Iterator[WriteResult]:
        """The public replies of applied changes, in jobs of their own (after every change job:
        only a change that went in owes its reply)."""
        bodies = {tid: b for tid in applied if (b := reply_body(by_id[tid])) is not None}
        stamps, unread = self.replies.stamps(list(bodies))
        started = self.clock()
        outcomes = self.jobs.run(
            {
                tid: {**body, "safe_update": True, "updated_stamp": stamps[tid]}
                for tid, body in bodies.items()
                if tid in stamps
            }
        )
        for tid in bodies:
            if tid not in stamps:
                outcomes[tid] = ("failed", f"not sent: the ticket could not be re-read ({unread})")
        for tid, body in bodies.items():
            kind, text = outcomes.get(tid, ("ok", ""))
            if kind == "unknown":  # the job may have run, or may still: look, never re-send
                try:
                    kind = "ok" if self.replies.landed(tid, body, started) else kind
                except AuthError:
                    raise
                except AdapterError as exc:
                    text = f"{text}; {exc}"
            outcomes[tid] = (kind, text)
        for tid, result in applied.items():
            kind, text = outcomes.get(tid, ("ok", ""))
            if kind == "ok":
                yield result
            else:
                error = AdapterError(f"ticket {tid}: public reply failed: {text}")
                yield _dropped(result, error, self.journal.active)


def refused(result: WriteResult) -> bool:
    """The write provably did not land: refused on its first and only request."""
    error = result.error
    definite = isinstance(error, AdapterError) and not maybe_landed(error)
    return result.status is WriteStatus.FAILED and result.rereads == 0 and definite


def _key(change: TicketChange) -> tuple[str, str]:
    """The journal key of what `change` owes: its ticket and the `state` value it writes."""
    state = change.tracking.get("state")
    return (change.ticket, "" if state is None else text_of(state.new))


def _dropped(result: WriteResult, exc: AdapterError, owed: bool) -> WriteResult:
    later = "; it is owed: the next run sends it" if owed else ""
    return replace(
        result,
        comment_dropped=True,
        comment_owed=owed,
        message=f"the change went in but the public reply did not: {exc}{later}",
        error=exc,
    )
