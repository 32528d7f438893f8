"""Writing: one safe `PUT` per change, or `update_many` jobs above the batch threshold (run
side by side and polled together: `jobs`).

Every write carries `safe_update` with the ticket's `updated_at` as read, so an agent's edit made
since the read is never overwritten: Zendesk answers 409 (a job reports the item as failed), the
ticket is re-read, `reevaluate` says what to write now, and that is written once.

A write that timed out or answered 5xx (or a job that did not finish) may have landed: it is
never re-sent blind. It is re-read before anything else: if the tracking fields already hold what
the change wrote, it landed, and only the public reply it still owed is sent.

The reply is the one thing that takes a second update (Zendesk takes one comment per update). It
is sent after the change, as a safe update on the `updated_at` the change left, so it can land
once only: a reply that may have landed, or that met a 409, is looked for among the ticket's
newest comments (after reading the ticket's current stamp), and sent once more, on that stamp,
only if it is not there. It is written to the owed-comment journal (`adapters.owed`) before the
change is sent, and removed only once the write went in whole (or the ticket is gone): a reply
that failed for good, or that a killed process never sent, goes out at the next run (`pay`).
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
    NotFound,
    PermissionDenied,
    Rejected,
    TransientError,
)
from adapters.http import Clock, Sleeper, maybe_landed
from adapters.owed import Journal, Owed, superseded
from adapters.zendesk.client import SHOW_MANY, Client, chunks
from adapters.zendesk.fields import FieldMap
from adapters.zendesk.jobs import Jobs
from adapters.zendesk.mapping import as_int, field_values, parse_time
from adapters.zendesk.payload import reply_body
from adapters.zendesk.reader import Fresh
from rules.plan import TicketChange
from rules.tracking import format_time

Json = dict[str, Any]
Body = Callable[[TicketChange, str | None], Json]
Refresh = Callable[[Sequence[int]], dict[int, Fresh]]
#: What one PUT did: ("ok" | "conflict" | "uncertain" | "gone" | "failed", the error, and the
#: ticket's new `updated_at` when it went in).
Sent = tuple[str, AdapterError | None, str | None]


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
        return self._send(int(change.ticket), body)

    def _send(self, tid: int, body: Json) -> Sent:
        """One PUT. Only a write that cannot have landed was retried below (a 429, a connection
        never made), so a 409 is someone else's edit, never our own earlier attempt."""
        try:
            return "ok", None, self.client.update(tid, body)
        except AuthError:
            raise
        except NotFound as exc:
            return "gone", exc, None
        except Conflict as exc:
            return "conflict", exc, None
        except TransientError as exc:
            return ("uncertain" if maybe_landed(exc) else "failed"), exc, None
        except AdapterError as exc:
            return "failed", exc, None

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
            if _text(values.get(fid)) != _text(diff.new):
                return False
        return compared > 0

    def _reply(self, change: TicketChange, result: WriteResult, stamp: str | None) -> WriteResult:
        """Send the public reply `change` still owes, on `stamp` (the ticket's `updated_at`
        after the change), at most once."""
        body = reply_body(change)
        if body is None:
            return result
        error = self._send_reply(int(change.ticket), body, stamp)
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
            old="" if old is None else _text(old.old),
            sent=stamp or format_time(change.ticket_updated_at),
        )

    def _send_reply(self, tid: int, body: Json, stamp: str | None) -> AdapterError | None:
        """One safe comment-only update, tried once more after a 409 or an uncertain answer
        unless the reply is found to have landed; the error if it did not go in."""
        error: AdapterError | None = None
        since = self.clock()
        try:
            for _ in range(2):
                stamp = stamp or self._stamp_of(tid)
                reply = {**body, "safe_update": True, "updated_stamp": stamp}
                kind, error, _ = self._send(tid, reply)
                if kind == "ok":
                    return None
                if kind not in ("conflict", "uncertain"):
                    break
                # It may have landed, or someone updated the ticket meanwhile. The stamp is read
                # before the comments: a reply landing after that read moves it, so the reply
                # sent again on it is refused rather than posted twice.
                stamp = self._stamp_of(tid)
                if self._reply_landed(tid, body, since):
                    return None
        except AuthError:
            raise
        except AdapterError as exc:  # the stamp or the comments could not be read
            error = exc
        assert error is not None
        return error

    def pay(self, item: Owed, siblings: set[str]) -> WriteResult | None:
        """Settle a reply an earlier run owed (see `adapters.owed`); None when nothing is owed
        (its change never landed) or it waits (its change may still land)."""
        tid, me = int(item.ticket), self.me()
        try:
            raw = self.client.ticket(tid)
        except AuthError:
            raise
        except NotFound:
            return self._give_up(item, "the ticket is gone")
        except AdapterError as exc:
            return _owed_failed(item, exc)
        field = self.fields().tracking.get("state")
        state = _text(field_values(raw).get(field)) if field else ""
        stamp = str(raw.get("updated_at") or "")
        verdict = self.journal.verdict(item, state, stamp, siblings)
        if verdict in ("forget", "wait"):
            if verdict == "forget":
                self.journal.paid([item.key])
            return None
        if verdict != "send":
            return self._give_up(item, _WHY[verdict])
        self.journal.confirm(item.key)
        if item.who and me is not None and item.who != str(me):
            return self._give_up(item, _WHY["someone else"])
        try:
            landed = self._reply_landed(tid, item.body, item.at)
        except AuthError:
            raise
        except AdapterError as exc:
            return _owed_failed(item, exc)
        if landed:
            self.journal.paid([item.key])
            return WriteResult(item.ticket, WriteStatus.APPLIED, "the owed public reply had landed")
        error = self._send_reply(tid, item.body, str(raw.get("updated_at") or "") or None)
        if error is not None:
            if isinstance(error, Rejected | PermissionDenied):
                return self._give_up(item, f"Zendesk refused it: {error}")
            return _owed_failed(item, error)
        self.journal.paid([item.key])
        message = "sent the public reply an earlier run owed"
        return WriteResult(item.ticket, WriteStatus.APPLIED, message)

    def _give_up(self, item: Owed, why: str) -> WriteResult:
        self.journal.paid([item.key])
        message = f"the public reply an earlier run owed is dropped: {why}"
        return WriteResult(item.ticket, WriteStatus.SKIPPED, message, comment_dropped=True)

    def _stamps(self, ids: Sequence[int]) -> tuple[dict[int, str], str]:
        """Each ticket's `updated_at` now (one request per 100), and why some are missing."""
        stamps: dict[int, str] = {}
        problem = "gone"
        for batch in chunks(list(ids), SHOW_MANY):
            try:
                page = self.client.show_many(batch, None)
            except AuthError:
                raise
            except AdapterError as exc:
                problem = str(exc)
                continue
            for raw in page.get("tickets") or []:
                tid, stamp = as_int(raw.get("id")), raw.get("updated_at")
                if tid is not None and isinstance(stamp, str):
                    stamps[tid] = stamp
        return stamps, problem

    def _stamp_of(self, tid: int) -> str:
        return str(self.client.ticket(tid).get("updated_at") or "")

    def _reply_landed(self, tid: int, body: Json, since: float) -> bool:
        """Is this reply among the ticket's newest comments: public, by us, with its text,
        created since `since` (less `SKEW_SECONDS` of clock skew)? Matching the text, not just
        the author, matters: the connector's account may be a person's, who also comments."""
        me, sent = self.me(), _words(str((body.get("comment") or {}).get("body") or ""))
        for comment in self.client.latest_comments(tid):
            at = parse_time(comment.get("created_at"))
            if at is not None and at.timestamp() < since - SKEW_SECONDS:
                break  # newest first: the rest are older still
            mine = as_int(comment.get("author_id")) == me and bool(comment.get("public"))
            texts = (_words(str(comment.get(k) or "")) for k in ("body", "plain_body"))
            if mine and sent in texts:
                return True
        return False

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
        stamps, unread = self._stamps(list(bodies))
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
                    kind = "ok" if self._reply_landed(tid, body, started) else kind
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


