"""Zendesk's part of the write protocol (`adapters.writer`, `adapters.payment`).

Every write is one `PUT /api/v2/tickets/{id}` with `safe_update` on the `updated_at` the change
was planned on (or just re-read), so an agent's edit since is never overwritten: Zendesk answers
409 and the protocol re-reads. Above the batch threshold the changes go in `update_many` jobs
(`jobs`), re-read in bulk (`show_many`, 100 a request) when a job reports a conflict or may
have run. A write that may have landed did so if the ticket's tracking fields hold exactly what
it wrote.

The second comment is the public reply of a change that also carries a note (an update takes
one comment): a safe comment-only update on the `updated_at` the change left (`replies`), sent
in jobs of its own for a batch, with each stamp re-read first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.errors import AdapterError, AuthError, NotFound, SetupError
from adapters.outcomes import Draft, Fresh, Outcome, Sent, Uncertain, classify
from adapters.owed import Journal, Owed
from adapters.payment import Peek
from adapters.writer import SecondComment, text_of
from adapters.zendesk.body import job_item, reply_body, update_body
from adapters.zendesk.jobs import Jobs
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import field_values
from adapters.zendesk.read import Reader
from adapters.zendesk.replies import Replies
from rules.plan import TicketChange
from rules.tracking import format_time

Json = dict[str, Any]


class Backend:
    """The backend, the batch backend and the debtor for one Zendesk account."""

    reads_first = False
    second_name, second_kind = "public reply", "reply"
    platform_name = "Zendesk"

    def __init__(self, lookups: Lookups, reader: Reader, journal: Journal) -> None:
        self.lookups, self.reader, self.journal = lookups, reader, journal
        self.client, settings = lookups.client, lookups.settings
        self.clock = self.client.session.clock
        self.jobs = Jobs(
            self.client,
            self.client.retrier.sleep,
            settings.jobs_in_flight,
            settings.job_poll_seconds,
            settings.job_timeout_seconds,
        )
        self.replies = Replies(self.client, lambda: lookups.people.me, self.clock)

    def reread(self, ticket: str) -> Fresh:
        found = self.reread_many([ticket]).get(ticket)
        if found is None:
            raise NotFound(f"ticket {ticket} is gone")
        return found

    def draft(self, change: TicketChange, basis: Fresh | None) -> Draft[Json]:
        stamp = basis.stamp if basis is not None else None
        stamp = stamp or format_time(change.ticket_updated_at)
        body = update_body(
            change,
            policy=self.lookups.policy,
            fields=self.lookups.fieldmap(),
            people=self.lookups.people,
            users=self.lookups.settings.users,
            tags=self._tags(change, basis),
            stamp=stamp,
        )
        second = reply_body(change)
        text = change.public_reply.plain() if second and change.public_reply else ""
        return Draft(change, body, second, text, stamp, basis)

    def _tags(self, change: TicketChange, basis: Fresh | None) -> list[str] | None:
        """The tags `change` is written on: the re-read ticket's, else the ones it was planned
        on, else (a plan saved without them) read now; still sent on the planned stamp, so a
        ticket edited since is a 409 either way."""
        if not (change.add_tags or change.remove_tags):
            return None
        if basis is not None:
            return [str(t) for t in basis.raw.get("tags") or ()]
        if change.tags_read is not None:
            return list(change.tags_read)
        return [str(t) for t in self.reread(change.ticket).raw.get("tags") or ()]

    def send(self, draft: Draft[Json]) -> Outcome:
        return classify(lambda: self.client.update(int(draft.change.ticket), draft.body))

    def without_comments(self, draft: Draft[Json]) -> Draft[Json] | None:
        return None  # Zendesk has no per-ticket comment limit the connector meets

    def landed(self, draft: Draft[Json], fresh: Fresh) -> bool:
        """Do the ticket's tracking fields hold exactly what the change wrote?"""
        ids = self.lookups.fieldmap().tracking
        values = field_values(fresh.raw)
        compared = [(ids[n], d.new) for n, d in draft.change.tracking.items() if n in ids]
        return bool(compared) and all(text_of(values.get(f)) == text_of(v) for f, v in compared)

    def send_second(self, draft: Draft[Json], sent: Sent) -> SecondComment:
        assert draft.second is not None
        return SecondComment(self.replies.send(int(draft.change.ticket), draft.second, sent.stamp))

    def who(self) -> str:
        return self.me()

    def me(self) -> str:
        self.lookups.whoami()
        return str(self.lookups.people.me)

    def normal(self, state: object) -> str:
        return text_of(state)

    # --- many tickets ----------------------------------------------------------------------

    def send_many(self, drafts: Sequence[Draft[Json]]) -> dict[str, Outcome]:
        outcomes = self.jobs.run({int(d.change.ticket): job_item(d.body, d.change) for d in drafts})
        return {str(tid): outcome for tid, outcome in outcomes.items()}

    def reread_many(self, tickets: Sequence[str]) -> dict[str, Fresh]:
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        fresh = self.reader.fresh([int(t) for t in tickets], now)
        return {str(tid): found for tid, found in fresh.items()}

    def send_second_many(self, drafts: Sequence[Draft[Json]]) -> dict[str, AdapterError]:
        """The replies in jobs of their own (after every change job: only a change that went
        in owes its reply), each on its ticket's `updated_at` now (re-read, 100 a request)."""
        bodies = {int(d.change.ticket): d.second for d in drafts if d.second is not None}
        stamps, unread = self.replies.stamps(list(bodies))
        started = self.clock()
        outcomes = self.jobs.run(
            {
                tid: {**body, "safe_update": True, "updated_stamp": stamps[tid]}
                for tid, body in bodies.items()
                if tid in stamps
            }
        )
        errors: dict[str, AdapterError] = {}
        for tid, body in bodies.items():
            if tid not in stamps:
                why = f"ticket {tid}: not sent: the ticket could not be re-read ({unread})"
                errors[str(tid)] = AdapterError(why)
                continue
            error = self._reply_outcome(tid, body, outcomes.get(tid, Sent()), started)
            if error is not None:
                errors[str(tid)] = error
        return errors

    def _reply_outcome(
        self, tid: int, body: Json, outcome: Outcome, started: float
    ) -> AdapterError | None:
        """A reply job's outcome; one that may have run (or may still) is looked for, never
        sent again."""
        if isinstance(outcome, Sent):
            return None
        if not isinstance(outcome, Uncertain):
            return outcome.error  # it names the ticket and what the job said
        try:
            landed = self.replies.landed(tid, body, started)
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:
            return AdapterError(f"ticket {tid}: {outcome.error}; looking for it: {exc}")
        return None if landed else AdapterError(f"ticket {tid}: {outcome.error}")

    # --- paying what earlier runs owe --------------------------------------------------------

    def peek(self, ticket: str) -> Peek:
        self.lookups.prepare()
        raw = self.client.ticket(int(ticket))
        field = self.lookups.fieldmap().tracking.get("state")
        state = text_of(field_values(raw).get(field)) if field else ""
        return Peek(state, str(raw.get("updated_at") or ""), raw)

    def owed_landed(self, item: Owed, peek: Peek) -> bool:
        return self.replies.landed(int(item.ticket), item.body, item.at)

    def send_owed(self, item: Owed, peek: Peek) -> None:
        error = self.replies.send(int(item.ticket), item.body, peek.stamp or None)
        if error is not None:
            raise error
