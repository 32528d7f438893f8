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

Storage: the state store's `owed` table of the instance (`state`: one SQLite file per instance,
`<state_dir>/owed/<instance>.sqlite3`, mode 0600; or PostgreSQL, shared by every host),
committed at each step, so a killed process loses nothing it had recorded; entries for another
account are dropped with a warning. The bodies hold rendered comments (ticket text included),
hence the mode. Without a store, or if it cannot be used, nothing is journaled and a failed
second comment is reported as dropped, as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog

from adapters.results import WriteResult
from state import OwedRow, OwedRows, StoreError
from state.sqlite import SqliteOwed
from state.sqlite_file import state_file

MAX_AGE_SECONDS = 24 * 3600.0
log = structlog.get_logger(__name__)

FORMAT = "3"


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
    def tail(self) -> tuple[bool, str, str]:
        return (self.confirmed, self.old, self.sent)


class Journal:
    """`owe` before the first request, `paid` once settled, `due` at the next run. `rows`: the
    store's table (a path: a SQLite file there; None: nothing is kept)."""

    event = "owed_journal_off"
    hint = "a second comment that fails this run is reported, not sent later"

    def __init__(
        self, rows: OwedRows | Path | None, identity: str, clock: Callable[[], float]
    ) -> None:
        self.rows = SqliteOwed(rows) if isinstance(rows, Path) else rows
        self.identity, self.clock = identity, clock
        self.problem: str | None = None if rows is not None else "no state store"
        self._lock = threading.Lock()
        self._opened = False

    @property
    def active(self) -> bool:
        """Whether what is owed is kept (not without a store, nor after an error with it)."""
        return self.problem is None

    def _off(self, exc: Exception) -> None:
        """Called under the lock: said once, and nothing more is kept this run."""
        self.problem = str(exc)
        where = self.rows.where if self.rows is not None else ""
        log.warning(self.event, where=where, error=self.problem, hint=self.hint)
        if self.rows is not None:
            self.rows.close()
        self.rows = None

    def _open(self) -> OwedRows | None:
        """Called under the lock."""
        if self.rows is not None and not self._opened:
            self._opened = True
            try:
                if self.rows.open(f"{FORMAT} {self.identity}"):
                    log.warning(
                        "owed_comments_discarded",
                        where=self.rows.where,
                        reason="the instance now points at another account",
                    )
            except StoreError as exc:
                self._off(exc)
        return self.rows

    def _do(self, step: Callable[[OwedRows], None]) -> bool:
        with self._lock:
            rows = self._open()
            if rows is None:
                return False
            try:
                step(rows)
            except StoreError as exc:
                self._off(exc)
                return False
        return True

    def owe(self, items: Iterable[Owed]) -> bool:
        """Record comments about to be owed; False if they could not be recorded."""
        rows: list[OwedRow] = [
            (o.ticket, o.state, o.kind, json.dumps(o.body), o.text, o.who, o.at, *o.tail)
            for o in items
        ]
        return self._do(lambda table: table.put(rows))

    def confirm(self, key: tuple[str, str]) -> None:
        """That (ticket, state) change is on the ticket; its comment could not be sent yet."""
        self._do(lambda table: table.confirm(*key))

    def paid(self, keys: Iterable[tuple[str, str]]) -> None:
        """These (ticket, state) entries are settled (landed, or given up): forget them."""
        gone = list(keys)
        self._do(lambda table: table.delete(gone))

    def due(self) -> list[Owed]:
        """Every comment still owed, oldest first."""
        return self._rows(None)

    def _rows(self, ticket: str | None) -> list[Owed]:
        with self._lock:
            table = self._open()
            if table is None:
                return []
            try:
                return [
                    Owed(t, k, json.loads(b), x, s, w, a, c, o, st)
                    for t, s, k, b, x, w, a, c, o, st in table.select(ticket)
                ]
            except (StoreError, ValueError) as exc:
                self._off(exc)
                return []

    def supersede(self, ticket: str, keep: Iterable[tuple[str, str]], replaced: str) -> bool:
        """A write to `ticket` went in: its other entries can no longer be sent (a Zendesk
        safe update still pending can no longer land; a comment owed there now belongs to an
        older escalation). Forget them; True if one was owed (its change had landed: it was
        confirmed, or the write replaced its state), so that a comment was lost."""
        kept = set(keep)
        others = [o for o in self._rows(ticket) if o.key not in kept]
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
            if self.rows is not None:
                self.rows.close()


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
