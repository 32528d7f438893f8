"""A one-line progress display on stderr when it is a terminal; silent otherwise (the JSON
logs say the same to a log collector)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = 0.0
        self._width = 0

    def _show(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._shown < 0.1:
            return
        self._shown = now
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()

    def fetching(self, instance: str, fetched: int, changes: int) -> None:
        self._show(f"{instance}: fetched {fetched:,} tickets, {changes:,} to change")

    def reading(self, instance: str, fetched: int) -> None:
        self._show(f"{instance}: read {fetched:,} tickets")

    def writing(self, instance: str, done: int, total: int, failed: int) -> None:
        failures = f", {failed:,} failed" if failed else ""
        self._show(f"{instance}: written {done:,}/{total:,}{failures}", force=done == total)

    def finish(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
