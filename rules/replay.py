"""Replay a policy along one ticket's past (the core of `escalate backtest`).

Input: a ticket with its full history (the ticket JSON format, rules/ticketio.py). The ticket's
fields are its state at the end; the history says how it got there. The replay walks the
timeline from `created_at` and evaluates the policy:
- at every event of the history (the ticket changed: a comment, a status, a reassignment), and
- at the exact instant a trigger would next fire if nothing else changed (`next_fire`: clocks,
  SLA thresholds, a rule's cooldown), so trigger times are exact to the second, not rounded to
  a polling interval.
Each change the engine makes is applied as the connector would have written it
(rules/apply.py). A new owner or priority stays until a later event of the history sets that
field again (the people in the history did what they did, whatever the policy would have
changed: a backtest cannot know how they would have reacted), and so do the tags and custom
fields it set, until an event of the history sets them.

The state at an instant is rebuilt from the history:
- status, priority, group, assignee, tags, components and custom fields: the last such event
  by a person (an agent, a customer, the platform) at or before the instant; events by the
  connector are not taken as theirs. Before the first status event the ticket is new, as the
  SLA timeline assumes. Before the first event of the other fields, that event's value (the
  one it replaced is not in the history; a creation audit records every initial value at
  `created_at`, which makes it exact). Without any event for a field, its final value holds
  throughout, also where the connector had set it (an approximation).
- what agents asked and approved: an escalation request (`tracking.request`) or an approval
  (`tracking.approved_by`, with who set it as the platform recorded) is put in the replayed
  tracking fields at the instant of its event, once, as the connector would have read it
  then; the replayed connector consumes or refuses it as a live one would.
- comments and the summary figures (first response, customer replies, reopens): from the
  events up to the instant (rules.history).
- the tracking fields start empty: the replay asks what this policy would have done, not what
  was done.
Nothing here reads a clock or writes anywhere.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rules import mapping
from rules.apply import apply_change
from rules.due import armed
from rules.engine import evaluate_ticket
from rules.facts import Facts, ts_to_dt
from rules.history import with_history
from rules.model import Actor, Approval, Event, EventKind, StatusCategory, Ticket
from rules.plan import TicketChange
from rules.policy import Policy
from rules.profile import profile
from rules.tracking import Tracking

#: A ticket replays at most this many evaluations (a guard against a policy that fires forever).
MAX_STEPS = 10_000
_FIELDS = (EventKind.STATUS, EventKind.PRIORITY, EventKind.GROUP, EventKind.ASSIGNEE)
_ASKED = ("tracking.request", "tracking.approved_by")  # what agents set for the connector


@dataclass(frozen=True)
class Step:
    """One change the policy would have written."""

    at: datetime
    change: TicketChange


@dataclass(frozen=True)
class Replay:
    ticket: str
    steps: tuple[Step, ...]
    evaluations: int
    truncated: bool = False  # stopped at MAX_STEPS evaluations, before `until`
    sla: dict[str, str] = field(default_factory=dict)  # each SLA target's verdict at `until`


def replay(policy: Policy, ticket: Ticket, until: datetime) -> Replay:
    """Every change `policy` would have made to `ticket` from its creation to `until`."""
    events = tuple(sorted(ticket.history or (), key=lambda e: e.at))
    times = sorted({e.at for e in events if ticket.created_at < e.at <= until})
    ours = _Ours()
    tracking = Tracking()
    steps: list[Step] = []
    at, evaluations, pending, truncated = ticket.created_at, 0, 0, False
    stamps = [e.at for e in events]
    bases: dict[int, _Base] = {}
    read = 0  # the events whose requests and approvals are in `tracking` already
    while at <= until and evaluations < MAX_STEPS:
        evaluations += 1
        count = bisect_right(stamps, at)
        if count not in bases:
            bases[count] = _base(policy, ticket, events, count)
        tracking, ours.approval = _asked(events[read:count], tracking, ours.approval)
        read = count
        state = _state(policy, bases[count], ours, tracking)
        facts = Facts(policy, state, at)
        change = evaluate_ticket(policy, state, at, facts).change
        if change is not None:
            after = apply_change(policy, state, change, at)
            tracking = after.tracking
            ours.record(change, after, at)
            if _visible(change):
                steps.append(Step(at, change))
            state = after
            facts = Facts(policy, state, at)
        while pending < len(times) and times[pending] <= at:
            pending += 1
        candidates = [times[pending]] if pending < len(times) else []
        fire = _next_fire(facts)
        if fire is not None:
            candidates.append(fire)
        if not candidates:
            break
        # Never the same instant twice: a fire time a float's rounding puts a hair after `at`
        # (or on it) would otherwise be evaluated again and again.
        at = max(min(candidates), at + _TICK)
    else:
        truncated = at <= until
    count = bisect_right(stamps, until)
    base = bases[count] if count in bases else _base(policy, ticket, events, count)
    sla = profile(Facts(policy, _state(policy, base, ours, tracking), until))["sla"]
    return Replay(ticket.id, tuple(steps), evaluations, truncated, sla)


def _asked(
    events: Sequence[Event], tracking: Tracking, approval: Approval | None
) -> tuple[Tracking, Approval | None]:
    """`tracking` with the requests and approvals people made in `events`, and who approved."""
    for e in events:
        if e.kind is not EventKind.FIELD or e.field not in _ASKED or e.actor is Actor.CONNECTOR:
            continue
        value = (e.value or "").strip() or None
        if e.field == "tracking.request":
            tracking = replace(tracking, request=value)
        else:
            tracking = replace(tracking, approved_by=value)
            approval = e.by if e.by is not None else Approval("", at=e.at)
    return tracking, approval


def _visible(change: TicketChange) -> bool:
    """A change someone would see: not only the bookkeeping of `sla_due` and `state`."""
    return bool(
        change.level_from != change.level_to
        or change.group
        or change.assignee
        or change.priority
        or change.add_tags
        or change.remove_tags
        or change.fields
        or change.internal_note
        or change.public_reply
        or set(change.tracking) - {"sla_due", "state"}
    )


def _next_fire(facts: Facts) -> datetime | None:
    """The earliest instant after now at which some rule's trigger fires or a cooldown ends."""
    now = facts.now_ts
    soonest: float | None = None
    for rule, fired in armed(facts):
        every = rule.model.repeat.every
        fire = rule.when.next_fire(facts)
        if fire is not None and fired is not None and every is not None:
            fire = max(fire, fired.last.timestamp() + every)
        if fire is not None and fire > now and (soonest is None or fire < soonest):
            soonest = fire
    due = facts.soonest_due  # the `sla_due` bookkeeping moves when a target is met or due
    if due is not None and due > now and (soonest is None or due < soonest):
        soonest = due
    # up to the whole second: a threshold a float's rounding misses by a hair is then passed
    return ts_to_dt(math.ceil(soonest)) if soonest is not None else None


