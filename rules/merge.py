"""Merge every rule that fired for a ticket into one `TicketChange`, or None if nothing changes.

Conflicts resolve deterministically: the highest target level wins (ties: the first rule in
policy order); the most urgent resulting priority wins; tags are unioned; for custom fields,
the reassignment and the public reply, the escalation's winning rule comes first, then policy
order. Internal notes are joined into one internal comment, each template rendered once.
Bookkeeping alone (state, sla_due on a ticket that is not escalated) never causes a write.

`merge` assembles pure steps, one per part of the change: the level move, merge order and
owner (`rules.escalation.decide`), the owner diffs (`reassign`), the priority
(`diff_priority`), tags and custom fields (`edit_tags_and_fields`), the comments
(`rules.comments.compose_comments`) and the tracking fields (`advance_state`, `diff_tracking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rules.approval import Nudge, asked_at, requesting_rule
from rules.comments import Comments, compose_comments
from rules.escalation import (
    Decision,
    Firing,
    Move,
    decide,
    decide_level,
    escalation_target,
    owner_for,
)
from rules.facts import Facts, ts_to_dt
from rules.model import Ticket
from rules.notice_intents import channel_notices
from rules.notices import Notice
from rules.plan import Diff, Reason, TicketChange
from rules.policy import Level, Policy, Rule
from rules.schema import OwnerBase
from rules.tracking import State, fired_after, format_time, rule_key
from rules.units import format_duration

# The merge steps, and the level decision (rules.escalation) that callers import from here.
__all__ = [
    "Content",
    "FieldEdits",
    "Firing",
    "Move",
    "Reassignment",
    "advance_state",
    "bookkeeping_change",
    "decide_level",
    "diff_priority",
    "diff_tracking",
    "edit_tags_and_fields",
    "escalation_target",
    "list_reasons",
    "merge",
    "owner_for",
    "reassign",
]


@dataclass(frozen=True, slots=True)
class Reassignment:
    """The owner diffs; each is None when that field stays as it is."""

    group: Diff | None = None
    assignee: Diff | None = None


@dataclass(frozen=True, slots=True)
class FieldEdits:
    """Tags to add and remove and custom-field diffs, all relative to the ticket."""

    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    fields: dict[str, Diff] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Content:
    """What a change writes to the ticket itself, apart from the tracking fields."""

    owner: Reassignment
    priority: Diff | None
    edits: FieldEdits
    comments: Comments
    notices: tuple[Notice, ...] = ()

    def writes(self) -> bool:
        """Whether any of it changes the ticket (a notify list always comes with a note)."""
        owner, edits, comments = self.owner, self.edits, self.comments
        return bool(
            owner.group
            or owner.assignee
            or self.priority
            or edits.add_tags
            or edits.remove_tags
            or edits.fields
            or comments.internal_note
            or comments.public_reply
            or self.notices  # the firing must be recorded, or the notice would repeat
        )


def merge(f: Facts, state: State, rearmed: bool, firings: list[Firing]) -> TicketChange | None:
    """Every rule that fired, as one change; None if it would not change the ticket."""
    d = decide(f, state, firings)
    if d is None:
        return None
    ticket = f.ticket
    priority = diff_priority(f, d.firings, d.entered)
    new_state = advance_state(f, state, d)
    content = Content(
        owner=reassign(ticket, d.owner),
        priority=priority,
        edits=edit_tags_and_fields(ticket, d.ordered),
        comments=compose_comments(f, state, d),
        notices=channel_notices(f, d, new_state, priority),
    )
    outcome = _outcome(f, d.ordered)
    if not (content.writes() or _touches_tracking(f, d, outcome)):
        return None
    return TicketChange(
        instance=ticket.instance,
        ticket=ticket.id,
        platform=ticket.platform,
        url=ticket.url,
        ticket_updated_at=ticket.updated_at,
        level_from=f.level,
        level_to=f.policy.levels[d.move.target].name,
        group=content.owner.group,
        assignee=content.owner.assignee,
        priority=content.priority,
        add_tags=content.edits.add_tags,
        remove_tags=content.edits.remove_tags,
        fields=content.edits.fields,
        tracking=diff_tracking(f, new_state, d, outcome),
        internal_note=content.comments.internal_note,
        public_reply=content.comments.public_reply,
        notify=content.comments.notify,
        reasons=list_reasons(d, rearmed),
        rules=tuple(fi.rule.name for fi in firings),
        notices=content.notices,
    )


def reassign(ticket: Ticket, owner: OwnerBase | None) -> Reassignment:
    """Diffs to `owner`; a new group without a named assignee leaves the ticket unassigned."""
    if owner is None:
        return Reassignment()
    group = owner.group or ticket.group
    assignee = owner.assignee or (None if group != ticket.group else ticket.assignee)
    return Reassignment(
        group=Diff(ticket.group, group) if group != ticket.group else None,
        assignee=Diff(ticket.assignee, assignee) if assignee != ticket.assignee else None,
    )


def diff_priority(f: Facts, firings: Sequence[Firing], entered: Level | None) -> Diff | None:
    """The most urgent priority asked for, if it differs from the ticket's and is on the scale."""
    policy = f.policy
    rank = _wanted_rank(policy, f, firings, entered)
    if rank == f.priority_rank or rank > len(policy.priorities):
        return None
    return Diff(f.ticket.priority, policy.priorities[rank - 1])


