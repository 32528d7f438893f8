"""A private SQLite file in the state directory, tied to one identity (the history cache and
the owed-comment journal both keep one per instance)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def state_file(state_dir: Path, folder: str, instance: str, suffix: str) -> Path:
    """`<state_dir>/<folder>/<instance><suffix>`, the instance name made safe for a file name."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in instance)
    return state_dir / folder / f"{safe}{suffix}"


def open_private(
    path: Path, schema: str, identity: str, tables: Sequence[str]
) -> tuple[sqlite3.Connection, bool]:
    """Open (creating it with mode 0600) and apply `schema`. A file written for another
    identity (account, user, format) has its `tables` emptied first; the flag says so.
    Shared across threads: callers serialise with their own lock.

    Write-ahead logging without a sync at each commit: a commit survives the process being
    killed the moment after (the case that matters here) and costs no disk flush, so a run can
    commit per ticket; a power cut may lose the last commits."""
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


class PrivateFile:
    """The common part of the history cache and the owed-comment journal: a connection guarded
    by one lock, turned off for the rest of the run at the first error (said once, as `event`
    with `hint`), after which the caller carries on without it."""

    event = "state_file_off"
    hint = ""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.problem: str | None = None  # why it is off for this run

    def _off(self, exc: Exception) -> None:
        """Called under the lock."""
        self.problem = f"{type(exc).__name__}: {exc}"
        if self._db is not None:
            self._db.close()
            self._db = None
        log.warning(self.event, path=str(self.path), error=self.problem, hint=self.hint)
