"""A one-line progress display on stderr when it is a terminal; silent otherwise (the JSON
logs say the same to a log collector).

Each line names its instance. With instances in parallel (`run --jobs N`) the line shows the
latest news of any of them, one update at a time (a lock keeps two threads from writing into
each other), after how many instances are done: `[3/20 done] zendesk-eu: written 40/90`.
A backtest shows how many tickets are replayed, and an estimate of the time left from the pace
so far: `backtest: replayed 2,500/10,000 tickets (25%), about 1 min 30 s left`.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from rules.units import human_duration


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.clock = clock
        self._shown = -1.0
        self._began: float | None = None
        self._width = 0
        self._fleet = ""
        self._lock = threading.Lock()

    def _show(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = self.clock()
            if not force and self._shown >= 0 and now - self._shown < 0.1:
                return
            self._shown = now
            text = self._fleet + text
            pad = " " * max(0, self._width - len(text))
            self._width = len(text)
            self.stream.write(f"\r{text}{pad}")
            self.stream.flush()

    def instances(self, done: int, total: int) -> None:
        """Instances in parallel: how many are done, shown before every line from now on."""
        with self._lock:
            self._fleet = f"[{done}/{total} done] " if done < total else ""

    def fetching(self, instance: str, fetched: int, changes: int) -> None:
        self._show(f"{instance}: fetched {fetched:,} tickets, {changes:,} to change")

    def reading(self, instance: str, fetched: int) -> None:
        self._show(f"{instance}: read {fetched:,} tickets")

    def writing(self, instance: str, done: int, total: int, failed: int) -> None:
        failures = f", {failed:,} failed" if failed else ""
        self._show(f"{instance}: written {done:,}/{total:,}{failures}", force=done == total)

    def replaying(self, done: int, total: int | None) -> None:
        """Backtest: tickets replayed so far, of `total` when known, with the time left at the
        pace since the first call (no estimate before a ticket is done)."""
        if not self.enabled:
            return
        now = self.clock()
        if self._began is None:
            self._began = now
        if total is None:
            self._show(f"backtest: replayed {done:,} tickets", force=done == 0)
            return
        share = f" ({100 * done // total}%)" if total else ""
        text = f"backtest: replayed {done:,}/{total:,} tickets{share}"
        if 0 < done < total:
            text += f", about {eta(now - self._began, done, total)} left"
        self._show(text, force=done in (0, total))

    def finish(self) -> None:
        with self._lock:
            if self.enabled and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


def eta(elapsed: float, done: int, total: int) -> str:
    """The time left at the pace so far, rounded up: '8 s', '2 min 10 s', '1 h 05 min'."""
    left = math.ceil(elapsed / done * (total - done))
    return human_duration(left if left < 3600 else math.ceil(left / 60) * 60)
