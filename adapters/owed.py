"""The comments a change still owes: the journal that makes a two-request change whole.

Some changes take two write requests: on Zendesk one with a note and a reply (an update takes
one comment), on Jira one with a JSM-internal or restricted note, or any note when the edit
already carries the reply (the note needs its own comment request). The first request carries
the change and its tracking fields, so once it has landed later runs see the escalation as
done and would never send the second comment again. So the second request's body is written
here, keyed by the ticket and the `state` tracking value the change writes, before the first
request is sent. It is removed only on positive knowledge: the write went in whole (the comment
too), it was refused, or the ticket is gone. Anything else (the second request failed for good,
the first one's fate is unknown, the process died anywhere) leaves it, and the next run
(`send_owed`, before it fetches) settles it, once:

- the ticket's `state` field tells whether the change landed (`verdict`):
  - it holds the value the change wrote: the change landed, the comment is owed;
  - it still holds the value the change replaced (and no writer saw the change go in): the
    change did not land, and the engine redoes it whole, comments included. The entry is
    dropped quietly; but while the ticket's `updated_at` is still the one a Zendesk safe update
    was sent on (a timed-out `update_many` job may still run it), it waits;
  - any other value: a later escalation superseded it; dropped and reported;
- older than `MAX_AGE_SECONDS` (24 h): dropped and reported (a late "we passed your request
  on" is worse than none);
- owed by another platform user than the one signed in now: dropped and reported (the
  connector recognises its own comments by author);
- if the comment is on the ticket already (the request landed before the process died), it
  is not sent again: each adapter looks for a comment of its own with that text, created
  since it became owed;
- otherwise it is sent, exactly as planned, once. A refusal (the ticket closed meanwhile, no
  permission) drops it, reported; anything else keeps it for the next run.

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
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog

from adapters.results import WriteResult
from adapters.sqlite_file import PrivateFile, open_private, state_file

MAX_AGE_SECONDS = 24 * 3600.0
log = structlog.get_logger(__name__)

FORMAT = "3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS owed (
    ticket TEXT NOT NULL, state TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    text TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL, confirmed INTEGER NOT NULL,
    old TEXT NOT NULL, sent TEXT NOT NULL, PRIMARY KEY (ticket, state)
);
"""


class Verdict(StrEnum):
    """What the ticket now says of an owed comment (`Journal.verdict`)."""

    SEND = "its change is there: look for the comment, else send it"
    WAIT = "its change may still land"
    FORGET = "its change never landed: drop it quietly"
    SUPERSEDED = "the ticket was escalated again since"
    EXPIRED = "it is more than 24 hours old"


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
    old: str = ""  # the `state` value the change replaces
    sent: str = ""  # Zendesk: the `updated_at` its safe update is sent on ("": none)

    @property
    def key(self) -> tuple[str, str]:
        return (self.ticket, self.state)

    @property
    def tail(self) -> tuple[int, str, str]:
        return (int(self.confirmed), self.old, self.sent)


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
            (o.ticket, o.state, o.kind, json.dumps(o.body), o.text, o.who, o.at, *o.tail)
            for o in items
        ]
        return self._do("INSERT OR REPLACE INTO owed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def confirm(self, key: tuple[str, str]) -> None:
        """That (ticket, state) change is on the ticket; its comment could not be sent yet."""
        self._do("UPDATE owed SET confirmed = 1 WHERE ticket = ? AND state = ?", [key])

    def paid(self, keys: Iterable[tuple[str, str]]) -> None:
        """These (ticket, state) entries are settled (landed, or given up): forget them."""
        self._do("DELETE FROM owed WHERE ticket = ? AND state = ?", list(keys))

    def due(self) -> list[Owed]:
        """Every comment still owed, oldest first."""
        return self._rows("", ())

    def _rows(self, where: str, args: tuple[str, ...]) -> list[Owed]:
        with self._lock:
            db = self._open()
            if db is None:
                return []
            try:
                rows = db.execute(
                    "SELECT ticket, kind, body, text, state, who, at, confirmed, old, sent"
                    f" FROM owed {where} ORDER BY at",
                    args,
                ).fetchall()
                return [
                    Owed(t, k, json.loads(b), x, s, w, a, bool(c), o, st)
                    for t, k, b, x, s, w, a, c, o, st in rows
                ]
            except (sqlite3.Error, ValueError) as exc:
                self._off(exc)
                return []

    def supersede(self, ticket: str, keep: Iterable[tuple[str, str]], replaced: str) -> bool:
        """A write to `ticket` went in: its other entries can no longer be sent (a Zendesk
        safe update still pending can no longer land; a comment owed there now belongs to an
        older escalation). Forget them; True if one was owed (its change had landed: it was
        confirmed, or the write replaced its state), so that a comment was lost."""
        kept = set(keep)
        others = [o for o in self._rows("WHERE ticket = ?", (ticket,)) if o.key not in kept]
        self.paid(o.key for o in others)
        return any(o.confirmed or (o.state and o.state == replaced) for o in others)

    def expired(self, item: Owed) -> bool:
        return self.clock() - item.at > MAX_AGE_SECONDS

    def verdict(self, item: Owed, state: str, stamp: str, siblings: Iterable[str] = ()) -> Verdict:
        """What the ticket now (its `state` value, "" if none, and its `updated_at`) says of
        an owed comment. `siblings`: the states of the ticket's other entries; the ticket
        holding one of them means this change was re-evaluated into that one (after a
        conflict or a timeout) and never landed itself."""
        if item.state and state == item.state:
            return Verdict.EXPIRED if self.expired(item) else Verdict.SEND
        if state in siblings and not item.confirmed:
            return Verdict.FORGET
        if state == item.old and not item.confirmed:
            pending = item.sent and stamp == item.sent and not self.expired(item)
            return Verdict.WAIT if pending else Verdict.FORGET
        return Verdict.SUPERSEDED

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def superseded(
    journal: Journal, result: WriteResult, keys: Iterable[tuple[str, str]], what: str
) -> WriteResult:
    """`result` went in: what earlier runs owed on its ticket ends here (`Journal.supersede`);
    a comment lost that way is said in the result."""
    assert result.written is not None
    replaced = result.written.tracking.get("state")
    old = "" if replaced is None or replaced.old is None else str(replaced.old).strip()
    if not journal.active or not journal.supersede(result.ticket, keys, old):
        return result
    lost = f"the {what} an earlier run owed is dropped: this change superseded it"
    message = f"{result.message}; {lost}" if result.message else lost
    return replace(result, comment_dropped=True, message=message)
