"""The comments a change still owes: the journal that makes a two-request change whole.

A change with both an internal note and a public reply takes two write requests on both
platforms (Zendesk takes one comment per update; a Jira JSM internal note needs its own comment
request). The first request carries the change and its tracking fields, so once it has landed
later runs see the escalation as done and would never send the second comment again. So the
second request's body is written here before the first request is sent, and removed once the
writer knows how it ended (the comment landed, or the change did not). If the second request
fails for good, or the process dies anywhere in between, the entry stays, and the next run
(`send_owed`, before it fetches) settles it, once:

- the ticket's `state` tracking field tells whether the first request landed: if it does not
  hold the value that change wrote, the change did not land (the engine redoes it whole, both
  comments included) and the entry is dropped quietly; but once an entry is `confirmed` (a
  run saw its change on the ticket and could not send the comment), an escalation written
  since supersedes it: it is dropped and reported;
- only if the comment is not on the ticket already (the request may have landed before the
  process died): each adapter looks for it among the connector's own newest comments;
- only within `MAX_AGE_SECONDS` (24 h) of the change: a late "we passed your request on" is
  worse than none; an older entry is dropped and reported.

Storage: one SQLite file per instance (`<state_dir>/owed/<instance>.sqlite3`, mode 0600),
committed at each step, so a killed process loses nothing it had recorded; entries for another
account are dropped with a warning. The bodies hold rendered comments (ticket text included),
hence the mode. Without a state directory, or if the file cannot be used, nothing is journaled
and a failed second comment is reported as dropped, as before.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from adapters.sqlite_file import open_private, state_file

MAX_AGE_SECONDS = 24 * 3600.0
log = structlog.get_logger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS owed (
    ticket TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, text TEXT NOT NULL,
    state TEXT, at REAL NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0
);
"""


def journal_path(state_dir: Path, instance: str) -> Path:
    return state_file(state_dir, "owed", instance, ".sqlite3")


@dataclass(frozen=True)
class Owed:
    """One comment a change still owes its ticket."""

    ticket: str
    kind: str  # "reply" (public) or "note" (internal)
    body: dict[str, Any]  # the request body, exactly as the platform takes it
    text: str  # the comment's plain text, to recognise it on the ticket
    state: str | None  # the `state` value the change wrote (None: not recorded, not checked)
    at: float  # when it became owed (seconds since the epoch, this host's clock)
    confirmed: bool = False  # its change was seen on the ticket


class Journal:
    """`owe` before the first request, `paid` once settled, `due` at the next run."""

    def __init__(self, path: Path | None, identity: str, clock: Callable[[], float]) -> None:
        self.path, self.identity, self.clock = path, identity, clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.problem: str | None = None if path is not None else "no state directory"
        self._opened = False

    def _open(self) -> sqlite3.Connection | None:
        """Called under the lock."""
        if self._db is None and not self._opened and self.path is not None:
            self._opened = True
            try:
                self._db, emptied = open_private(self.path, _SCHEMA, self.identity, ["owed"])
                if emptied:
                    log.warning(
                        "owed_comments_discarded",
                        path=str(self.path),
                        reason="the instance now points at another account",
                    )
            except (OSError, sqlite3.Error) as exc:
                self._off(exc)
        return self._db

    @property
    def active(self) -> bool:
        """Whether what is owed is kept (it is not without a state directory, or after an
        error with the file)."""
        return self.problem is None

    def _off(self, exc: Exception) -> None:
        self.problem = f"{type(exc).__name__}: {exc}"
        if self._db is not None:
            self._db.close()
            self._db = None
        log.warning(
            "owed_journal_off",
            path=str(self.path),
            error=self.problem,
            hint="a second comment that fails this run is reported, not sent later",
        )

    def owe(self, items: Iterable[Owed]) -> bool:
        """Record comments about to be sent; False if they could not be recorded."""
        rows = [
            (o.ticket, o.kind, json.dumps(o.body), o.text, o.state, o.at, int(o.confirmed))
            for o in items
        ]
        with self._lock:
            db = self._open()
            if db is None:
                return False
            if not rows:
                return True
            try:
                db.executemany("INSERT OR REPLACE INTO owed VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                db.commit()
            except sqlite3.Error as exc:
                self._off(exc)
                return False
        return True

    def confirm(self, ticket: str) -> None:
        """Its change is on the ticket (the comment could not be sent yet)."""
        with self._lock:
            db = self._open()
            if db is None:
                return
            try:
                db.execute("UPDATE owed SET confirmed = 1 WHERE ticket = ?", (ticket,))
                db.commit()
            except sqlite3.Error as exc:
                self._off(exc)

    def paid(self, tickets: Sequence[str]) -> None:
        """The comments of these tickets landed (or are given up): forget them."""
        with self._lock:
            db = self._open()
            if db is None or not tickets:
                return
            try:
                db.executemany("DELETE FROM owed WHERE ticket = ?", [(t,) for t in tickets])
                db.commit()
            except sqlite3.Error as exc:
                self._off(exc)

    def due(self) -> list[Owed]:
        """Every comment still owed, oldest first."""
        with self._lock:
            db = self._open()
            if db is None:
                return []
            try:
                rows = db.execute(
                    "SELECT ticket, kind, body, text, state, at, confirmed FROM owed ORDER BY at"
                ).fetchall()
                return [Owed(t, k, json.loads(b), x, s, a, bool(c)) for t, k, b, x, s, a, c in rows]
            except (sqlite3.Error, ValueError) as exc:
                self._off(exc)
                return []

    def expired(self, item: Owed) -> bool:
        return self.clock() - item.at > MAX_AGE_SECONDS

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