@dataclass(frozen=True)
class _Base:
    """The ticket as its history alone made it after a number of events."""

    ticket: Ticket
    field_at: dict[str, datetime]  # when each field last changed by an event so far


def _slot(e: Event) -> str | None:
    """The ticket field a person's event sets: status, priority, group, assignee, tags,
    components or custom.NAME; None for comments, requests and the connector's own events."""
    if e.actor is Actor.CONNECTOR:
        return None
    if e.kind in _FIELDS:
        return str(e.kind)
    if e.kind is EventKind.FIELD and e.field is not None and e.field not in _ASKED:
        return e.field
    return None


def _base(policy: Policy, ticket: Ticket, events: Sequence[Event], count: int) -> _Base:
    """`ticket` after the first `count` events (sorted by time)."""
    past = events[:count]
    last: dict[str, Event] = {}
    first: dict[str, Event] = {}
    for i, e in enumerate(events):
        slot = _slot(e)
        if slot is not None:  # what people did, not us
            first.setdefault(slot, e)
            if i < count:
                last[slot] = e

    def value(slot: str, final: object) -> object:
        seen = last.get(slot) or first.get(slot)
        if seen is None:
            return final
        return seen.values if seen.values is not None else seen.value

    status, category = ticket.status, ticket.status_category
    status_event = last.get("status")
    if status_event is not None and status_event.value:
        status = status_event.value
        category = status_event.category or mapping.status_category(policy, ticket.platform, status)
    elif "status" in first:  # before the first status change: new, as the SLA
        status, category = "new", StatusCategory.NEW  # timeline assumes (rules.history)
    priority_raw = _text(value("priority", ticket.priority_raw or ticket.priority))
    neutral, rank = mapping.priority(policy, ticket.platform, priority_raw)
    custom = {s[7:]: _like(value(s, None), None) for s in first if s.startswith("custom.")}
    for name, final in ticket.custom.items():
        custom[name] = _like(value(f"custom.{name}", final), final)
    state = replace(
        ticket,
        status=status,
        status_category=category,
        priority=neutral,
        priority_rank=rank,
        priority_raw=priority_raw,
        group=_text(value("group", ticket.group)),
        assignee=_text(value("assignee", ticket.assignee)),
        tags=frozenset(_words(value("tags", ticket.tags))),
        components=tuple(_words(value("components", ticket.components))),
        custom=custom,
        updated_at=max((e.at for e in past), default=ticket.created_at),
        status_since=None,
        tracking=Tracking(),
    )
    return _Base(with_history(state, past), {slot: e.at for slot, e in last.items()})


