"""The comments a change still owes: the journal that makes a two-request change whole.

A change with both an internal note and a public reply takes two write requests on both
platforms (Zendesk takes one comment per update; a Jira JSM internal note needs its own comment
request). The first request carries the change and its tracking fields, so once it has landed
later runs see the escalation as done and would never send the second comment again. So the
second request's body is written here, keyed by the ticket and the `state` tracking value the
change writes, before the first request is sent. It is removed only on positive knowledge: the
write went in whole (the comment too), or the ticket is gone. Anything else (the second request
failed for good, the first was refused or its fate is unknown, the process died anywhere) leaves
it, and the next run (`send_owed`, before it fetches) settles it, once:

- older than `MAX_AGE_SECONDS` (24 h): dropped and reported without a request (a late "we
  passed your request on" is worse than none);
- written as another platform user than the one signed in now: dropped and reported (the
  connector recognises its own comments by author, so it could not tell whether it landed);
- the ticket's `state` field tells whether the change landed: if it does not hold the value
  the change wrote, the change did not land (the engine redoes it whole, comments included)
  and the entry is dropped quietly; but once an entry is `confirmed` (a writer saw its change
  go in and the comment fail), a different value means a later escalation superseded it: it is
  dropped and reported;
- if the comment is on the ticket already (the request landed before the process died), it
  is not sent again: each adapter looks among the connector's own newest comments;
- otherwise it is sent, exactly as planned, once.

Storage: one SQLite file per instance (`<state_dir>/owed/<instance>.sqlite3`, mode 0600),
committed at each step, so a killed process loses nothing it had recorded; entries for another
account are dropped with a warning. The bodies hold rendered comments (ticket text included),
hence the mode. Without a state directory, or if the file cannot be used, nothing is journaled
and a failed second comment is reported as dropped, as before.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from adapters.sqlite_file import PrivateFile, open_private, state_file

MAX_AGE_SECONDS = 24 * 3600.0
log = structlog.get_logger(__name__)

FORMAT = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS owed (
    ticket TEXT NOT NULL, state TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    text TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL, confirmed INTEGER NOT NULL,
    PRIMARY KEY (ticket, state)
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
    state: str  # the `state` value the change writes ("": none, so it is never sent)
    who: str  # the platform user the connector writes as ("": unknown)
    at: float  # when it became owed (seconds since the epoch, this host's clock)
    confirmed: bool = False  # its change is known to be on the ticket

    @property
    def key(self) -> tuple[str, str]:
        return (self.ticket, self.state)


class Journal(PrivateFile):
    """`owe` before the first request, `paid` once settled, `due` at the next run."""

    event = "owed_journal_off"
    hint = "a second comment that fails this run is reported, not sent later"

    def __init__(self, path: Path | None, identity: str, clock: Callable[[], float]) -> None:
        super().__init__(path)
        self.identity, self.clock = identity, clock
        self.problem = None if path is not None else "no state directory"
        self._opened = False

    @property
    def active(self) -> bool:
        """Whether what is owed is kept (not without a state directory, nor after an error
        with the file)."""
        return self.problem is None

    def _open(self) -> sqlite3.Connection | None:
        """Called under the lock."""
        if self._db is None and not self._opened and self.path is not None:
            self._opened = True
            try:
                identity = f"{FORMAT} {self.identity}"
                self._db, emptied = open_private(self.path, _SCHEMA, identity, ["owed"])
                if emptied:
                    log.warning(
                        "owed_comments_discarded",
                        path=str(self.path),
                        reason="the instance now points at another account",
                    )
            except (OSError, sqlite3.Error) as exc:
                self._off(exc)
        return self._db

    def _do(self, sql: str, rows: list[tuple[Any, ...]]) -> bool:
        with self._lock:
            db = self._open()
            if db is None:
                return False
            if not rows:
                return True
            try:
                db.executemany(sql, rows)
                db.commit()
            except sqlite3.Error as exc:
                self._off(exc)
                return False
        return True

    def owe(self, items: Iterable[Owed]) -> bool:
        """Record comments about to be owed; False if they could not be recorded."""
        rows: list[tuple[Any, ...]] = [
            (o.ticket, o.state, o.kind, json.dumps(o.body), o.text, o.who, o.at, int(o.confirmed))
            for o in items
        ]
        return self._do("INSERT OR REPLACE INTO owed VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def confirm(self, key: tuple[str, str]) -> None:
        """That (ticket, state) change is on the ticket; its comment could not be sent yet."""
        self._do("UPDATE owed SET confirmed = 1 WHERE ticket = ? AND state = ?", [key])

    def paid(self, keys: Iterable[tuple[str, str]]) -> None:
        """These (ticket, state) entries are settled (landed, or given up): forget them."""
        self._do("DELETE FROM owed WHERE ticket = ? AND state = ?", list(keys))

    def due(self) -> list[Owed]:
        """Every comment still owed, oldest first."""
        with self._lock:
            db = self._open()
            if db is None:
                return []
            try:
                rows = db.execute(
                    "SELECT ticket, kind, body, text, state, who, at, confirmed FROM owed"
                    " ORDER BY at"
                ).fetchall()
                return [
                    Owed(t, k, json.loads(b), x, s, w, a, bool(c))
                    for t, k, b, x, s, w, a, c in rows
                ]
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
