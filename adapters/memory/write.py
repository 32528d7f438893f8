"""The in-memory platform's part of the write protocol (`adapters.writer`, `adapters.payment`):
one update per change, note and reply included (the store takes any number of comments per
update), sent on the version the change was planned on or just re-read."""

from __future__ import annotations

from typing import Any

from adapters.memory.read import Reader
from adapters.memory.store import Record
from adapters.outcomes import Draft, Fresh, Outcome, Sent, classify
from adapters.owed import Journal, Owed
from adapters.payment import Peek
from adapters.writer import Second, text_of
from rules.plan import TicketChange
from rules.tracking import Tracking

Body = dict[str, Any]


class Backend:
    reads_first = False
    second_name = second_kind = "comment"
    platform_name = "the in-memory platform"

    def __init__(self, reader: Reader, journal: Journal) -> None:
        self.reader, self.journal, self.store = reader, journal, reader.store
        self.clock = reader.store.clock

    def reread(self, ticket: str) -> Fresh:
        return self.reader.fresh(ticket)

    def draft(self, change: TicketChange, basis: Fresh | None) -> Draft[Body]:
        version = basis.stamp if basis is not None else None
        version = version or str(round(change.ticket_updated_at.timestamp(), 3))
        return Draft(change, body(change), None, "", version, basis)

    def send(self, draft: Draft[Body]) -> Outcome:
        ticket, version = draft.change.ticket, float(draft.stamp or 0)
        return classify(
            lambda: str(self.reader.call("PUT", self.store.update, ticket, version, draft.body))
        )

    def without_comments(self, draft: Draft[Body]) -> Draft[Body] | None:
        return None  # no comment limit

    def landed(self, draft: Draft[Body], fresh: Fresh) -> bool:
        """Do the ticket's tracking fields hold exactly what the change wrote?"""
        names = list(draft.change.tracking)
        have = fresh.ticket.tracking.to_raw()
        want = Tracking.parse({n: draft.change.tracking[n].new for n in names}).to_raw()
        return bool(names) and all(have[n] == want[n] for n in names)

    def send_second(self, draft: Draft[Body], sent: Sent) -> Second:
        raise AssertionError("the in-memory platform takes every comment in one update")

    def who(self) -> str:
        return self.store.me

    def normal(self, state: object) -> str:
        return text_of(state)

    def peek(self, ticket: str) -> Peek:
        fresh = self.reader.fresh(ticket)
        return Peek(self.normal(fresh.ticket.tracking.to_raw()["state"]), "", fresh.raw)

    def owed_landed(self, item: Owed, peek: Peek) -> bool:
        record: Record = peek.raw["record"]
        return any(text == item.text for _, text, _ in record.comments)

    def send_owed(self, item: Owed, peek: Peek) -> None:
        record: Record = peek.raw["record"]
        change = {"comments": [(item.kind == "reply", item.text)]}
        self.reader.call("PUT", self.store.update, item.ticket, record.updated, change)


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
