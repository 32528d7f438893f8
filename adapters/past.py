"""Which past tickets `escalate backtest --instance` reads, on every platform.

A ticket was open at some time in the window [start, end] if it was created by `end` and it was
either updated at or after `start` or is still open now: a ticket done before `start` and not
touched since was done throughout the window. The platforms' query languages take dates in
the account's or the user's time zone, so the queries ask for a day more on each side
(`first_day`, `after_day`), and `holds` then filters exactly on the tickets' timestamps.

The history scope (the instance's `history_scope`) says which tickets a backtest reads; by
default it is the instance's `scope` without the terms that pick open tickets only (a backtest
wants the ones solved since, too); `status_terms` finds those terms on both platforms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rules.history import status_timeline
from rules.model import Ticket

#: Words of a scope that filter by status: a backtest's default scope leaves them out.
STATUS_WORDS = re.compile(
    r"\b(status|statuscategory|resolution|resolved|resolutiondate|solved)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("the window's instants must carry a UTC offset")
        if self.start > self.end:
            raise ValueError("the window ends before it starts")

    @property
    def first_day(self) -> str:
        """The day before `start` (YYYY-MM-DD): updated on or after it, in any time zone."""
        return (self.start.astimezone(UTC) - timedelta(days=1)).date().isoformat()

    @property
    def after_day(self) -> str:
        """Two days after `end`'s date (YYYY-MM-DD): created before it, in any time zone."""
        return (self.end.astimezone(UTC) + timedelta(days=2)).date().isoformat()

    def holds(self, ticket: Ticket) -> bool:
        """The ticket may have been open at some time in the window, from its fields alone (see
        the module's docstring): what a platform's search can ask. `open_in` decides."""
        if ticket.created_at > self.end:
            return False
        return ticket.updated_at >= self.start or not ticket.status_category.done

    def open_in(self, ticket: Ticket) -> bool:
        """The ticket was open at some time in the window, from its status history: a ticket
        solved before the window and closed (or commented on) during it was done throughout."""
        if not self.holds(ticket):
            return False
        if ticket.history is None:
            return True
        spans = status_timeline(ticket)
        start, end = self.start.timestamp(), self.end.timestamp()
        for n, (since, _, category) in enumerate(spans):
            until = spans[n + 1][0] if n + 1 < len(spans) else math.inf
            if since <= end and until > start and not category.done:
                return True
        return False


def status_terms(text: str) -> bool:
    """`text` (a scope clause, its quoted strings left out) filters by status."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', text)
    return STATUS_WORDS.search(unquoted) is not None
