"""The contract every platform adapter keeps, and the settings every instance shares.

The connector drives an adapter like this (DESIGN.md section 3):

    adapter = build(name, settings, policy, clock=..., sleep=...)
    adapter.fields()                          # resolve tracking fields; SetupError if missing
    for ticket in adapter.fetch(needs(policy), now):   # all pages, or an AdapterError
        ...evaluate...                        # act on nothing until fetch has finished
    for result in adapter.write(changes, reevaluate):
        ...report...

Promises (tests/adapters/contract.py checks them for every adapter):
- `fetch` yields every ticket in scope exactly once, mapped to the neutral `Ticket` with its
  `Tracking`; if any page fails after retries it raises, and the caller acts on nothing.
- `write` spends one platform write per change where the platform allows it (Zendesk: one PUT
  or a share of an `update_many` job; Jira: one edit plus at most one comment request), never
  replaces a ticket's tag list, never reads back after writing, and yields one `WriteResult` per
  change, whatever happened to the others.
- A write the platform refused because the ticket changed meanwhile (409), and a write that
  timed out and may have landed, are re-read and handed to `reevaluate`, which returns the
  change to make now (or None: nothing to do, e.g. because the write had landed after all).
  At most one such retry per ticket; a human's edit is never overwritten with stale values.
- Secrets never appear in results, errors or logs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from adapters.http import RequestStats
from adapters.past import Window
from rules.model import Ticket
from rules.needs import Needs
from rules.plan import TicketChange
from rules.schema import Model

#: Re-evaluates a freshly read ticket: the change to write now, or None for nothing.
Reevaluate = Callable[[Ticket], TicketChange | None]


class WriteStatus(StrEnum):
    APPLIED = "applied"  # the change (or its re-evaluated successor) was written
    UNCHANGED = "unchanged"  # after a re-read there was nothing left to write
    SKIPPED = "skipped"  # the ticket is gone (404) or no longer writable
    FAILED = "failed"  # refused or errored; `message` says why


@dataclass(frozen=True)
class WriteResult:
    ticket: str
    status: WriteStatus
    message: str = ""
    #: The change actually written (after a re-read it may differ from the planned one).
    written: TicketChange | None = None
    #: A comment did not go in but the rest did (e.g. Jira's per-issue comment limit, or the
    #: second request of a two-request change failed).
    comment_dropped: bool = False
    #: ...and that comment is in the owed-comment journal: the next run sends it.
    comment_owed: bool = False
    #: Times the ticket was re-read and re-evaluated (409 or an uncertain timeout).
    rereads: int = 0
    #: The error, if any, for exit codes and the audit log.
    error: Exception | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FieldStatus:
    """One tracking or policy field on the platform."""

    name: str  # logical name ("level") or the policy's custom field name
    title: str  # the platform field's title/name
    id: str | None  # platform id, None when missing
    problem: str = ""  # why it is unusable ("missing", "not on the edit screen of ABC", ...)
    created: bool = False


@dataclass(frozen=True)
class Check:
    """One line of `escalate doctor`: what was checked, whether it passed, how to fix it."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Queue:
    """The agents' escalation queue: a Zendesk view or a Jira saved filter (`escalate setup`)."""

    kind: str  # "view" (Zendesk) or "filter" (Jira)
    title: str  # "Escalated tickets"
    id: str | None  # None: it does not exist (yet)
    url: str | None = None  # where agents open it
    definition: str = ""  # what it shows, in the platform's terms (conditions, JQL)
    created: bool = False
    problem: str = ""  # why it could not be found or created, with the fix


class Adapter(Protocol):
    instance: str
    platform: str
    #: Requests sent so far, by kind (for the run summary, metrics and benchmarks).
    stats: RequestStats

    def check(self) -> list[Check]:
        """Connectivity, credentials, permissions, flavour, fields: never raises for a failed
        check, only reports it."""
        ...

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        """Resolve the tracking and policy fields by title. With `create`, create the missing
        ones with the right types. Raises SetupError naming every missing field otherwise."""
        ...

    def inspect_fields(self) -> list[FieldStatus]:
        """Like `fields()`, but reports unusable fields in `FieldStatus.problem` instead of
        raising SetupError (for `escalate setup` to show what it would create). Read-only."""
        ...

    def queue(self, *, create: bool = False) -> Queue:
        """Find the escalation queue by title; with `create`, create it if it is missing.
        Idempotent: an existing queue is never duplicated or changed."""
        ...

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        """Every ticket in scope, with the history `needs` asks for."""
        ...

    def past(self, window: Window) -> Iterator[Ticket]:
        """Every ticket of the history scope that was open at some time in `window`, each with
        its whole history (status, priority, group and assignee changes, every comment), for
        `escalate backtest --instance`. Read-only; all pages or an AdapterError."""
        ...

    def reread(self, ticket_id: str) -> Ticket:
        """One ticket, fresh from the platform (NotFound when gone)."""
        ...

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        """Apply the changes; one result per change, in any order. Safe to call from several
        threads at once with disjoint changes, once `fields()` has been called."""
        ...

    def send_owed(self) -> Iterator[WriteResult]:
        """Send the second comments earlier runs owe (`adapters.owed`): each once, only while
        its ticket still carries the escalation that owed it. One result per comment; nothing
        (and no request) when none is owed. Called before `fetch`, after `fields()`."""
        ...

    def batch_size(self, pending: int) -> int:
        """How many changes one `write` call should take when `pending` are due: the executor
        runs such calls concurrently (1 for per-ticket writes, 100 for Zendesk's update_many)."""
        ...

    def close(self) -> None: ...


class BudgetSettings(Model):
    requests_per_minute: int = Field(
        default=0, ge=0, description="Pace requests to at most this many a minute (0: no limit)."
    )
    retry_seconds: float = Field(
        default=300.0, ge=0, description="Total time one run may spend waiting to retry."
    )
    attempts: int = Field(default=5, ge=1, le=20, description="Tries per request, at most.")


class TimeoutSettings(Model):
    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=60.0, gt=0)


class InstanceSettings(Model):
    """Keys every instance has; each adapter's settings model extends it."""

    platform: str
    url: str
    scope: str | None = None
    #: The tickets `escalate backtest --instance` reads (a platform query, open and done ones;
    #: the window's terms are added). Default: `scope` without its status terms (adapters/past.py).
    history_scope: str | None = None
    #: Tracking fields by logical name -> platform field title; overrides `platforms.<p>.fields`.
    fields: dict[str, str] = {}
    budget: BudgetSettings = BudgetSettings()
    timeout: TimeoutSettings = TimeoutSettings()

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """The base URL; credentials never travel over plain http off this machine."""
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"expected a base URL such as https://acme.example.com, got {value!r}")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError(
                f"{value!r}: plain http would send the credentials in clear text; it is only"
                " allowed on this machine (127.0.0.1, localhost); use https"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: give the base URL only, without ?query or #fragment")
        return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
