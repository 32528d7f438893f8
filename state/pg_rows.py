"""The PostgreSQL backend's tables, one instance's rows each (`state.postgres` holds the store,
its pool and its lock): the journal, the history cache, the notices, the due index, the audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from state.errors import StoreError
from state.protocol import AuditRow, DueMark, DueRow, HistoryRow, NoticeRow, OwedRow
from state.sqlite import NOTICE_COLUMNS, due_row, notice_row, owed_row


class Pooled(Protocol):
    """What the tables need of their store (`state.postgres.PostgresStore`)."""

    where: str

    def pool(self) -> ConnectionPool: ...


def pg_error(where: str, exc: Exception) -> StoreError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(f"PostgreSQL {where}: {first}")


class Rows:
    """One instance's rows of one table."""

    kind = ""
    tables: tuple[str, ...] = ()  # emptied when the identity changes

    def __init__(self, store: Pooled, instance: str) -> None:
        self.store, self.instance = store, instance
        self.where = f"{store.where} ({self.kind}, instance {instance})"

    def _do(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                conn.cursor().executemany(sql, rows)
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def _query(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            with self.store.pool().connection() as conn:
                return list(conn.execute(sql, args).fetchall())
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def open(self, identity: str) -> bool:
        """Keep the rows only if they were written for `identity`."""
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                row = conn.execute(
                    "SELECT value FROM escalate_identity WHERE instance = %s AND kind = %s"
                    " FOR UPDATE",
                    (self.instance, self.kind),
                ).fetchone()
                emptied = row is not None and row[0] != identity
                if row is None or emptied:
                    for table in self.tables:
                        conn.execute(
                            f"DELETE FROM escalate_{table} WHERE instance = %s", (self.instance,)
                        )
                    conn.execute(
                        "INSERT INTO escalate_identity VALUES (%s, %s, %s) ON CONFLICT"
                        " (instance, kind) DO UPDATE SET value = excluded.value",
                        (self.instance, self.kind, identity),
                    )
                return emptied
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def stored_identity(self) -> str | None:
        found = self._query(
            "SELECT value FROM escalate_identity WHERE instance = %s AND kind = %s",
            [self.instance, self.kind],
        )
        return str(found[0][0]) if found else None

    def close(self) -> None:
        pass  # the pool belongs to the store


class PgOwed(Rows):
    kind, tables = "owed", ("owed",)

    def put(self, rows: Sequence[OwedRow], *, keep: bool = False) -> None:
        """Write the rows; `keep`: a row already there stays as it is (an import)."""
        conflict = (
            "DO NOTHING"
            if keep
            else "DO UPDATE SET kind = excluded.kind, body = excluded.body,"
            " text = excluded.text, who = excluded.who, at = excluded.at,"
            " confirmed = excluded.confirmed, old = excluded.old, sent = excluded.sent"
        )
        if rows:
            self._do(
                "INSERT INTO escalate_owed VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT (instance, ticket, state) {conflict}",
                [(self.instance, *row) for row in rows],
            )

    def confirm(self, ticket: str, state: str) -> None:
        self._do(
            "UPDATE escalate_owed SET confirmed = true"
            " WHERE instance = %s AND ticket = %s AND state = %s",
            [(self.instance, ticket, state)],
        )

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        rows = [(self.instance, t, s) for t, s in keys]
        if rows:
            self._do(
                "DELETE FROM escalate_owed WHERE instance = %s AND ticket = %s AND state = %s",
                rows,
            )

    def select(self, ticket: str | None = None) -> list[OwedRow]:
        cols = "ticket, state, kind, body, text, who, at, confirmed, old, sent"
        where, args = "instance = %s", [self.instance]
        if ticket is not None:
            where, args = where + " AND ticket = %s", [self.instance, ticket]
        found = self._query(
            f"SELECT {cols} FROM escalate_owed WHERE {where} ORDER BY at, ticket, state", args
        )
        return [owed_row(row) for row in found]


class PgHistory(Rows):
    kind, tables = "history", ("history",)

    def get(self, tickets: Sequence[str]) -> list[HistoryRow]:
        if not tickets:
            return []
        found = self._query(
            "SELECT ticket, updated_at, events FROM escalate_history"
            " WHERE instance = %s AND ticket = ANY(%s)",
            [self.instance, list(tickets)],
        )
        return [(str(t), str(u), str(e)) for t, u, e in found]

    def put(self, rows: Sequence[HistoryRow]) -> None:
        if rows:
            self._do(
                "INSERT INTO escalate_history VALUES (%s, %s, %s, %s) ON CONFLICT"
                " (instance, ticket) DO UPDATE SET updated_at = excluded.updated_at,"
                " events = excluded.events",
                [(self.instance, *row) for row in rows],
            )

    def dump(self) -> list[HistoryRow]:
        found = self._query(
            "SELECT ticket, updated_at, events FROM escalate_history WHERE instance = %s"
            " ORDER BY ticket",
            [self.instance],
        )
        return [(str(t), str(u), str(e)) for t, u, e in found]

    def prune(self, keep: set[str]) -> int:
        found = self._query(
            "DELETE FROM escalate_history WHERE instance = %s AND NOT (ticket = ANY(%s))"
            " RETURNING ticket",
            [self.instance, sorted(keep)],
        )
        return len(found)


class PgNotices(Rows):
    kind = "notices"

    def add(self, rows: Sequence[NoticeRow]) -> int:
        if not rows:
            return 0
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                added = 0
                for row in rows:
                    cursor = conn.execute(
                        "INSERT INTO escalate_notices VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                        " %s, %s, %s, %s, %s) ON CONFLICT (instance, id) DO NOTHING",
                        (self.instance, *row),
                    )
                    added += cursor.rowcount
                return added
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def plan(self, rows: Sequence[NoticeRow]) -> None:
        if rows:
            self._do(
                "INSERT INTO escalate_notices VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s) ON CONFLICT (instance, id) DO UPDATE SET notice = excluded.notice,"
                " due = excluded.due, updated = excluded.updated"
                " WHERE escalate_notices.status = 'planned'",
                [(self.instance, *row) for row in rows],
            )

    def confirm(self, ids: Sequence[str], at: float) -> None:
        if ids:
            self._do(
                "UPDATE escalate_notices SET status = 'due', updated = %s"
                " WHERE instance = %s AND id = %s AND status = 'planned'",
                [(at, self.instance, i) for i in ids],
            )

    def mark(self, id: str, status: str, attempts: int, error: str, at: float) -> None:
        self._do(
            "UPDATE escalate_notices SET status = %s, attempts = %s, error = %s, updated = %s"
            " WHERE instance = %s AND id = %s",
            [(status, attempts, error, at, self.instance, id)],
        )

    def claim(self, id: str, statuses: Sequence[str], attempts: int, at: float) -> bool:
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                cursor = conn.execute(
                    "UPDATE escalate_notices SET status = 'sending', attempts = %s, error = '',"
                    " updated = %s WHERE instance = %s AND id = %s AND status = ANY(%s)",
                    (attempts, at, self.instance, id, list(statuses)),
                )
                return cursor.rowcount == 1
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def forget(self, ids: Sequence[str]) -> None:
        if ids:
            self._do(
                "DELETE FROM escalate_notices WHERE instance = %s AND id = %s",
                [(self.instance, i) for i in ids],
            )

    def select(
        self, statuses: Sequence[str] | None = None, ticket: str | None = None
    ) -> list[NoticeRow]:
        where, args = ["instance = %s"], list[object]([self.instance])
        if statuses is not None:
            where.append("status = ANY(%s)")
            args.append(list(statuses))
        if ticket is not None:
            where.append("ticket = %s")
            args.append(ticket)
        found = self._query(
            f"SELECT {NOTICE_COLUMNS} FROM escalate_notices WHERE {' AND '.join(where)}"
            " ORDER BY due, id",
            args,
        )
        return [notice_row(row) for row in found]


class PgDue(Rows):
    """The due index (`escalate_due`) and its mark (`escalate_due_mark`), schema step 3."""

    kind, tables = "due", ("due", "due_mark")

    def mark(self) -> DueMark | None:
        found = self._query(
            "SELECT high_water, swept_at, policy FROM escalate_due_mark WHERE instance = %s",
            [self.instance],
        )
        if not found:
            return None
        high_water, swept_at, policy = found[0]
        return DueMark(float(high_water), float(swept_at), str(policy))

    def due(self, until: float) -> list[tuple[str, str]]:
        found = self._query(
            "SELECT d.ticket, d.stamp FROM escalate_due d LEFT JOIN escalate_due_mark m"
            " ON m.instance = d.instance WHERE d.instance = %s"
            " AND (d.next_at <= %s OR m.policy IS DISTINCT FROM d.policy) ORDER BY d.ticket",
            [self.instance, until],
        )
        return [(str(row[0]), str(row[1])) for row in found]

    def put(self, rows: Sequence[DueRow], mark: DueMark, *, sweep: bool = False) -> None:
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                if sweep:
                    conn.execute("DELETE FROM escalate_due WHERE instance = %s", (self.instance,))
                conn.cursor().executemany(
                    "INSERT INTO escalate_due VALUES (%s, %s, %s, %s, %s) ON CONFLICT"
                    " (instance, ticket) DO UPDATE SET next_at = excluded.next_at,"
                    " stamp = excluded.stamp, policy = excluded.policy",
                    [(self.instance, *row) for row in rows],
                )
                conn.execute(
                    "INSERT INTO escalate_due_mark VALUES (%s, %s, %s, %s) ON CONFLICT (instance)"
                    " DO UPDATE SET high_water = excluded.high_water,"
                    " swept_at = excluded.swept_at, policy = excluded.policy",
                    (self.instance, mark.high_water, mark.swept_at, mark.policy),
                )
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def drop(self, tickets: Sequence[str]) -> None:
        if tickets:
            self._query(
                "DELETE FROM escalate_due WHERE instance = %s AND ticket = ANY(%s) RETURNING 1",
                [self.instance, list(tickets)],
            )

    def dump(self) -> list[DueRow]:
        found = self._query(
            "SELECT ticket, next_at, stamp, policy FROM escalate_due WHERE instance = %s"
            " ORDER BY ticket",
            [self.instance],
        )
        return [due_row(row) for row in found]


class PgAudit:
    """The audit log's lines in `escalate_audit`, for `escalate report` on any host (and the
    `escalate_runs` view: a row per run and instance, with its outcome and counts)."""

    def __init__(self, store: Pooled) -> None:
        self.store = store
        self.where = f"{store.where} (audit)"

    def add(self, rows: Sequence[AuditRow]) -> None:
        if not rows:
            return
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                conn.cursor().executemany(
                    "INSERT INTO escalate_audit (at, run, instance, event, line)"
                    " VALUES (%s, %s, %s, %s, %s::jsonb)",
                    [(*row[:4], row[4].replace("\\u0000", "")) for row in rows],  # jsonb: no NUL
                )
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None

    def read(self, since: float, until: float) -> Iterator[str]:
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                cursor = conn.cursor(name="escalate_audit_read")  # server-side: streamed
                cursor.execute(
                    "SELECT line::text FROM escalate_audit WHERE at >= %s AND at <= %s"
                    " ORDER BY at, id",
                    (since, until),
                )
                for (line,) in cursor:
                    yield str(line)
        except psycopg.Error as exc:
            raise pg_error(self.where, exc) from None
