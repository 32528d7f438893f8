"""The shared backend: one PostgreSQL database for any number of hosts (psycopg 3).

- The lock: `pg_try_advisory_lock` on the instance's key, on a connection of its own held for
  the whole run (`AdvisoryLease`). PostgreSQL releases it when that session ends, however the
  process ends (kill -9 included), or when the connection drops; TCP keepalives make a dead
  path show within about a minute. `alive()` asks the connection before each write batch: a
  run whose lock connection is gone stops writing, because another run may hold it by then.
- The tables (`state.migrations`): the journal and the history cache of every instance, each row
  keyed by its instance, in a pool of connections (`psycopg_pool`) shared by the run's threads.
- The password never appears in the URL: it comes from the environment or a file (the config's
  `state.password`), and messages name the database without it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from state.errors import Locked, StoreError
from state.migrations import migrate
from state.protocol import AuditRow, DueMark, DueRow, HistoryRow, NoticeRow, OwedRow
from state.sqlite import NOTICE_COLUMNS, due_row, notice_row, owed_row

KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
KEEPALIVE |= {"keepalives_count": 3, "connect_timeout": 10, "tcp_user_timeout": 60_000}
#: The lock's own session: never closed by the server for idling through a long fetch, and
#: its `SELECT 1` bounded, so a lock check cannot hang on a database that stopped answering.
LOCK_OPTIONS = "-c idle_session_timeout=0 -c idle_in_transaction_session_timeout=0"
LOCK_OPTIONS += " -c statement_timeout=15000"
APP = "escalation-connector"


def shown(url: str) -> str:
    """The database URL without a password, for messages."""
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)[-1]  # every host:port as written (libpq takes lists)
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0] if "@" in parts.netloc else ""
    netloc = f"{user}@{hosts}" if user else hosts
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _error(where: str, exc: Exception) -> StoreError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(f"PostgreSQL {where}: {first}")


def lock_key(instance: str) -> str:
    return f"escalation-connector/{instance}"


class AdvisoryLease:
    """A held advisory lock, on its own connection."""

    def __init__(self, connection: psycopg.Connection[Any], instance: str) -> None:
        self.connection, self.instance = connection, instance

    def alive(self) -> bool:
        if self.connection.closed or self.connection.broken:
            return False
        try:
            self.connection.execute("SELECT 1").fetchone()
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        try:
            if not self.connection.closed:
                self.connection.execute(
                    "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (lock_key(self.instance),)
                )
        except psycopg.Error:
            pass  # the session is gone, and the lock with it
        finally:
            self.connection.close()


class PostgresStore:
    kind = "postgresql"

    def __init__(self, url: str, password: str | None = None, *, pool_size: int = 4) -> None:
        self.where = shown(url)
        extra = {"password": password} if password else {}
        try:
            self.conninfo = make_conninfo(url, application_name=APP, **KEEPALIVE, **extra)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"state.url {self.where}: {exc}") from None
        self.lock_conninfo = make_conninfo(self.conninfo, options=LOCK_OPTIONS)
        self._pool: ConnectionPool | None = None
        self._opening = threading.Lock()
        self.pool_size = pool_size

    def pool(self) -> ConnectionPool:
        """The shared connections, opened (and the schema migrated) on first use, once however
        many threads ask at the same time."""
        with self._opening:
            return self._open_pool()

    def _open_pool(self) -> ConnectionPool:
        if self._pool is None:
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as first:
                    migrate(first)
                pool = ConnectionPool(
                    self.conninfo,
                    min_size=0,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True},
                    open=True,
                    timeout=30,
                )
            except (psycopg.Error, OSError) as exc:
                raise _error(f"at {self.where}", exc) from None
            self._pool = pool
        return self._pool

    def migrate(self) -> list[int]:
        """Apply the schema steps the database lacks (`escalate state migrate`)."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                return migrate(conn)
        except (psycopg.Error, OSError) as exc:
            raise _error(f"at {self.where}", exc) from None

    def lock(self, instance: str) -> AdvisoryLease:
        self.pool()  # the schema first (and a clear error if the database is unreachable)
        try:
            conn = psycopg.connect(self.lock_conninfo, autocommit=True)
        except (psycopg.Error, OSError) as exc:
            raise _error(f"at {self.where}", exc) from None
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (lock_key(instance),)
            ).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise _error(f"at {self.where}", exc) from None
        if not row or not row[0]:
            conn.close()
            raise Locked(instance, f"held by another connection to {self.where}")
        return AdvisoryLease(conn, instance)

    def owed(self, instance: str) -> PgOwed:
        return PgOwed(self, instance)

    def history(self, instance: str) -> PgHistory:
        return PgHistory(self, instance)

    def notices(self, instance: str) -> PgNotices:
        return PgNotices(self, instance)

    def due(self, instance: str) -> PgDue:
        return PgDue(self, instance)

    def audit(self) -> PgAudit:
        return PgAudit(self)

    def close(self) -> None:
        with self._opening:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


class _Rows:
    """One instance's rows of one table."""

    kind = ""
    tables: tuple[str, ...] = ()  # emptied when the identity changes

    def __init__(self, store: PostgresStore, instance: str) -> None:
        self.store, self.instance = store, instance
        self.where = f"{store.where} ({self.kind}, instance {instance})"

    def _do(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            with self.store.pool().connection() as conn, conn.transaction():
                conn.cursor().executemany(sql, rows)
        except psycopg.Error as exc:
            raise _error(self.where, exc) from None

    def _query(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            with self.store.pool().connection() as conn:
                return list(conn.execute(sql, args).fetchall())
        except psycopg.Error as exc:
            raise _error(self.where, exc) from None

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
            raise _error(self.where, exc) from None

    def stored_identity(self) -> str | None:
        found = self._query(
            "SELECT value FROM escalate_identity WHERE instance = %s AND kind = %s",
            [self.instance, self.kind],
        )
        return str(found[0][0]) if found else None

    def close(self) -> None:
        pass  # the pool belongs to the store


class PgOwed(_Rows):
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


class PgHistory(_Rows):
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


class PgNotices(_Rows):
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
            raise _error(self.where, exc) from None

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
            raise _error(self.where, exc) from None

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


class PgDue(_Rows):
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
            raise _error(self.where, exc) from None

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

    def __init__(self, store: PostgresStore) -> None:
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
            raise _error(self.where, exc) from None

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
            raise _error(self.where, exc) from None