def _wanted_rank(policy: Policy, f: Facts, firings: Sequence[Firing], entered: Level | None) -> int:
    """The most urgent rank any rule (or the entered level's floor) asks for; 1 is most urgent."""
    current = f.priority_rank
    candidates = []
    for spec in (fi.rule.actions.priority for fi in firings):
        if spec is None:
            continue
        if spec.set is not None:
            candidates.append(policy.priority_rank[spec.set])
        elif spec.raise_ is not None:
            candidates.append(max(1, current - spec.raise_))
        elif spec.at_least is not None:
            candidates.append(min(current, policy.priority_rank[spec.at_least]))
    if entered is not None and entered.model.priority_at_least:
        candidates.append(min(current, policy.priority_rank[entered.model.priority_at_least]))
    return min(candidates) if candidates else current


def edit_tags_and_fields(ticket: Ticket, ordered: Sequence[Rule]) -> FieldEdits:
    """Tags unioned (a tag both added and removed is added); a field's first value wins."""
    add: dict[str, None] = {}
    remove: dict[str, None] = {}
    fields: dict[str, Diff] = {}
    for rule in ordered:
        actions = rule.actions
        add.update((t, None) for t in actions.add_tags if t not in ticket.tags)
        remove.update((t, None) for t in actions.remove_tags if t in ticket.tags)
        for name, value in actions.set_fields.items():
            old = ticket.custom.get(name)
            if name not in fields and _text(old) != _text(value):
                fields[name] = Diff(old, value)
    return FieldEdits(tuple(add), tuple(t for t in remove if t not in add), fields)


def _touches_tracking(f: Facts, d: Decision, outcome: str | None) -> bool:
    """Tracking changes worth a write of their own (state and sla_due alone are not)."""
    tracking = f.ticket.tracking
    return bool(
        d.moved
        or d.move.awaiting
        or (outcome and outcome != tracking.outcome)
        or (d.consumes_request and tracking.request)
    )


def advance_state(f: Facts, state: State, d: Decision) -> State:
    """The `state` field after the change: what fired now, and what the ticket looked like."""
    fired = state.fired
    for fi in d.firings:  # `with_fired` each, and the rest below, in one copy
        fired = fired_after(fired, fi.rule.key(f.level), f.now)
    new = replace(
        state,
        fired=fired,
        written_at=f.now,
        activity_at=ts_to_dt(f.activity_ts),
        reopens_seen=max(f.ticket.reopens, state.reopens_seen),
        solved_seen=f.ticket.status_category.done,
    )
    return _advance_request(f, new, d.move, d.moved)


