"""The write protocol, one for every platform: each change is written once, a human's edit is
never overwritten, and a comment is never posted twice. A platform supplies a small `Backend`
(build the request bodies, send them, recognise a write that landed, send a second comment);
this module does the rest, the same way everywhere:

1. Read first where the platform has no compare-and-set (Jira): `reevaluate` decides on the
   fresh ticket. Elsewhere the write carries the version it was planned on (Zendesk's
   `safe_update`), and the platform refuses it if the ticket moved.
2. Journal the second comment a two-request change owes (`adapters.owed`), then send.
3. Classify (`adapters.outcomes`): Sent, Conflicted, Uncertain (may have landed), Gone, Failed.
4. Recover once: after a conflict or an uncertain answer, re-read; a write that landed is not
   repeated; otherwise re-evaluate and send what is left, once. A ticket at its comment limit
   is written without the comments.
5. Send the second comment, if any; if it fails, the change still stands and the comment stays
   owed for the next run.
6. Settle the journal: forget what was owed once the write went in whole, was refused, or the
   ticket is gone; keep it (confirmed) when the change went in and the comment did not.

Batches (`write_many`, where a platform writes many tickets in one job) send and re-read in
bulk, then recover and settle each ticket the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, ParamSpec, Protocol, TypeVar

from adapters.errors import AdapterError, AuthError, CommentLimit, MaybeLanded, NotFound, SetupError
from adapters.http import Clock
from adapters.outcomes import Conflicted, Draft, Failed, Fresh, Gone, Outcome, Sent, Uncertain
from adapters.owed import Journal, Owed, superseded
from adapters.protocol import Reevaluate
from adapters.results import WriteResult, WriteStatus
from rules.plan import TicketChange

B = TypeVar("B")
P = ParamSpec("P")
LIMIT = "the ticket's comment limit is reached: comments dropped"


@dataclass(frozen=True, slots=True)
class SecondComment:
    """What sending a change's second comment did: `error` if it did not go in, and the
    re-reads it took."""

    error: AdapterError | None = None
    rereads: int = 0


class Backend(Protocol[B]):
    """What one platform supplies to the write protocol."""

    journal: Journal
    clock: Clock
    #: No compare-and-set: every write starts with a re-read (Jira).
    reads_first: bool
    #: The second comment, as messages and the journal name it ("note", "public reply").
    second_name: str
    second_kind: str

    def reread(self, ticket: str) -> Fresh:
        """The ticket now (NotFound when gone)."""
        ...

    def draft(self, change: TicketChange, basis: Fresh | None) -> Draft[B]:
        """The requests for `change`, on the version in `basis` (else the one it was planned
        on). Rejected when a value cannot be written to this platform."""
        ...

    def send(self, draft: Draft[B]) -> Outcome:
        """The first (or only) request, classified."""
        ...

    def without_comments(self, draft: Draft[B]) -> Draft[B] | None:
        """The draft with no comment, for a ticket at its comment limit (None: nothing left)."""
        ...

    def landed(self, draft: Draft[B], fresh: Fresh) -> bool:
        """Whether the first request of `draft`, which may have landed, is on `fresh`."""
        ...

    def send_second(self, draft: Draft[B], sent: Sent) -> SecondComment:
        """The second comment, after the first request went in; never posted twice."""
        ...

    def who(self) -> str:
        """The platform user the connector writes as ("" when unknown)."""
        ...

    def normal(self, state: object) -> str:
        """A `state` tracking value as the platform's field reads it back ("" for none)."""
        ...


class Batch(Backend[B], Protocol):
    """A backend that also writes many tickets in one job (Zendesk's update_many)."""

    def send_many(self, drafts: Sequence[Draft[B]]) -> dict[str, Outcome]:
        """Every draft's first request, in the platform's jobs; each ticket's outcome."""
        ...

    def reread_many(self, tickets: Sequence[str]) -> dict[str, Fresh]:
        """The tickets now; gone ones are left out."""
        ...

    def send_second_many(self, drafts: Sequence[Draft[B]]) -> dict[str, AdapterError]:
        """The second comments of changes that went in; the error of each that did not."""
        ...


def text_of(value: object) -> str:
    return "" if value is None else str(value).strip()


def state_key(change: TicketChange) -> tuple[str, str]:
    """The journal key of what `change` owes: its ticket and the `state` value it writes."""
    state = change.tracking.get("state")
    return (change.ticket, "" if state is None else text_of(state.new))