_WHY = {
    "superseded": "the ticket was escalated again since",
    "expired": "it is more than 24 hours old",
    "someone else": "it was owed by another Zendesk user than the one signed in now",
}
#: How far a comment's `created_at` may be before this host's clock at the moment the reply
#: was sent (clock skew), and still be that reply.
SKEW_SECONDS = 600.0


def refused(result: WriteResult) -> bool:
    """The write provably did not land: refused on its first and only request."""
    error = result.error
    definite = isinstance(error, AdapterError) and not maybe_landed(error)
    return result.status is WriteStatus.FAILED and result.rereads == 0 and definite


def _words(text: str) -> list[str]:
    """Text compared as its words, without the Markdown escapes we add (Zendesk may return
    the body as sent, or without them in `plain_body`)."""
    return text.replace("\\", "").split()


def _key(change: TicketChange) -> tuple[str, str]:
    """The journal key of what `change` owes: its ticket and the `state` value it writes."""
    state = change.tracking.get("state")
    return (change.ticket, "" if state is None else _text(state.new))


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _dropped(result: WriteResult, exc: AdapterError, owed: bool) -> WriteResult:
    later = "; it is owed: the next run sends it" if owed else ""
    return replace(
        result,
        comment_dropped=True,
        comment_owed=owed,
        message=f"the change went in but the public reply did not: {exc}{later}",
        error=exc,
    )


def _owed_failed(item: Owed, exc: AdapterError) -> WriteResult:
    message = f"the public reply an earlier run owed is still owed: {exc}"
    return WriteResult(
        item.ticket, WriteStatus.FAILED, message, comment_dropped=True, comment_owed=True, error=exc
    )
