"""Per-ticket facts computed lazily during one evaluation: level, SLA clocks, activity times.

Everything costly (business-time sums, the status timeline) is computed at most once per
ticket and only if a trigger asks for it, which keeps evaluation fast for the common ticket
that matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from rules.clock import AlwaysOn, Calendar
from rules.history import acknowledged_since, status_timeline
from rules.model import StatusCategory, Ticket

if TYPE_CHECKING:
    from rules.policy import Policy, SlaPolicy

ALWAYS = AlwaysOn()


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One SLA target's clock for one ticket at `now`."""

    target: str
    sla: str
    calendar: str
    goal: float
    used: float
    start: float
    due: float | None
    fulfilled: bool
    paused: bool
    paused_spans: tuple[tuple[float, float], ...]

    @property
    def remaining(self) -> float:
        return self.goal - self.used

    @property
    def breached(self) -> bool:
        return self.used >= self.goal

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.goal if self.goal else 100.0

    @property
    def running(self) -> bool:
        return not self.fulfilled and not self.paused


class Facts:
    """The lazily computed view of one ticket at one instant."""

    def __init__(self, policy: Policy, ticket: Ticket, now: datetime) -> None:
        self.policy = policy
        self.ticket = ticket
        self.now = now
        self.now_ts = now.timestamp()

    @cached_property
    def level_index(self) -> int:
        return self.policy.level_index.get(self.ticket.tracking.level or "", 0)

    @cached_property
    def level(self) -> str:
        return self.policy.levels[self.level_index].name

    @cached_property
    def priority_rank(self) -> int:
        """1 is the most urgent; a ticket without priority ranks below the lowest."""
        rank = self.ticket.priority_rank
        return rank if rank is not None else len(self.policy.priorities) + 1

    @cached_property
    def sla(self) -> SlaPolicy | None:
        for candidate in self.policy.slas:
            if candidate.match is None or candidate.match.test(self):
                return candidate
        return None

    @cached_property
    def calendar(self) -> Calendar:
        """The ticket's calendar: its SLA policy's, else the policy default."""
        if self.sla is not None:
            return self.sla.calendar
        return self.policy.calendars[self.policy.defaults.calendar]

    def clock(self, mode: str | None, calendar: str | None) -> Calendar:
        if (mode or self.policy.defaults.time) == "calendar":
            return ALWAYS
        return self.policy.calendars[calendar] if calendar else self.calendar

    @cached_property
    def timeline(self) -> list[tuple[float, str, StatusCategory]]:
        return status_timeline(self.ticket)

    def spans_where(self, statuses: frozenset[str]) -> tuple[tuple[float, float], ...]:
        """The [start, end) spans, up to now, during which the status was in `statuses`."""
        spans: list[tuple[float, float]] = []
        line = self.timeline
        for i, (start, raw, category) in enumerate(line):
            if raw.lower() in statuses or category.value in statuses:
                end = line[i + 1][0] if i + 1 < len(line) else self.now_ts
                if end > start:
                    spans.append((start, min(end, self.now_ts)))
        return tuple(spans)

    @cached_property
    def targets(self) -> dict[str, TargetStatus]:
        sla = self.sla
        if sla is None:
            return {}
        return {
            name: status
            for name, target in sla.targets.items()
            if (status := target.measure(self, sla)) is not None
        }

    @cached_property
    def soonest_due(self) -> float | None:
        dues = [t.due for t in self.targets.values() if t.running and t.due is not None]
        return min(dues) if dues else None

    @cached_property
    def activity_ts(self) -> float:
        """The last human activity: connector writes never count (DESIGN.md promise 4)."""
        ticket = self.ticket
        if ticket.last_activity_at is not None:
            return ticket.last_activity_at.timestamp()
        state = ticket.tracking.state
        updated = ticket.updated_at.timestamp()
        if state.written_at is not None:
            ours = state.written_at.timestamp() + self.policy.defaults.own_write_grace
            if updated <= ours:
                baseline = state.activity_at or ticket.created_at
                return baseline.timestamp()
        return updated

    @cached_property
    def status_since_ts(self) -> float:
        return self.timeline[-1][0]

    def acknowledged_since(self, since: datetime) -> bool:
        if acknowledged_since(self.ticket, since):
            return True
        state = self.ticket.tracking.state
        if self.ticket.history is None and state.written_at is not None:
            return self.activity_ts > state.written_at.timestamp()
        return False


def ts_to_dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