def _advance_request(f: Facts, state: State, move: Move, moved: bool) -> State:
    """The pending approval request: a new one, one ended by a move, one reminded or noted."""
    if move.awaiting is not None:
        asker = rule_key(move.awaiting_rule.name) if move.awaiting_rule else None
        return replace(
            state.without_request(), awaiting=move.awaiting.name, asked_at=f.now, asked_by=asker
        )
    if moved and (move.pending is None or move.target >= move.pending.index):
        return state.without_request()  # entered (or passed) the level it waited for
    if state.awaiting and state.asked_at is None:  # asked before requests were timed
        state = replace(state, asked_at=asked_at(state))
    if move.nudge is Nudge.REMIND:
        return replace(state, reminded_at=f.now)
    if move.nudge is Nudge.TIMEOUT_NOTIFY:
        return replace(state, timeout_noted=True)
    return state


def diff_tracking(f: Facts, new_state: State, d: Decision, outcome: str | None) -> dict[str, Diff]:
    """The tracking fields the change writes, as diffs against their current values."""
    tracking, move = f.ticket.tracking, d.move
    updates: dict[str, object] = {"state": new_state.encode()}
    if d.moved:
        updates.update(
            level=f.policy.levels[move.target].name,
            escalated_at=format_time(f.now),
            rule=move.rule.name if move.rule else _asker(f, d),
            count=str(tracking.count + (move.target > f.level_index)),
        )
    if tracking.request and (d.moved or move.awaiting or d.consumes_request):
        updates["request"] = None
    if tracking.approved_by and (move.approved_by or move.refused or d.moved):
        updates["approved_by"] = None
    if outcome:
        updates["outcome"] = outcome
    old = tracking.to_raw()
    return {k: Diff(old[k], v) for k, v in updates.items() if old[k] != v}


def _asker(f: Facts, d: Decision) -> str:
    """The `rule` field of a move no rule made this run: the rule that asked for the approval
    it waited for."""
    tracking = f.ticket.tracking
    return requesting_rule(f.policy, tracking.state) or tracking.rule or "approval"


def list_reasons(d: Decision, rearmed: bool) -> tuple[Reason, ...]:
    """Why the change happens: each firing, then the approval's part and a re-armed cycle."""
    why = [fi.reason for fi in d.firings]
    move = d.move
    if move.approved_by:
        why.append(Reason("approval", f"approved by {move.approved_by}"))
    if move.refused:
        why.append(Reason("approval", f"refused: {move.refused}"))
    if move.nudge is not None and move.pending is not None:
        why.append(Reason("approval", f"{move.nudge.describe()} for {move.pending.name}"))
    if rearmed:
        why.append(Reason("re-arm", "reopened since the last run: a new cycle starts"))
    return tuple(why)


def bookkeeping_change(f: Facts, state: State, due: Diff) -> TicketChange:
    """A write that only moves `sla_due` on an escalated ticket (agents sort queues by it)."""
    tracking = f.ticket.tracking
    state = replace(
        state,
        written_at=f.now,
        activity_at=ts_to_dt(f.activity_ts),
        solved_seen=f.done,
    )
    diffs = {"sla_due": due, "state": Diff(tracking.to_raw()["state"], state.encode())}
    return TicketChange(
        instance=f.ticket.instance,
        ticket=f.ticket.id,
        platform=f.ticket.platform,
        url=f.ticket.url,
        ticket_updated_at=f.ticket.updated_at,
        level_from=f.level,
        level_to=f.level,
        tracking=diffs,
        reasons=(Reason("sla_due", f"the next SLA deadline is now {due.new or 'none (paused)'}"),),
    )


def _outcome(f: Facts, ordered: Sequence[Rule]) -> str | None:
    """The outcome line, when a rule asks to record one and the ticket is solved."""
    if not any(r.actions.record_outcome for r in ordered) or not f.ticket.status_category.done:
        return None
    tracking = f.ticket.tracking
    at_level = ""
    if tracking.escalated_at is not None:
        end = f.status_since_ts
        at_level = f" after {format_duration(max(0.0, end - tracking.escalated_at.timestamp()))}"
    return f"resolved at {f.level}{at_level}; escalated {tracking.count}x"


def _text(value: object) -> str:
    return "" if value is None else str(value)
