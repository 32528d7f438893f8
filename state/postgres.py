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
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from state.errors import Locked, StoreError
from state.migrations import migrate
from state.pg_rows import PgAudit, PgDue, PgHistory, PgNotices, PgOwed, pg_error

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
                raise pg_error(f"at {self.where}", exc) from None
            self._pool = pool
        return self._pool

    def migrate(self) -> list[int]:
        """Apply the schema steps the database lacks (`escalate state migrate`)."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                return migrate(conn)
        except (psycopg.Error, OSError) as exc:
            raise pg_error(f"at {self.where}", exc) from None

    def lock(self, instance: str) -> AdvisoryLease:
        self.pool()  # the schema first (and a clear error if the database is unreachable)
        try:
            conn = psycopg.connect(self.lock_conninfo, autocommit=True)
        except (psycopg.Error, OSError) as exc:
            raise pg_error(f"at {self.where}", exc) from None
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (lock_key(instance),)
            ).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise pg_error(f"at {self.where}", exc) from None
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
