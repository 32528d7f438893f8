"""A one-line progress display on stderr when it is a terminal; silent otherwise (the JSON
logs say the same to a log collector).

Each line names its instance. With instances in parallel (`run --jobs N`) the line shows the
latest news of any of them, one update at a time (a lock keeps two threads from writing into
each other), after how many instances are done: `[3/20 done] zendesk-eu: written 40/90`.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = 0.0
        self._width = 0
        self._fleet = ""
        self._lock = threading.Lock()

    def _show(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._shown < 0.1:
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

    def finish(self) -> None:
        with self._lock:
            if self.enabled and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0