def _words(value: object) -> list[str]:
    """A list field's value: a list, or one text of space-separated words (Jira labels)."""
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value] if isinstance(value, tuple | list | frozenset | set) else []


def _like(value: object, final: object) -> object:
    """A custom field's value from an event (text) as the type its final value has."""
    if not isinstance(value, str) or isinstance(final, str) or final is None:
        return list(value) if isinstance(value, tuple) else value
    try:
        if isinstance(final, bool):
            return value.strip().lower() in ("true", "yes", "1")
        if isinstance(final, int):
            return int(value)
        if isinstance(final, float):
            return float(value)
    except ValueError:
        return value
    return value


_TICK = timedelta(microseconds=1)


@dataclass
class _Ours:
    """What the replayed connector wrote (owner, priority, tags, custom fields), each with when,
    for a later event of the history to win; and who approved what agents asked for (the
    approval record of the last approval event so far)."""

    fields: dict[str, tuple[datetime, object]] = field(default_factory=dict)
    add_tags: set[str] = field(default_factory=set)
    remove_tags: set[str] = field(default_factory=set)
    tags_at: datetime | None = None
    custom: dict[str, tuple[datetime, object]] = field(default_factory=dict)
    approval: Approval | None = None

    def record(self, change: TicketChange, after: Ticket, at: datetime) -> None:
        for name in ("group", "assignee", "priority"):
            if getattr(change, name) is not None:
                self.fields[name] = (at, getattr(after, name))
        if change.add_tags or change.remove_tags:
            self.add_tags = (self.add_tags | set(change.add_tags)) - set(change.remove_tags)
            self.remove_tags = (self.remove_tags | set(change.remove_tags)) - set(change.add_tags)
            self.tags_at = at
        self.custom.update({name: (at, diff.new) for name, diff in change.fields.items()})


def _state(policy: Policy, base: _Base, ours: _Ours, tracking: Tracking) -> Ticket:
    """The ticket of `base` with the connector's own writes laid over it, each until a later
    event of the history sets that field again."""
    t = base.ticket

    def ours_stands(slot: str, written: datetime) -> bool:
        theirs = base.field_at.get(slot)
        return theirs is None or written >= theirs

    changes: dict[str, object] = {}
    for name, (written, value) in ours.fields.items():
        if ours_stands(name, written):
            changes[name] = _text(value)
    if "priority" in changes:
        changes["priority_rank"] = policy.priority_rank.get(str(changes["priority"]))
    if ours.tags_at is not None and ours_stands("tags", ours.tags_at):
        changes["tags"] = frozenset((t.tags | ours.add_tags) - ours.remove_tags)
    custom = {n: v for n, (w, v) in ours.custom.items() if ours_stands(f"custom.{n}", w)}
    if custom:
        changes["custom"] = {**t.custom, **custom}
    if ours.approval is not None:
        changes["approval"] = ours.approval
    ours_at = tracking.state.written_at
    updated = max(t.updated_at, ours_at) if ours_at else t.updated_at
    return replace(t, updated_at=updated, tracking=tracking, **changes)  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
