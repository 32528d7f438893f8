"""The re-read before each Jira write, in bulk: read ahead for the writes about to be sent.

Jira has no compare-and-set, so each write starts from the issue as it is now (`adapters.writer`
step 1). Read one by one, that is a third request per change. The executor announces the
changes it is about to write, in order (`expect`); the first write to ask for an issue then
reads it together with the next announced issues not read yet, up to `search.BULK_ISSUES` in
one request (`Reader.read_many`), and each of those writes takes its issue from there, once.

What stays as it was: an issue is read again on its own when it was not announced, when the
bulk read left it out (gone, hidden, moved: the single read says which), when its bulk copy is
older than `STALE_SECONDS` (a long write phase; the next window is read then), and for every
re-read after a conflict or an uncertain answer (taken copies are gone). A bulk read that fails
is not fatal: its issues are read one by one, which raises what is wrong with each. Safe to
share between writer threads: one bulk read at a time, the others wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from adapters.errors import AdapterError, AuthError, SetupError
from adapters.http import Clock
from adapters.jira.read import Reader
from adapters.jira.search import BULK_ISSUES
from adapters.outcomes import Fresh

#: How old a bulk copy may be and still stand for "the issue just before writing".
STALE_SECONDS = 30.0
log = structlog.get_logger(__name__)


@dataclass
class _Copy:
    at: float
    raw: dict[str, Any]


class ReadAhead:
    def __init__(self, reader: Reader, clock: Clock, *, window: int = BULK_ISSUES) -> None:
        self.reader, self.clock, self.window = reader, clock, window
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._at: dict[str, int] = {}
        #: Announced issue -> its copy (read ahead), None (not read yet); absent: read alone.
        self._copies: dict[str, _Copy | None] = {}

    def expect(self, tickets: Sequence[str]) -> None:
        """The issues about to be written, in the order the writes start."""
        with self._lock:
            self._order = list(dict.fromkeys(tickets))
            self._at = {key: n for n, key in enumerate(self._order)}
            self._copies = dict.fromkeys(self._order)

    def fresh(self, key: str) -> Fresh:
        """The issue now: its bulk copy, taken once, or else read on its own."""
        raw = self._take(key)
        if raw is None:
            return self.reader.fresh(key)
        return Fresh(raw, self.reader.ticket(raw))

    def _take(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            if key not in self._copies:
                return None
            copy = self._copies[key]
            if copy is None or self.clock() - copy.at > STALE_SECONDS:
                self._read_from(key)
            copy = self._copies.pop(key, None)
            return None if copy is None else copy.raw

    def _read_from(self, key: str) -> None:
        """Read `key` and the next announced issues still waiting (or gone stale), in bulk;
        those the answer leaves out are left to be read alone."""
        now = self.clock()
        keys = []
        for later in self._order[self._at[key] :]:
            if later in self._copies:
                copy = self._copies[later]
                if copy is None or now - copy.at > STALE_SECONDS:
                    keys.append(later)
                    if len(keys) == self.window:
                        break
        try:
            found = self.reader.read_many(keys)
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:
            log.warning("bulk_reread_failed", issues=len(keys), error=str(exc))
            found = {}
        for k in keys:
            raw = found.get(k)
            if raw is None:
                del self._copies[k]
            else:
                self._copies[k] = _Copy(now, raw)
