"""What webhooks leave for the scheduler: per instance, the tickets to look at soon.

Promises: a ticket named many times before its cycle is looked at once (deduplicated); a burst
waits `debounce` from its first delivery, so it makes one cycle (debounced); at most `capacity`
tickets wait per instance (bounded), and past that the instance's next cycle is a full sweep
instead (never lost). A delivery seen before (the same delivery id, or the same signature) is
recognised and dropped, among the last `remember` deliveries. Thread-safe: webhooks mark from
the server's threads, the scheduler takes from its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Literal

Marked = Literal["queued", "merged", "overflow"]


@dataclass
class _Pending:
    tickets: dict[str, float] = field(default_factory=dict)  # ticket -> when first named
    since: float | None = None  # the oldest waiting delivery
    overflow: bool = False


class Hints:
    def __init__(
        self,
        capacity: int,
        *,
        remember: int = 10_000,
        on_mark: Callable[[], None] = lambda: None,
    ) -> None:
        self.capacity, self.remember, self.on_mark = capacity, remember, on_mark
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, delivery: str) -> bool:
        """True the first time a delivery key is given (then remembered), False after."""
        with self._lock:
            if delivery in self._seen:
                self._seen.move_to_end(delivery)
                return False
            self._seen[delivery] = None
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)
            return True

    def mark(self, instance: str, ticket: str, at: float) -> Marked:
        with self._lock:
            pending = self._pending.setdefault(instance, _Pending())
            if pending.since is None:
                pending.since = at
            if ticket in pending.tickets:
                result: Marked = "merged"
            elif pending.overflow or len(pending.tickets) >= self.capacity:
                pending.overflow, result = True, "overflow"
                pending.tickets.clear()  # the full sweep reads them all
            else:
                pending.tickets[ticket], result = at, "queued"
        self.on_mark()
        return result

    def waiting(self) -> dict[str, int]:
        """Tickets waiting, per instance (an overflowed instance counts as its capacity)."""
        with self._lock:
            return {
                name: self.capacity if p.overflow else len(p.tickets)
                for name, p in self._pending.items()
            }

    def next_due(self, debounce: float, among: Collection[str] | None = None) -> float | None:
        """When the earliest waiting burst is due, if any is waiting (for the instances
        `among`, when given)."""
        with self._lock:
            times = [
                p.since
                for name, p in self._pending.items()
                if p.since is not None and (among is None or name in among)
            ]
        return min(times) + debounce if times else None

    def take(self, instance: str, now: float, debounce: float) -> Taken | None:
        """The instance's waiting tickets, if its burst is due (`debounce` after its first
        delivery); what is taken waits no more."""
        with self._lock:
            pending = self._pending.get(instance)
            if pending is None or pending.since is None or now < pending.since + debounce:
                return None
            del self._pending[instance]
        return Taken(frozenset(pending.tickets), pending.overflow, pending.since)

    def drop(self, instance: str) -> Taken | None:
        """Everything waiting for the instance, taken now (a full sweep covers it)."""
        with self._lock:
            pending = self._pending.pop(instance, None)
        if pending is None or pending.since is None:
            return None
        return Taken(frozenset(pending.tickets), pending.overflow, pending.since)


@dataclass(frozen=True, slots=True)
class Taken:
    """What waited for one instance: the tickets (none after an overflow), whether the queue
    overflowed, and when the oldest delivery came."""

    tickets: frozenset[str]
    overflow: bool
    since: float