@dataclass
class _Write(Generic[B]):
    """One ticket's write: what it owed, re-read and dropped along the way."""

    backend: Backend[B]
    ticket: str
    rereads: int = 0
    dropped: bool = False  # the comments, at the ticket's comment limit
    keys: set[tuple[str, str]] = field(default_factory=set)

    def result(
        self,
        status: WriteStatus,
        message: str = "",
        *,
        written: TicketChange | None = None,
        error: AdapterError | None = None,
    ) -> WriteResult:
        return WriteResult(
            self.ticket, status, message, written=written, rereads=self.rereads, error=error
        )

    def failed(self, error: AdapterError, why: str = "") -> WriteResult:
        message = f"{error}; {why}" if why else str(error)
        return self.result(WriteStatus.FAILED, message, error=error)

    def owed(self, draft: Draft[B]) -> Owed | None:
        """What the draft's second comment owes once its first request lands (None: no
        second comment, or no journal)."""
        if draft.second is None or not self.backend.journal.active:
            return None
        change = draft.change
        old = change.tracking.get("state")
        return Owed(
            change.ticket,
            self.backend.second_kind,
            draft.second,
            draft.second_text,
            state_key(change)[1],
            self.backend.who(),
            self.backend.clock(),
            old=self.backend.normal(None if old is None else old.old),
            sent=draft.stamp or "",
        )

    def owe(self, draft: Draft[B]) -> None:
        """Journal the second comment of a two-request change, before the first is sent."""
        item = self.owed(draft)
        if item is not None and self.backend.journal.owe([item]):
            self.keys.add(item.key)

    def start(self, change: TicketChange, reevaluate: Reevaluate) -> WriteResult:
        basis = None
        if self.backend.reads_first:
            basis = self.backend.reread(self.ticket)
            now = reevaluate(basis.ticket)
            if now is None:
                return self.result(WriteStatus.UNCHANGED, "nothing left to do on the fresh ticket")
            change = now
        draft = self.backend.draft(change, basis)
        self.owe(draft)
        return self.after(draft, self.first(draft), reevaluate)

    def first(self, draft: Draft[B]) -> Outcome:
        """Send; at the comment limit, once more without the comments."""
        outcome = self.backend.send(draft)
        if isinstance(outcome, Failed) and isinstance(outcome.error, CommentLimit):
            bare = self.backend.without_comments(draft)
            if bare is not None and not self.dropped:
                self.dropped = True
                return self.backend.send(bare)
        return outcome

    def after(
        self, draft: Draft[B], outcome: Outcome, reevaluate: Reevaluate, *, retried: bool = False
    ) -> WriteResult:
        if not isinstance(outcome, Conflicted | Uncertain):
            return self.finish(draft, outcome)
        if not retried:
            return self.recover(draft, outcome, reevaluate, None)
        if isinstance(outcome, Conflicted):
            return self.failed(outcome.error, "changed again meanwhile; the next run re-reads it")
        return self.failed(outcome.error, "it may have landed; the next run reads whether it did")

    def finish(self, draft: Draft[B], outcome: Sent | Gone | Failed) -> WriteResult:
        match outcome:
            case Sent():
                return self.went_in(draft, outcome)
            case Gone(error):
                return self.result(WriteStatus.SKIPPED, str(error), error=error)
            case Failed(error):
                return self.failed(error)

    def recover(
        self,
        draft: Draft[B],
        outcome: Conflicted | Uncertain,
        reevaluate: Reevaluate,
        fresh: Fresh | None,
    ) -> WriteResult:
        """Re-read, see whether the write landed, re-evaluate, and write what is left once."""
        self.rereads += 1
        if fresh is None:
            fresh = self.backend.reread(self.ticket)
        if isinstance(outcome, Uncertain) and self.backend.landed(draft, fresh):
            return self.went_in(draft, Sent(fresh.stamp), "the write had landed")
        change = reevaluate(fresh.ticket)
        if change is None:
            return self.result(WriteStatus.UNCHANGED, f"nothing left to write ({outcome.error})")
        again = self.backend.draft(change, fresh)
        if self.dropped:
            again = self.backend.without_comments(again) or again
        self.owe(again)
        return self.after(again, self.first(again), reevaluate, retried=True)

    def went_in(self, draft: Draft[B], sent: Sent, message: str = "") -> WriteResult:
        """The change went in: its second comment, if any, then the result."""
        if self.dropped:
            message = LIMIT
        written = self.result(WriteStatus.APPLIED, message, written=draft.change)
        if draft.second is None or self.dropped:
            return replace(written, comment_dropped=self.dropped)
        got = self.backend.send_second(draft, sent)
        self.rereads += got.rereads
        return self.with_second(replace(written, rereads=self.rereads), got.error)

    def with_second(self, result: WriteResult, error: AdapterError | None) -> WriteResult:
        """`result`, with what a second comment that did not go in means for it."""
        if error is None:
            return result
        if isinstance(error, CommentLimit):
            self.dropped = True
            return replace(result, comment_dropped=True, message=LIMIT)
        assert result.written is not None
        owed = state_key(result.written) in self.keys
        later = "; it is owed: the next run sends it" if owed else ""
        name = self.backend.second_name
        return replace(
            result,
            comment_dropped=True,
            comment_owed=owed,
            message=f"the change went in but the {name} did not: {error}{later}",
            error=error,
        )

    def settle(self, result: WriteResult) -> WriteResult:
        """Forget what this write owed once it went in whole (or was refused, or the ticket is
        gone); confirm it when the change went in and its comment did not. A write that went
        in also ends what earlier runs owed on the ticket."""
        journal = self.backend.journal
        applied = result.status is WriteStatus.APPLIED
        settled = applied and not result.comment_owed  # went in whole, or its comment given up
        if result.status is WriteStatus.SKIPPED or settled or refused(result):
            journal.paid(self.keys)
        elif applied and result.written is not None:
            journal.confirm(state_key(result.written))
        if applied and result.written is not None:
            return superseded(journal, result, self.keys, self.backend.second_name)
        return result


