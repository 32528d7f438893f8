"""The in-memory platform's part of the write protocol (`adapters.writer`, `adapters.payment`):
one update per change, sent on the version the change was planned on or just re-read. A store
that takes one comment per update (as Zendesk) gets a change with a note and a reply in two
updates: the reply follows on the version the first left, once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.errors import AdapterError, AuthError, SetupError
from adapters.memory.read import Reader
from adapters.outcomes import Conflicted, Draft, Fresh, Outcome, Sent, Uncertain, classify
from adapters.owed import Journal, Owed
from adapters.payment import Peek
from adapters.writer import SecondComment, text_of
from rules.model import Actor
from rules.plan import TicketChange
from rules.tracking import Tracking

Body = dict[str, Any]


class Backend:
    reads_first = False
    second_name, second_kind = "public reply", "reply"
    platform_name = "the in-memory platform"

    def __init__(self, reader: Reader, journal: Journal) -> None:
        self.reader, self.journal, self.store = reader, journal, reader.store
        self.clock = reader.store.clock

    def reread(self, ticket: str) -> Fresh:
        return self.reader.fresh(ticket)

    def draft(self, change: TicketChange, basis: Fresh | None) -> Draft[Body]:
        version = basis.stamp if basis is not None else None
        version = version or str(round(change.ticket_updated_at.timestamp(), 3))
        first = body(change)
        comments = first["comments"]
        if self.store.comments_per_update != 1 or len(comments) < 2:
            return Draft(change, first, None, "", version, basis)
        first["comments"] = comments[:1]  # the note; the reply takes an update of its own
        return Draft(change, first, {"comments": comments[1:]}, comments[1][1], version, basis)

    def send(self, draft: Draft[Body]) -> Outcome:
        return self._update(draft.change.ticket, draft.stamp, draft.body)

    def _update(self, ticket: str, version: str | None, change: Body) -> Outcome:
        store = self.store
        return classify(
            lambda: str(self.reader.call("PUT", store.update, ticket, float(version or 0), change))
        )

    def without_comments(self, draft: Draft[Body]) -> Draft[Body] | None:
        return None  # no comment limit

    def landed(self, draft: Draft[Body], fresh: Fresh) -> bool:
        """Do the ticket's tracking fields hold exactly what the change wrote?"""
        names = list(draft.change.tracking)
        have = fresh.ticket.tracking.to_raw()
        want = Tracking.parse({n: draft.change.tracking[n].new for n in names}).to_raw()
        return bool(names) and all(have[n] == want[n] for n in names)

    def send_second(self, draft: Draft[Body], sent: Sent) -> SecondComment:
        """The reply on the version the change left; after a conflict or an uncertain answer,
        looked for first, then sent once more on the version read."""
        assert draft.second is not None
        ticket, version = draft.change.ticket, sent.stamp
        error: AdapterError | None = None
        try:
            for rereads in range(2):
                outcome = self._update(ticket, version, draft.second)
                if isinstance(outcome, Sent):
                    return SecondComment(rereads=rereads)
                error = outcome.error
                if not isinstance(outcome, Conflicted | Uncertain):
                    return SecondComment(error, rereads)
                fresh = self.reader.fresh(ticket)
                if ours(fresh.raw, draft.second_text):
                    return SecondComment(rereads=rereads + 1)
                version = fresh.stamp
            return SecondComment(error, 2)
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:
            return SecondComment(exc, 1)

    def who(self) -> str:
        return self.store.me

    def me(self) -> str:
        return self.store.me

    def normal(self, state: object) -> str:
        return text_of(state)

    # --- paying what earlier runs owe --------------------------------------------------------

    def peek(self, ticket: str) -> Peek:
        fresh = self.reader.fresh(ticket)
        state = self.normal(fresh.ticket.tracking.to_raw()["state"])
        return Peek(state, fresh.stamp or "", fresh.raw)

    def owed_landed(self, item: Owed, peek: Peek) -> bool:
        return ours(peek.raw, item.text)

    def send_owed(self, item: Owed, peek: Peek) -> None:
        outcome = self._update(item.ticket, peek.stamp, item.body)
        if not isinstance(outcome, Sent):
            raise outcome.error


def ours(raw: Mapping[str, Any], text: str) -> bool:
    """Whether the connector wrote a comment with `text` on the ticket (`raw`: its record)."""
    return any(who is Actor.CONNECTOR and said == text for _, said, who in raw["comments"])


def body(change: TicketChange) -> Body:
    """The store's update for `change`: values by name, tags added and removed, comments."""
    out: Body = {}
    for name in ("group", "assignee", "priority"):
        diff = getattr(change, name)
        if diff is not None:
            out[name] = diff.new
    out["add_tags"], out["remove_tags"] = list(change.add_tags), list(change.remove_tags)
    values: dict[str, object] = {n: d.new for n, d in change.fields.items()}
    out["fields"] = values | {n: d.new for n, d in change.tracking.items()}
    comments = [(False, change.internal_note), (True, change.public_reply)]
    out["comments"] = [(public, text.plain()) for public, text in comments if text is not None]
    return out
