"""Per-ticket facts computed lazily during one evaluation: level, SLA clocks, activity times.

Everything costly (business-time sums, the status timeline) is computed at most once per
ticket and only if a trigger asks for it, which keeps evaluation fast for the common ticket
that matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rules.clock import AlwaysOn, Calendar
from rules.history import acknowledged_since, status_timeline
from rules.model import StatusCategory, Ticket

if TYPE_CHECKING:
    from rules.policy import Policy, SlaPolicy

ALWAYS = AlwaysOn()
_UNSET = object()


class Unknown:
    """What the policy's `gates` answer when a ticket's ranks alone do not decide."""


UNKNOWN = Unknown()


class TargetStatus:
    """One SLA target's clock for one ticket at `now`; the deadline is computed on first use."""

    __slots__ = (
        "_calendar",
        "_due",
        "calendar",
        "fulfilled",
        "goal",
        "paused",
        "paused_spans",
        "sla",
        "start",
        "target",
        "used",
    )

    def __init__(
        self,
        target: str,
        sla: str,
        calendar: Calendar,
        goal: float,
        used: float,
        start: float,
        fulfilled: bool,
        paused: bool,
        paused_spans: tuple[tuple[float, float], ...],
    ) -> None:
        self.target, self.sla, self.goal, self.used, self.start = target, sla, goal, used, start
        self.calendar, self._calendar = calendar.name, calendar
        self.fulfilled, self.paused, self.paused_spans = fulfilled, paused, paused_spans
        self._due: float | object | None = _UNSET

    @property
    def due(self) -> float | None:
        """When the target is breached, given the pauses so far; None while paused or done."""
        if self._due is _UNSET:
            self._due = (
                None
                if self.paused or self.fulfilled
                else self._calendar.add_ts(self.start, self.goal, self.paused_spans)
            )
        return self._due  # type: ignore[return-value]

    @property
    def breached_at(self) -> float | None:
        """The instant the target was breached (`used` reached `goal`), or None if it was not."""
        if not self.breached:
            return None
        return self._calendar.add_ts(self.start, self.goal, self.paused_spans)

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
    """The lazily computed view of one ticket at one instant (hot path: plain slots, no locks)."""

    __slots__ = (
        "_activity",
        "_all",
        "_sla",
        "_soonest",
        "_spans",
        "_targets",
        "_timeline",
        "done",
        "level_index",
        "memo",
        "now",
        "now_ts",
        "policy",
        "priority_rank",
        "ticket",
    )

    def __init__(self, policy: Policy, ticket: Ticket, now: datetime) -> None:
        self.policy = policy
        self.ticket = ticket
        self.now = now
        self.now_ts = now.timestamp()
        self.level_index: int = policy.level_index.get(ticket.tracking.level or "", 0)
        rank = ticket.priority_rank
        #: 1 is the most urgent; a ticket without priority ranks below the lowest.
        self.priority_rank: int = rank if rank is not None else len(policy.priorities) + 1
        self.done: bool = ticket.status_category.done
        self._sla: SlaPolicy | object | None = _UNSET
        self._targets: dict[str, TargetStatus | None] = {}
        self._timeline: list[tuple[float, str, StatusCategory]] | None = None
        self._activity: float | None = None
        # Each SLA target of a policy shares its pause statuses: measured once per ticket.
        self._spans: dict[frozenset[str], tuple[tuple[float, float], ...]] = {}
        self._all: dict[str, TargetStatus] | None = None
        self._soonest: float | object | None = _UNSET
        #: Values other modules derive from these facts alone, kept for the ticket's evaluation
        #: (the template variables that do not depend on the rule, say): read, never changed.
        self.memo: dict[str, object] = {}

    def follow(self, ticket: Ticket) -> Facts:
        """The facts of `ticket`, this ticket with a change applied at the same instant
        (rules.apply: owner, priority, tags, fields, tracking). What depends only on the
        status history is carried over when that is untouched, and the SLA clocks too when
        the same SLA policy applies and their start and stop times are untouched: measuring
        them again would give the same values."""
        new = Facts(self.policy, ticket, self.now)
        old = self.ticket
        if not (
            ticket.history is old.history
            and ticket.status == old.status
            and ticket.status_category is old.status_category
            and ticket.status_since == old.status_since
            and ticket.created_at == old.created_at
        ):
            return new
        new._timeline, new._spans = self._timeline, dict(self._spans)
        if (
            ticket.first_response_at == old.first_response_at
            and ticket.awaiting_reply_since == old.awaiting_reply_since
            and new.sla is self.sla
        ):
            new._targets, new._all, new._soonest = dict(self._targets), self._all, self._soonest
        return new

    @property
    def level(self) -> str:
        return self.policy.levels[self.level_index].name

    @property
    def sla(self) -> SlaPolicy | None:
        if self._sla is _UNSET:
            known = self.policy.gates.sla(self)  # by the ticket's ranks, if they decide it
            self._sla = (
                next((c for c in self.policy.slas if c.match is None or c.match.test(self)), None)
                if known is UNKNOWN
                else known
            )
        return self._sla  # type: ignore[return-value]

    @property
    def calendar(self) -> Calendar:
        """The ticket's calendar: its SLA policy's, else the policy default."""
        sla = self.sla
        if sla is not None:
            return sla.calendar
        return self.policy.calendars[self.policy.defaults.calendar]

    def clock(self, mode: str | None, calendar: str | None) -> Calendar:
        if (mode or self.policy.defaults.time) == "calendar":
            return ALWAYS
        return self.policy.calendars[calendar] if calendar else self.calendar

    @property
    def timeline(self) -> list[tuple[float, str, StatusCategory]]:
        if self._timeline is None:
            self._timeline = status_timeline(self.ticket)
        return self._timeline

    def spans_where(self, statuses: frozenset[str]) -> tuple[tuple[float, float], ...]:
        """The [start, end) spans, up to now, during which the status was in `statuses`."""
        spans = self._spans.get(statuses)
        if spans is None:
            spans = self._spans[statuses] = self._spans_where(statuses)
        return spans

    def _spans_where(self, statuses: frozenset[str]) -> tuple[tuple[float, float], ...]:
        spans: list[tuple[float, float]] = []
        line = self.timeline
        for i, (start, raw, category) in enumerate(line):
            if category in statuses or raw.lower() in statuses:  # a StrEnum: its value
                end = line[i + 1][0] if i + 1 < len(line) else self.now_ts
                if end > start:
                    spans.append((start, min(end, self.now_ts)))
        return tuple(spans)

    def target(self, name: str) -> TargetStatus | None:
        """One SLA target's clock, measured on first use (None if absent or not started)."""
        if name not in self._targets:
            sla = self.sla
            spec = sla.targets.get(name) if sla is not None else None
            self._targets[name] = spec.measure(self, sla) if spec and sla else None
        return self._targets[name]

    def may_reach(self, name: str, needed: Callable[[float], float]) -> bool:
        """False if the target `name` is absent, not started or fulfilled, or has provably
        used less than `needed(goal)`: a clock counts at most the seconds that passed since it
        started (business time is a part of them), and at most its calendar's time over them
        (pauses take more away), so a target with less than that need not be measured (nor
        its status history read). True: measure it (one second of margin for the rounding of
        sums of timestamps)."""
        if name in self._targets:
            return self._targets[name] is not None
        sla = self.sla
        spec = sla.targets.get(name) if sla is not None else None
        if spec is None:
            return False
        window = spec.window(self)
        if window is None or window[2]:
            return False
        start, end, _ = window
        wanted = needed(spec.goal) - 1.0
        if max(end - start, 0.0) < wanted:
            return False
        return spec.calendar.elapsed_ts(start, end) >= wanted

    @property
    def targets(self) -> dict[str, TargetStatus]:
        """Every target of the ticket's SLA policy that has started, in policy order (one
        dict per Facts, measured on first use: read it, never change it)."""
        if self._all is None:
            sla = self.sla
            self._all = (
                {name: t for name in sla.targets if (t := self.target(name)) is not None}
                if sla is not None
                else {}
            )
        return self._all

    @property
    def soonest_due(self) -> float | None:
        """The earliest deadline of a running target (one not started or fulfilled is not
        measured for it: it has none)."""
        if self._soonest is _UNSET:
            sla, dues = self.sla, []
            for name, spec in sla.targets.items() if sla is not None else ():
                if name not in self._targets:
                    window = spec.window(self)
                    if window is None or window[2]:
                        continue
                t = self.target(name)
                if t is not None and t.running and t.due is not None:
                    dues.append(t.due)
            self._soonest = min(dues) if dues else None
        return self._soonest  # type: ignore[return-value]

    @property
    def activity_ts(self) -> float:
        """The last human activity: connector writes never count (DESIGN.md promise 4)."""
        if self._activity is None:
            self._activity = self._last_activity()
        return self._activity

    def _last_activity(self) -> float:
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

    @property
    def status_since_ts(self) -> float:
        return self.timeline[-1][0]

    def acknowledged_since(self, since: datetime) -> bool:
        """Without history: any human activity after `since` (our own writes never count)."""
        if acknowledged_since(self.ticket, since):
            return True
        state = self.ticket.tracking.state
        if self.ticket.history is None and state.written_at is not None:
            return self.activity_ts > since.timestamp()
        return False


def ts_to_dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
