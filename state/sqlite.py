"""The embedded backend: files in the state directory, for one host.

- The lock (`state.sqlite_file`): an advisory `flock` on `<state_dir>/locks/<instance>.lock`.
  The kernel releases it when the process ends, however it ends (kill -9 included), so a
  crashed run never leaves a stale lock. The file holds the holder's pid and start time, only
  to say who holds it.
- The journal, the cache and the due index: one private SQLite file each per instance
  (`<state_dir>/owed/<instance>.sqlite3`, `<state_dir>/cache/<instance>.history.sqlite3`,
  `<state_dir>/due/<instance>.sqlite3`, mode 0600), write-ahead logged without a
  sync at each commit: a commit survives the process being killed the moment after (the case
  that matters) and costs no disk flush; a power cut may lose the last commits.

Two hosts with two state directories do not see each other's lock: run an instance from one
host only (PostgreSQL, `state.postgres`, lifts that).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from state.errors import StoreError
from state.protocol import DueMark, DueRow, HistoryRow, NoticeRow, OwedRow
from state.sqlite_file import FileLock, RowFile, state_file

OWED_SCHEMA = """
CREATE TABLE IF NOT EXISTS owed (
    ticket TEXT NOT NULL, state TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    text TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL, confirmed INTEGER NOT NULL,
    old TEXT NOT NULL, sent TEXT NOT NULL, PRIMARY KEY (ticket, state)
);
"""
HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    ticket TEXT PRIMARY KEY, updated_at TEXT NOT NULL, events TEXT NOT NULL
);
"""
NOTICES_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    id TEXT PRIMARY KEY, ticket TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL,
    event TEXT NOT NULL, due REAL NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    notice TEXT NOT NULL, error TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_open ON notices (status, due);
"""
NOTICE_COLUMNS = (
    "id, ticket, channel, key, event, due, status, attempts, notice, error, created, updated"
)

DUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS due (
    ticket TEXT PRIMARY KEY, next_at REAL, stamp TEXT NOT NULL, policy TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS due_next ON due (next_at);
CREATE TABLE IF NOT EXISTS due_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1), high_water REAL NOT NULL, swept_at REAL NOT NULL,
    policy TEXT NOT NULL
);
"""


