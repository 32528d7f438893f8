"""The contract every platform adapter keeps, split by capability, so each command asks for the
little it uses: a run reads and writes (`Syncing`), `doctor` and `setup` check and set up
(`Setup`), `backtest --instance` reads the past (`History`). `Adapter` is all of them.

The connector drives an adapter like this (DESIGN.md section 3):

    adapter = registry.platform(settings.platform).build(name, settings, policy, ...)
    adapter.fields()                          # resolve fields; SetupError if tracking ones miss
    for ticket in adapter.fetch(needs(policy), now):   # all pages, or an AdapterError
        ...evaluate...                        # act on nothing until fetch has finished
    for result in adapter.write(changes, reevaluate):
        ...report...

Promises (tests/adapters/contract.py checks them for every adapter, the in-memory one included):
- `fetch` yields every ticket in scope exactly once, mapped to the neutral `Ticket` with its
  `Tracking`; if any page fails after retries it raises, and the caller acts on nothing.
- `write` spends one platform write per change where the platform allows it (Zendesk: one PUT
  or a share of an `update_many` job; Jira: one edit plus at most one comment request), never
  replaces a ticket's tag list, never reads back after writing, and yields one `WriteResult` per
  change, whatever happened to the others (the write protocol, `adapters.writer`).
- A write the platform refused because the ticket changed meanwhile (409), and a write that
  may have landed, are re-read and handed to `reevaluate`, which returns the change to make now
  (or None: nothing to do, e.g. because the write had landed after all). At most one such
  retry per ticket; a human's edit is never overwritten with stale values.
- Secrets never appear in results, errors or logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from adapters.http import RequestStats
from adapters.past import Window
from adapters.results import Check, FieldStatus, Queue, WriteResult
from adapters.setup import Done, Plan
from rules.model import Ticket
from rules.needs import Needs
from rules.plan import TicketChange

#: Re-evaluates a freshly read ticket: the change to write now, or None for nothing.
Reevaluate = Callable[[Ticket], TicketChange | None]


class Connected(Protocol):
    """What every capability shares: which instance, its request counts, and closing."""

    instance: str
    platform: str
    #: Requests sent so far, by kind (for the run summary, metrics and benchmarks).
    stats: RequestStats

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        """Resolve the tracking and policy fields by title. With `create`, create the missing
        tracking fields with the right types. Raises SetupError naming every unusable tracking
        field; an unusable policy field is reported in its status (`kind` "policy") only: the
        caller switches off what needs it (`rules.fielduse`)."""
        ...

    def close(self) -> None: ...


class Reading(Connected, Protocol):
    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        """Every ticket in scope, with the history `needs` asks for. Read-only."""
        ...

    def reread(self, ticket_id: str) -> Ticket:
        """One ticket, fresh from the platform, with the history the policy needs (NotFound
        when gone). Read-only."""
        ...


@runtime_checkable
class Incremental(Protocol):
    """Reading only what changed or came due (incremental runs, `connector.incremental`)."""

    def fetch_changed(
        self,
        needs: Needs,
        now: datetime,
        since: datetime | None,
        due: Mapping[str, str],
        gone: set[str],
    ) -> Iterator[Ticket]:
        """The tickets in scope updated at or after `since` (as the platform's search finds
        them: it may see an update late, which the caller's overlap covers), and those of `due`
        (ticket id -> the `updated_at` it was last read with, `rules.tracking.format_time`;
        "" for a hint) still in scope; each once, with the history `needs` asks for. Ids of
        `due` that are gone or out of scope are added to `gone`; one the platform cannot place
        yet (changed since, and not yet searchable) is neither yielded nor gone. `since` None:
        no search for what changed, `due` only. Read-only; all pages or an AdapterError."""
        ...

    def places_by_id(self) -> bool:
        """Whether every ticket of `due` is placed (yielded or gone) by its read by id alone,
        whatever its stamp, so `fetch_changed(since=None)` leaves none of them unread. No
        request."""
        ...


class Writing(Connected, Protocol):
    def expect_writes(self, changes: Sequence[TicketChange]) -> None:
        """The changes about to be written, in the order their writes start: a platform that
        re-reads each ticket before writing it (Jira) reads them ahead in bulk. No request."""
        ...

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        """Apply the changes; one result per change, in any order. Safe to call from several
        threads at once with disjoint changes, once `fields()` has been called. Idempotent:
        a change already on the ticket re-evaluates to nothing and is not written again."""
        ...

    def send_owed(self) -> Iterator[WriteResult]:
        """Send the second comments earlier runs owe (`adapters.owed`): each once, only while
        its ticket still carries the escalation that owed it. One result per comment; nothing
        (and no request) when none is owed. Called before `fetch`, after `fields()`."""
        ...

    def batch_size(self, pending: int) -> int:
        """How many changes one `write` call should take when `pending` are due: the executor
        runs such calls concurrently (1 for per-ticket writes, all for Zendesk's update_many)."""
        ...


class Syncing(Reading, Writing, Protocol):
    """What `run`, `plan` and `apply` use."""


class Setup(Connected, Protocol):
    def check(self) -> list[Check]:
        """Connectivity, credentials, permissions, flavour, fields: never raises for a failed
        check, only reports it. Read-only."""
        ...

    def inspect_fields(self) -> list[FieldStatus]:
        """Like `fields()`, but reports unusable fields in `FieldStatus.problem` instead of
        raising SetupError (for `escalate setup` to show what it would create). Read-only."""
        ...

    def queue(self, *, create: bool = False) -> Queue:
        """Find the escalation queue by title; with `create`, create it if it is missing.
        Idempotent: an existing queue is never duplicated or changed."""
        ...

    def setup_plan(self, *, policy_fields: bool = True) -> Plan:
        """What `escalate setup` would create, each step with the exact request it sends (the
        missing tracking fields, the policy's fields unless `policy_fields` is False, the
        queue), and the existing fields it adopts, each checked for values another tool may
        have put there. Writes nothing."""
        ...

    def setup_apply(self, plan: Plan) -> list[Done]:
        """Send exactly the plan's requests, in order (a field's id, once made, fills the
        placeholders of the requests after it); one `Done` per step. A create whose answer
        was lost is looked up, never sent twice."""
        ...


class History(Connected, Protocol):
    @property
    def approximate(self) -> dict[str, int]:
        """What the platform could only give approximately (e.g. a Data Center changelog the
        search cut short), by what, counted per ticket."""
        ...

    def past(self, window: Window) -> Iterator[Ticket]:
        """Every ticket of the history scope that was open at some time in `window`, each with
        its whole history (status, priority, group and assignee changes, every comment), for
        `escalate backtest --instance`. Read-only; all pages or an AdapterError."""
        ...


class Adapter(Syncing, Setup, History, Protocol):
    """Every capability: what a platform package builds."""
