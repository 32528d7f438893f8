"""Public replies on Zendesk: sent as safe comment-only updates, recognised once they landed,
and the replies an earlier run owed (`adapters.owed`) settled at the next run (`pay`).

A reply is the one thing that takes a second update (Zendesk takes one comment per update):
`send` puts it as a safe update on the `updated_at` its change left, so it can land once only.
A reply that may have landed, or that met a 409, is looked for among the ticket's newest
comments (`landed`: public, by us, with its text, created since) after reading the ticket's
current stamp, and sent once more, on that stamp, only if it is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.base import WriteResult, WriteStatus
from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    Rejected,
    TransientError,
)
from adapters.http import Clock, maybe_landed
from adapters.owed import Journal, Owed
from adapters.zendesk.client import SHOW_MANY, Client, chunks
from adapters.zendesk.fields import FieldMap
from adapters.zendesk.mapping import as_int, field_values, parse_time

Json = dict[str, Any]
#: What one PUT did: ("ok" | "conflict" | "uncertain" | "gone" | "failed", the error, and the
#: ticket's new `updated_at` when it went in).
Sent = tuple[str, AdapterError | None, str | None]


def put(client: Client, tid: int, body: Json) -> Sent:
    """One PUT. Only a write that cannot have landed was retried below (a 429, a connection
    never made), so a 409 is someone else's edit, never our own earlier attempt."""
    try:
        return "ok", None, client.update(tid, body)
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


class Replies:
    def __init__(
        self,
        client: Client,
        fields: Callable[[], FieldMap],
        me: Callable[[], int | None],
        clock: Clock,
        journal: Journal,
    ) -> None:
        self.client, self.fields, self.me, self.clock = client, fields, me, clock
        self.journal = journal

    def send(self, tid: int, body: Json, stamp: str | None) -> AdapterError | None:
        """One safe comment-only update, tried once more after a 409 or an uncertain answer
        unless the reply is found to have landed; the error if it did not go in."""
        error: AdapterError | None = None
        since = self.clock()
        try:
            for _ in range(2):
                stamp = stamp or self.stamp_of(tid)
                reply = {**body, "safe_update": True, "updated_stamp": stamp}
                kind, error, _ = put(self.client, tid, reply)
                if kind == "ok":
                    return None
                if kind not in ("conflict", "uncertain"):
                    break
                # It may have landed, or someone updated the ticket meanwhile. The stamp is read
                # before the comments: a reply landing after that read moves it, so the reply
                # sent again on it is refused rather than posted twice.
                stamp = self.stamp_of(tid)
                if self.landed(tid, body, since):
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
        state = text_of(field_values(raw).get(field)) if field else ""
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
            landed = self.landed(tid, item.body, item.at)
        except AuthError:
            raise
        except AdapterError as exc:
            return _owed_failed(item, exc)
        if landed:
            self.journal.paid([item.key])
            return WriteResult(item.ticket, WriteStatus.APPLIED, "the owed public reply had landed")
        error = self.send(tid, item.body, str(raw.get("updated_at") or "") or None)
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

    def stamps(self, ids: Sequence[int]) -> tuple[dict[int, str], str]:
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

    def stamp_of(self, tid: int) -> str:
        return str(self.client.ticket(tid).get("updated_at") or "")

    def landed(self, tid: int, body: Json, since: float) -> bool:
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


_WHY = {
    "superseded": "the ticket was escalated again since",
    "expired": "it is more than 24 hours old",
    "someone else": "it was owed by another Zendesk user than the one signed in now",
}
#: How far a comment's `created_at` may be before this host's clock at the moment the reply
#: was sent (clock skew), and still be that reply.
SKEW_SECONDS = 600.0


def _words(text: str) -> list[str]:
    """Text compared as its words, without the Markdown escapes we add (Zendesk may return
    the body as sent, or without them in `plain_body`)."""
    return text.replace("\\", "").split()


def text_of(value: object) -> str:
    return "" if value is None else str(value).strip()


def _owed_failed(item: Owed, exc: AdapterError) -> WriteResult:
    message = f"the public reply an earlier run owed is still owed: {exc}"
    return WriteResult(
        item.ticket, WriteStatus.FAILED, message, comment_dropped=True, comment_owed=True, error=exc
    )