class SqliteOwed(RowFile):
    table, schema = "owed", OWED_SCHEMA

    def put(self, rows: Sequence[OwedRow], *, keep: bool = False) -> None:
        verb = "INSERT OR IGNORE" if keep else "INSERT OR REPLACE"
        if rows:
            self._run(f"{verb} INTO owed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def confirm(self, ticket: str, state: str) -> None:
        self._run("UPDATE owed SET confirmed = 1 WHERE ticket = ? AND state = ?", [(ticket, state)])

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        rows = list(keys)
        if rows:
            self._run("DELETE FROM owed WHERE ticket = ? AND state = ?", rows)

    def select(self, ticket: str | None = None) -> list[OwedRow]:
        where, args = ("WHERE ticket = ?", [ticket]) if ticket is not None else ("", [])
        cols = "ticket, state, kind, body, text, who, at, confirmed, old, sent"
        order = "ORDER BY at, ticket, state"  # oldest first, ties in a fixed order
        found = self._query(f"SELECT {cols} FROM owed {where} {order}", args)
        return [owed_row(row) for row in found]


def owed_row(row: Sequence[Any]) -> OwedRow:
    """A stored row as the journal takes it (both backends)."""
    t, s, k, b, x, w, a, c, o, st = row
    return (str(t), str(s), str(k), str(b), str(x), str(w), float(a), bool(c), str(o), str(st))


class SqliteHistory(RowFile):
    table, schema = "history", HISTORY_SCHEMA

    def get(self, tickets: Sequence[str]) -> list[HistoryRow]:
        out: list[HistoryRow] = []
        for start in range(0, len(tickets), 500):
            part = list(tickets[start : start + 500])
            marks = ",".join("?" * len(part))
            sql = f"SELECT ticket, updated_at, events FROM history WHERE ticket IN ({marks})"
            out += [(str(t), str(u), str(e)) for t, u, e in self._query(sql, part)]
        return out

    def put(self, rows: Sequence[HistoryRow]) -> None:
        if rows:
            self._run("INSERT OR REPLACE INTO history VALUES (?, ?, ?)", rows)

    def dump(self) -> list[HistoryRow]:
        found = self._query("SELECT ticket, updated_at, events FROM history ORDER BY ticket", [])
        return [(str(t), str(u), str(e)) for t, u, e in found]

    def prune(self, keep: set[str]) -> int:
        kept = {str(row[0]) for row in self._query("SELECT ticket FROM history", [])}
        gone = [(t,) for t in kept - keep]
        if gone:
            self._run("DELETE FROM history WHERE ticket = ?", gone)
        return len(gone)


class SqliteNotices(RowFile):
    """One instance's notices (`<state_dir>/notices/<instance>.sqlite3`, mode 0600: the
    notices hold ticket text), opened on first use."""

    table, schema = "notices", NOTICES_SCHEMA

    def _ready(self) -> None:
        if self._db is None:
            self.open("notices 1")

    def add(self, rows: Sequence[NoticeRow]) -> int:
        self._ready()
        if not rows:
            return 0
        before = self._query("SELECT count(*) FROM notices", [])[0][0]
        self._run("INSERT OR IGNORE INTO notices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return int(self._query("SELECT count(*) FROM notices", [])[0][0]) - int(before)

    def plan(self, rows: Sequence[NoticeRow]) -> None:
        self._ready()
        if rows:
            self._run(
                "INSERT INTO notices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id)"
                " DO UPDATE SET notice = excluded.notice, due = excluded.due,"
                " updated = excluded.updated WHERE notices.status = 'planned'",
                rows,
            )

    def confirm(self, ids: Sequence[str], at: float) -> None:
        self._ready()
        if ids:
            self._run(
                "UPDATE notices SET status = 'due', updated = ? WHERE id = ?"
                " AND status = 'planned'",
                [(at, i) for i in ids],
            )

    def mark(self, id: str, status: str, attempts: int, error: str, at: float) -> None:
        self._ready()
        self._run(
            "UPDATE notices SET status = ?, attempts = ?, error = ?, updated = ? WHERE id = ?",
            [(status, attempts, error, at, id)],
        )

    def claim(self, id: str, statuses: Sequence[str], attempts: int, at: float) -> bool:
        self._ready()
        sql = "UPDATE notices SET status = 'sending', attempts = ?, error = '', updated = ?"
        sql += f" WHERE id = ? AND status IN ({','.join('?' * len(statuses))})"
        return self._change(sql, [attempts, at, id, *statuses]) == 1

    def forget(self, ids: Sequence[str]) -> None:
        self._ready()
        if ids:
            self._run("DELETE FROM notices WHERE id = ?", [(i,) for i in ids])

    def select(
        self, statuses: Sequence[str] | None = None, ticket: str | None = None
    ) -> list[NoticeRow]:
        if self._db is None and not self.path.exists():
            return []  # nothing kept yet: no file is made to say so
        self._ready()
        where, args = ["1 = 1"], list[object]()
        if statuses is not None:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += list(statuses)
        if ticket is not None:
            where.append("ticket = ?")
            args.append(ticket)
        sql = f"SELECT {NOTICE_COLUMNS} FROM notices WHERE {' AND '.join(where)} ORDER BY due, id"
        return [notice_row(row) for row in self._query(sql, args)]


def notice_row(row: Sequence[Any]) -> NoticeRow:
    """A stored row as the outbox takes it (both backends)."""
    i, t, c, k, e, d, s, a, n, err, cr, up = row
    return (
        str(i), str(t), str(c), str(k), str(e), float(d), str(s), int(a), str(n), str(err),
        float(cr), float(up),
    )  # fmt: skip


def due_row(row: Sequence[Any]) -> DueRow:
    ticket, next_at, stamp, policy = row
    return (str(ticket), None if next_at is None else float(next_at), str(stamp), str(policy))


class SqliteDue(RowFile):
    table, schema = "due", DUE_SCHEMA

    def open(self, identity: str) -> bool:
        emptied = super().open(identity)
        if emptied:  # rows for another account: its mark goes with them
            self._run("DELETE FROM due_mark WHERE id = ?", [(1,)])
        return emptied

    def mark(self) -> DueMark | None:
        found = self._query("SELECT high_water, swept_at, policy FROM due_mark", [])
        if not found:
            return None
        high_water, swept_at, policy = found[0]
        return DueMark(float(high_water), float(swept_at), str(policy))

    def due(self, until: float) -> list[tuple[str, str]]:
        mark = self.mark()
        policy = mark.policy if mark is not None else ""
        found = self._query(
            "SELECT ticket, stamp FROM due WHERE next_at <= ? OR policy != ? ORDER BY ticket",
            [until, policy],
        )
        return [(str(row[0]), str(row[1])) for row in found]

    def put(self, rows: Sequence[DueRow], mark: DueMark, *, sweep: bool = False) -> None:
        with self._lock:
            if self._db is None:
                raise StoreError(f"{self.path}: not open")
            try:
                with self._db:  # one transaction: the rows and the mark, or neither
                    if sweep:
                        self._db.execute("DELETE FROM due")
                    self._db.executemany("INSERT OR REPLACE INTO due VALUES (?, ?, ?, ?)", rows)
                    self._db.execute(
                        "INSERT OR REPLACE INTO due_mark VALUES (1, ?, ?, ?)",
                        (mark.high_water, mark.swept_at, mark.policy),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {type(exc).__name__}: {exc}") from None

    def drop(self, tickets: Sequence[str]) -> None:
        if tickets:
            self._run("DELETE FROM due WHERE ticket = ?", [(t,) for t in tickets])

    def dump(self) -> list[DueRow]:
        found = self._query("SELECT ticket, next_at, stamp, policy FROM due ORDER BY ticket", [])
        return [due_row(row) for row in found]


class SqliteStore:
    """The state directory, for one host."""

    kind = "sqlite"

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.where = str(state_dir)

    def lock(self, instance: str) -> FileLock:
        return FileLock(self.state_dir, instance).__enter__()

    def owed(self, instance: str) -> SqliteOwed:
        return SqliteOwed(state_file(self.state_dir, "owed", instance, ".sqlite3"))

    def history(self, instance: str) -> SqliteHistory:
        return SqliteHistory(state_file(self.state_dir, "cache", instance, ".history.sqlite3"))

    def notices(self, instance: str) -> SqliteNotices:
        return SqliteNotices(state_file(self.state_dir, "notices", instance, ".sqlite3"))

    def due(self, instance: str) -> SqliteDue:
        return SqliteDue(state_file(self.state_dir, "due", instance, ".sqlite3"))

    def audit(self) -> None:
        return None  # the audit log is its file, in the state directory

    def close(self) -> None:
        pass