def refused(result: WriteResult) -> bool:
    """The write provably did not land: refused on its first and only request."""
    definite = isinstance(result.error, AdapterError) and not isinstance(result.error, MaybeLanded)
    return result.status is WriteStatus.FAILED and result.rereads == 0 and definite


def guarded(
    w: _Write[B], step: Callable[P, WriteResult], *args: P.args, **kwargs: P.kwargs
) -> WriteResult:
    """Run one step of `w`; what stops one ticket becomes its result, then the journal settles."""
    try:
        result = step(*args, **kwargs)
    except (AuthError, SetupError):
        raise
    except NotFound as exc:
        result = w.result(WriteStatus.SKIPPED, str(exc), error=exc)
    except AdapterError as exc:
        result = w.failed(exc)
    return w.settle(result)


def write_one(backend: Backend[B], change: TicketChange, reevaluate: Reevaluate) -> WriteResult:
    """Write one change (steps 1-6 of the module's docstring)."""
    w = _Write(backend, change.ticket)
    return guarded(w, w.start, change, reevaluate)


def write_many(
    backend: Batch[B], changes: Sequence[TicketChange], reevaluate: Reevaluate
) -> Iterator[WriteResult]:
    """Write many changes in the platform's jobs, then recover each that needs it."""
    writes = {c.ticket: _Write(backend, c.ticket) for c in changes}
    drafts: dict[str, Draft[B]] = {}
    for change in changes:
        w = writes[change.ticket]
        try:
            drafts[change.ticket] = backend.draft(change, None)
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:
            yield w.settle(w.failed(exc))
    owed = [o for d in drafts.values() if (o := writes[d.change.ticket].owed(d)) is not None]
    if backend.journal.owe(owed):  # the whole batch in one commit
        for item in owed:
            writes[item.ticket].keys.add(item.key)
    outcomes = backend.send_many(list(drafts.values()))
    yield from _first_results(backend, writes, drafts, outcomes)
    again = {t: o for t, o in outcomes.items() if isinstance(o, Conflicted | Uncertain)}
    if not again:
        return
    try:
        fresh = backend.reread_many(list(again))
    except (AuthError, SetupError):
        raise
    except AdapterError as exc:
        for ticket in again:
            writes[ticket].rereads = 1
            yield writes[ticket].settle(writes[ticket].failed(exc))
        return
    for ticket, outcome in again.items():
        w, found = writes[ticket], fresh.get(ticket)
        if found is None:
            w.rereads = 1
            yield w.settle(w.result(WriteStatus.SKIPPED, "the ticket is gone"))
        else:
            yield guarded(w, w.recover, drafts[ticket], outcome, reevaluate, found)


def _first_results(
    backend: Batch[B],
    writes: Mapping[str, _Write[B]],
    drafts: Mapping[str, Draft[B]],
    outcomes: Mapping[str, Outcome],
) -> Iterator[WriteResult]:
    """The results of the batch's first requests, second comments sent in bulk."""
    went = [drafts[t] for t, o in outcomes.items() if isinstance(o, Sent)]
    errors = backend.send_second_many([d for d in went if d.second is not None])
    for draft in went:
        w = writes[draft.change.ticket]
        applied = w.result(WriteStatus.APPLIED, written=draft.change)
        yield w.settle(w.with_second(applied, errors.get(draft.change.ticket)))
    for ticket, outcome in outcomes.items():
        if isinstance(outcome, Gone | Failed):
            yield writes[ticket].settle(writes[ticket].finish(drafts[ticket], outcome))
