"""What a state store offers: a lock per instance, and three tables per instance (the
owed-comment journal's rows, the history cache's rows, the due index of incremental runs). Each
backend implements it whole."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

#: ticket, state, kind, body (JSON), text, who, at, confirmed, old, sent
OwedRow = tuple[str, str, str, str, str, str, float, bool, str, str]
#: ticket, updated_at (as the platform wrote it), events (JSON)
HistoryRow = tuple[str, str, str]


class Lease(Protocol):
    """A held lock: `alive()` says whether it is still held (before each write batch)."""

    def alive(self) -> bool: ...
    def release(self) -> None: ...


class OwedRows(Protocol):
    """One instance's owed comments. Every method raises StoreError on failure."""

    where: str

    def open(self, identity: str) -> bool:
        """Ready the table for `identity` (account, format); True if rows kept for another
        identity were dropped."""
        ...

    def stored_identity(self) -> str | None:
        """The identity the rows were written for (None: nothing kept); changes nothing."""
        ...

    def put(self, rows: Sequence[OwedRow], *, keep: bool = False) -> None:
        """Write the rows (replacing any of the same ticket and state; with `keep`, a row
        already there stays as it is, as an import wants)."""
        ...

    def confirm(self, ticket: str, state: str) -> None: ...
    def delete(self, keys: Iterable[tuple[str, str]]) -> None: ...
    def select(self, ticket: str | None = None) -> list[OwedRow]:
        """Every row (or a ticket's), oldest first."""
        ...

    def close(self) -> None: ...


class HistoryRows(Protocol):
    """One instance's kept histories. Every method raises StoreError on failure."""

    where: str

    def open(self, identity: str) -> bool: ...
    def stored_identity(self) -> str | None: ...
    def get(self, tickets: Sequence[str]) -> list[HistoryRow]: ...
    def dump(self) -> list[HistoryRow]:
        """Every kept history."""
        ...

    def put(self, rows: Sequence[HistoryRow]) -> None: ...
    def prune(self, keep: set[str]) -> int: ...
    def close(self) -> None: ...


#: id, ticket, channel, key, event, due (epoch seconds), status, attempts, notice (JSON),
#: error, created, updated (epoch seconds)
NoticeRow = tuple[str, str, str, str, str, float, str, int, str, str, float, float]


class NoticeRows(Protocol):
    """One instance's notices (`notify.outbox`): each kept once by its id, with what became of
    it. Every method raises StoreError on failure; every write is committed when it returns."""

    where: str

    def add(self, rows: Sequence[NoticeRow]) -> int:
        """Insert the rows whose id is not there yet (a row kept stays as it is); how many."""
        ...

    def plan(self, rows: Sequence[NoticeRow]) -> None:
        """Insert the rows; a row already there that is still "planned" takes the new notice
        text and due time (a change evaluated again), any other stays as it is."""
        ...

    def confirm(self, ids: Sequence[str], at: float) -> None:
        """The "planned" rows of these ids become "due" (their change is on the ticket)."""
        ...

    def mark(self, id: str, status: str, attempts: int, error: str, at: float) -> None: ...
    def claim(self, id: str, statuses: Sequence[str], attempts: int, at: float) -> bool:
        """Make the row "sending" with `attempts`, if its status is one of `statuses`, in one
        statement: whether this caller took it (False: another run took it first)."""
        ...

    def forget(self, ids: Sequence[str]) -> None:
        """Delete these rows (notices settled long ago)."""
        ...

    def select(
        self, statuses: Sequence[str] | None = None, ticket: str | None = None
    ) -> list[NoticeRow]:
        """The rows (with these statuses, of this ticket), by due time then id."""
        ...

    def close(self) -> None: ...


#: ticket, next instant (epoch seconds; None: nothing will come due without an update), the
#: ticket's `updated_at` as the platform wrote it, the hash of the policy that computed it
DueRow = tuple[str, float | None, str, str]


@dataclass(frozen=True)
class DueMark:
    """Where an instance's incremental runs stand: read "updated since" `high_water` (epoch
    seconds, the start of the last run that read), last full sweep at `swept_at`, under the
    policy and scope hashed as `policy`."""

    high_water: float
    swept_at: float
    policy: str


class DueRows(Protocol):
    """One instance's due index (incremental runs). Every method raises StoreError on failure.
    The index can always be rebuilt by a full sweep: it is never exported."""

    where: str

    def open(self, identity: str) -> bool: ...
    def stored_identity(self) -> str | None: ...
    def mark(self) -> DueMark | None:
        """The last run's mark (None: no run has built the index yet)."""
        ...

    def due(self, until: float) -> list[tuple[str, str]]:
        """The tickets (with their stamps) whose next instant is at or before `until`, or
        that were computed under another policy hash than the mark's."""
        ...

    def put(self, rows: Sequence[DueRow], mark: DueMark, *, sweep: bool = False) -> None:
        """Write the rows and the mark in one transaction; with `sweep` (a full sweep read the
        whole scope), every other row is dropped first."""
        ...

    def drop(self, tickets: Sequence[str]) -> None:
        """Forget tickets (gone, or out of scope)."""
        ...

    def dump(self) -> list[DueRow]:
        """Every row, by ticket."""
        ...

    def close(self) -> None: ...


#: at (epoch seconds), run id, instance (None: run-wide), event, the JSON line
AuditRow = tuple[float, str, str | None, str, str]


class AuditRows(Protocol):
    """The audit log's lines, kept where every host can read them (PostgreSQL)."""

    where: str

    def add(self, rows: Sequence[AuditRow]) -> None: ...
    def read(self, since: float, until: float) -> Iterator[str]:
        """The JSON lines from `since` to `until` (epoch seconds), oldest first."""
        ...


class Store(Protocol):
    """A backend: `sqlite` (one host) or `postgresql` (any number of hosts)."""

    kind: str
    where: str  # for messages: a directory, or the database without its password

    def lock(self, instance: str) -> Lease:
        """Take the instance's lock, or raise Locked at once."""
        ...

    def owed(self, instance: str) -> OwedRows: ...
    def history(self, instance: str) -> HistoryRows: ...
    def notices(self, instance: str) -> NoticeRows: ...
    def due(self, instance: str) -> DueRows: ...
    def audit(self) -> AuditRows | None:
        """Where audit lines are kept besides the file (None: the file alone)."""
        ...

    def close(self) -> None: ...
