"""Ticket histories kept between runs, so a run reads history only for tickets updated since.

Zendesk serves a ticket's comments only per ticket (`tickets/{id}/audits`): without a cache, a
policy reading comments costs one request per candidate ticket on every run (10,000 tickets at
300 requests a minute is half an hour). Every new audit moves the ticket's `updated_at`, so the
events read at one `updated_at` are the events as long as the ticket still shows it: a cached
history is used only when the `updated_at` the search returned now is exactly the one it was
read at, and is otherwise read again.

What makes that exact, and its limits:
- `updated_at` has one-second resolution: a history read less than `margin` seconds (60) after
  the ticket's `updated_at` is not kept, because an update in that same second would not move it
  (the margin also absorbs clock skew between this host and the platform up to a minute).
- A comment redacted on the platform does not move `updated_at`; the kept copy holds only the
  text the engine reads (the last public customer comment, `rules.history.without_unread_text`),
  and is refreshed at the ticket's next update.
- Who counts as agent or customer is fixed when the history is read; a user whose role changes
  later is seen with the new role from the ticket's next update on.
- Everything is dropped when the account, the signed-in identity or the format changes; tickets
  that left the scope are dropped after each complete fetch.

Storage: the state store's `history` table of the instance (`state`: one SQLite file per
instance, `<state_dir>/cache/<instance>.history.sqlite3`, mode 0600; or PostgreSQL), committed
per page, so a run killed part-way keeps what it read. Thread-safe: writer threads re-read
tickets through it. It is only a cache: a store that cannot be opened, read or written
(corrupt, disk full, database gone) is logged once and the run goes on reading every history.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import structlog

from rules.history import without_unread_text
from rules.model import Event
from rules.policy import Policy
from rules.ticketio import events_from_json, events_to_json
from state import HistoryRows, StoreError
from state.sqlite import SqliteHistory
from state.sqlite_file import state_file

FORMAT = "2"  # 2: Zendesk group and assignee events by name, not id
MARGIN_SECONDS = 60.0
log = structlog.get_logger(__name__)


def cache_path(state_dir: Path, instance: str) -> Path:
    return state_file(state_dir, "cache", instance, ".history.sqlite3")


class HistoryCache:
    """`get` what is still valid, `put` what was read, `prune` to the tickets in scope. `rows`:
    the store's table (a path: a SQLite file there)."""

    event = "history_cache_off"
    hint = "every ticket history is read this run; delete the file if it is corrupt"

    def __init__(
        self,
        rows: HistoryRows | Path,
        *,
        platform: str,
        policy: Policy,
        margin: float = MARGIN_SECONDS,
    ) -> None:
        self.rows: HistoryRows | None = SqliteHistory(rows) if isinstance(rows, Path) else rows
        self.where = self.rows.where
        self.platform, self.policy, self.margin = platform, policy, margin
        self.hits = self.misses = 0
        self.problem: str | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _off(self, exc: Exception) -> None:
        """Called under the lock: said once, and the cache is not used again this run."""
        self.problem = (
            f"{type(exc).__name__}: {exc}" if not isinstance(exc, StoreError) else str(exc)
        )
        if self.rows is not None:
            self.rows.close()
        self.rows = None
        log.warning(self.event, where=self.where, error=self.problem, hint=self.hint)

    def open(self, identity: str) -> None:
        """Ready the cache for `identity` (the account and who is signed in there); a cache
        written for another identity or format is emptied first."""
        with self._lock:
            if self._ready or self.rows is None:
                return
            try:
                self.rows.open(f"{FORMAT} {identity}")
                self._ready = True
            except StoreError as exc:
                self._off(exc)

    def get(self, stamps: Mapping[str, str]) -> dict[str, tuple[Event, ...]]:
        """The kept histories of the tickets (id -> `updated_at` as the platform wrote it now)
        that have not been updated since they were read."""
        found: dict[str, tuple[Event, ...]] = {}
        with self._lock:
            if self._ready and self.rows is not None:
                try:
                    for ticket, updated_at, events in self.rows.get(list(stamps)):
                        if stamps.get(ticket) == updated_at:
                            found[ticket] = events_from_json(events, self.platform, self.policy)
                except (StoreError, ValueError) as exc:  # ValueError: a row that does not parse
                    self._off(exc)
                    found = {}
            self.hits += len(found)
            self.misses += len(stamps) - len(found)
        return found

    def put(
        self, read: Iterable[tuple[str, str, datetime, Sequence[Event]]], now: datetime
    ) -> None:
        """Keep (ticket id, `updated_at` as written, as parsed, events) read at `now`; those
        updated within `margin` seconds of `now` are not kept."""
        rows = [
            (ticket, stamp, events_to_json(without_unread_text(events)))
            for ticket, stamp, updated, events in read
            if (now - updated).total_seconds() >= self.margin
        ]
        with self._lock:
            if not rows or not self._ready or self.rows is None:
                return
            try:
                self.rows.put(rows)
            except StoreError as exc:
                self._off(exc)

    def prune(self, keep: set[str]) -> int:
        """Drop every ticket not in `keep` (the scope of a complete fetch); how many went."""
        with self._lock:
            if not self._ready or self.rows is None:
                return 0
            try:
                return self.rows.prune(keep)
            except StoreError as exc:
                self._off(exc)
                return 0

    def close(self) -> None:
        with self._lock:
            if self.rows is not None:
                self.rows.close()
                if self._ready and (self.hits or self.misses):  # not for doctor, backtest
                    log.info("history_cache", kept=self.hits, read=self.misses, where=self.where)
                self._ready = False
