"""The embedded backend's files: the state directory's names, the instance lock (`flock`),
and the private SQLite file every table of `state.sqlite` is kept in (one per instance).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from state.errors import Locked, StoreError


def safe(instance: str) -> str:
    """The instance name made safe for a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in instance)


def state_file(state_dir: Path, folder: str, instance: str, suffix: str) -> Path:
    return state_dir / folder / f"{safe(instance)}{suffix}"


class FileLock:
    """`with FileLock(state_dir, name):` raises Locked at once if another run holds it."""

    def __init__(self, state_dir: Path, instance: str) -> None:
        self.instance = instance
        self.path = state_file(state_dir, "locks", instance, ".lock")
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock {self.path}: {exc.strerror}; set run.state_dir"
                " (docs/operations.md) to a writable place"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise Locked(self.instance, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": since}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def alive(self) -> bool:
        return self._fd is not None  # a flock lasts as long as the process

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 200, 0) or b"{}")
        return f"pid {info['pid']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def open_private(
    path: Path, schema: str, identity: str, tables: Sequence[str]
) -> tuple[sqlite3.Connection, bool]:
    """Open (creating it with mode 0600) and apply `schema`. A file written for another
    identity (account, user, format) has its `tables` emptied first; the flag says so.
    Shared across threads: callers serialise with their own lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    db = sqlite3.connect(path, timeout=30, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(
            schema + "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        )
        row = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
        emptied = row is not None and row[0] != identity
        if row is None or emptied:
            for table in tables:
                db.execute(f"DELETE FROM {table}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('identity', ?)", (identity,))
        db.commit()
    except sqlite3.Error:
        db.close()
        raise
    return db, emptied


class RowFile:
    """One private SQLite file; every failure is a StoreError naming the file."""

    table = ""
    schema = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def open(self, identity: str) -> bool:
        with self._lock:
            try:
                self._db, emptied = open_private(self.path, self.schema, identity, [self.table])
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None
            return emptied

    def stored_identity(self) -> str | None:
        """The file's identity, without creating or changing the file."""
        if not self.path.exists():
            return None
        try:
            uri = self.path.resolve().as_uri() + "?mode=ro"  # percent-encoded: any path
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None
        return str(row[0]) if row else None

    def _run(self, sql: str, rows: Sequence[Sequence[object]] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise StoreError(f"{self.path}: not open")
            try:
                if rows:
                    self._db.executemany(sql, rows)
                    self._db.commit()
                    return []
                found = self._db.execute(sql).fetchall()
                self._db.commit()
                return found
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None

    def _change(self, sql: str, args: Sequence[object]) -> int:
        """One statement, committed; the rows it changed."""
        with self._lock:
            if self._db is None:
                raise StoreError(f"{self.path}: not open")
            try:
                changed = self._db.execute(sql, args).rowcount
                self._db.commit()
                return changed
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None

    def _query(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise StoreError(f"{self.path}: not open")
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
