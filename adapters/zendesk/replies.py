"""Public replies on Zendesk, the second comment of a change: sent as safe comment-only
updates, and recognised once they landed.

A reply is the one thing that takes a second update (Zendesk takes one comment per update):
`send` puts it as a safe update on the `updated_at` its change left, so it can land once only.
A reply that may have landed, or that met a 409, is looked for among the ticket's newest
comments (`landed`: public, by us, with its text, created since) after reading the ticket's
current stamp, and sent once more, on that stamp, only if it is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.errors import AdapterError, AuthError, SetupError
from adapters.http import Clock
from adapters.outcomes import Conflicted, Sent, Uncertain, classify
from adapters.zendesk.client import SHOW_MANY, Client, chunks
from adapters.zendesk.mapping import as_int, parse_time

Json = dict[str, Any]


class Replies:
    def __init__(self, client: Client, me: Callable[[], int | None], clock: Clock) -> None:
        self.client, self.me, self.clock = client, me, clock

    def send(self, tid: int, body: Json, stamp: str | None) -> AdapterError | None:
        """One safe comment-only update, tried once more after a 409 or an uncertain answer
        unless the reply is found to have landed; the error if it did not go in."""
        error: AdapterError | None = None
        since = self.clock()
        try:
            for _ in range(2):
                stamp = stamp or self.stamp_of(tid)
                reply = {**body, "safe_update": True, "updated_stamp": stamp}
                outcome = classify(lambda: self.client.update(tid, reply))  # noqa: B023
                if isinstance(outcome, Sent):
                    return None
                error = outcome.error
                if not isinstance(outcome, Conflicted | Uncertain):
                    break
                # It may have landed, or someone updated the ticket meanwhile. The stamp is read
                # before the comments: a reply landing after that read moves it, so the reply
                # sent again on it is refused rather than posted twice.
                stamp = self.stamp_of(tid)
                if self.landed(tid, body, since):
                    return None
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:  # the stamp or the comments could not be read
            error = exc
        assert error is not None
        return error

    def stamps(self, ids: Sequence[int]) -> tuple[dict[int, str], str]:
        """Each ticket's `updated_at` now (one request per 100), and why some are missing."""
        stamps: dict[int, str] = {}
        problem = "gone"
        for batch in chunks(list(ids), SHOW_MANY):
            try:
                page = self.client.show_many(batch, None)
            except (AuthError, SetupError):
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


#: How far a comment's `created_at` may be before this host's clock at the moment the reply
#: was sent (clock skew), and still be that reply.
SKEW_SECONDS = 600.0


def _words(text: str) -> list[str]:
    """Text compared as its words, without the Markdown escapes we add (Zendesk may return
    the body as sent, or without them in `plain_body`)."""
    return text.replace("\\", "").split()
