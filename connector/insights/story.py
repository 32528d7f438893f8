"""What a ticket's history says, for `escalate report`: its status spans, when it was
reopened, and when an agent parked it in a paused status right after the customer wrote.

Built from the history the adapter read (`Ticket.history`); a ticket read without one has no
story and counts in none of these figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rules.history import status_timeline
from rules.model import Actor, EventKind, StatusCategory, Ticket

#: "Right after" a customer's reply: the paused status was set within this many seconds of it,
#: with no public answer from an agent in between.
PARK_WITHIN = 30 * 60.0
PAUSED = frozenset({StatusCategory.PENDING.value, StatusCategory.HOLD.value})


@dataclass(frozen=True, slots=True)
class Parked:
    """A customer's public reply, then an agent's paused status with no public answer."""

    replied_at: float
    parked_at: float
    status: str


@dataclass
class Story:
    spans: list[tuple[float, str, StatusCategory]]  # (since, raw status, category), in order
    reopened: list[float] = field(default_factory=list)  # instants a done ticket came back
    parked: list[Parked] = field(default_factory=list)

    _open: list[tuple[float, float]] | None = field(default=None, repr=False, compare=False)

    def open_in(self, start: float, end: float) -> bool:
        """Not done at some instant of [start, end)."""
        if self._open is None:  # asked once per day or week: the spans are worked out once
            self._open = [(a, b) for a, b, _, c in self.stays() if not c.done]
        return any(since < end and until > start for since, until in self._open)

    def stays(self, now: float = math.inf) -> list[tuple[float, float, str, StatusCategory]]:
        """(since, until, raw status, category): each span with its end (`now` for the last)."""
        out = []
        for n, (since, raw, category) in enumerate(self.spans):
            until = self.spans[n + 1][0] if n + 1 < len(self.spans) else now
            out.append((since, max(since, until), raw, category))
        return out

    def done_after(self, at: float) -> float | None:
        """The first instant after `at` the ticket was solved or closed, if it was."""
        return next((since for since, _, c in self.spans if since > at and c.done), None)

    def time_in_status(self, start: float, end: float) -> dict[str, float]:
        """Seconds in each status (raw name) inside [start, end); done statuses left out."""
        spent: dict[str, float] = {}
        for since, until, raw, category in self.stays(end):
            inside = min(until, end) - max(since, start)
            if inside > 0 and not category.done:
                spent[raw] = spent.get(raw, 0.0) + inside
        return spent


def story(ticket: Ticket, pause: frozenset[str] = PAUSED) -> Story | None:
    """The ticket's story, or None without a history; `pause`: the statuses (raw names or
    categories, lower case) that pause an SLA clock."""
    if ticket.history is None:
        return None
    spans = status_timeline(ticket)
    reopened = [
        spans[n][0] for n in range(1, len(spans)) if spans[n - 1][2].done and not spans[n][2].done
    ]
    return Story(spans, reopened, parked(ticket, pause))


def parked(ticket: Ticket, pause: frozenset[str] = PAUSED) -> list[Parked]:
    """Each paused status an agent set within PARK_WITHIN of a customer's public reply (not
    the ticket's description), with no public agent comment from the reply to the change (an
    answer sent in the same update is an answer)."""
    found: list[Parked] = []
    replied: float | None = None
    described = False
    events = sorted(ticket.history or (), key=lambda e: (e.at, e.kind is EventKind.STATUS))
    for event in events:
        at = event.at.timestamp()
        if event.kind is EventKind.COMMENT and event.public:
            if event.actor is Actor.CUSTOMER:
                replied = at if described else None
            elif event.actor is Actor.AGENT:
                replied = None
            described = True
        elif event.kind is EventKind.STATUS and replied is not None:
            raw = (event.value or "").lower()
            category = event.category.value if event.category is not None else ""
            paused = raw in pause or category in pause
            if paused and event.actor is Actor.AGENT and at - replied <= PARK_WITHIN:
                found.append(Parked(replied, at, event.value or category))
                replied = None
    return found
