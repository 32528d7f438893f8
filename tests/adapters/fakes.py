"""The injected clock and sleeper the adapter tests share: time moves only when slept."""

from __future__ import annotations


class FakeTime:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
