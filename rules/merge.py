"""Merge every rule that fired for a ticket into one `TicketChange`, or None if nothing changes.

Conflicts resolve deterministically: the highest target level wins (ties: the first rule in
policy order); the most urgent resulting priority wins; tags are unioned; for custom fields,
the reassignment and the public reply, the escalation's winning rule comes first, then policy
order. Internal notes are joined into one internal comment, each template rendered once.
Bookkeeping alone (state, sla_due on a ticket that is not escalated) never causes a write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rules.context import template_context
from rules.facts import Facts, ts_to_dt
from rules.markup import Rendered
from rules.plan import Diff, Reason, TicketChange
from rules.policy import Level, Policy, Rule
from rules.schema import Owner, OwnerBase
from rules.tracking import State, format_time
from rules.units import format_duration


@dataclass(frozen=True, slots=True)
class Firing:
    rule: Rule
    reason: Reason


@dataclass
class Move:
    """The level decision: where the ticket goes, why, and any approval left pending."""

    target: int
    rule: Rule | None = None
    approved_by: str | None = None
    awaiting: Level | None = None
    awaiting_rule: Rule | None = None


def escalation_target(policy: Policy, f: Facts, rule: Rule) -> int | None:
    """The level index a rule's `escalate` asks for (None if it has no escalate action)."""
    wanted = rule.actions.escalate
    if wanted is None:
        return None
    current = f.level_index
    if wanted == "requested":
        request = f.ticket.tracking.request
        if request in policy.level_index:
            return policy.level_index[request]
        wanted = "next"
    if wanted == "next":
        return min(current + 1, len(policy.levels) - 1)
    return policy.level_index[wanted]


def _approver_ok(level: Level, who: str | None) -> bool:
    if not who or level.model.approval is None:
        return False
    approvers = {a.lower() for a in level.model.approval.approvers}
    return not approvers or who.lower() in approvers


def decide_level(policy: Policy, f: Facts, state: State, firings: list[Firing]) -> Move:
    """Where the ticket goes: the highest reachable level; gated levels wait for approval."""
    current = f.level_index
    move = Move(current)
    who = f.ticket.tracking.approved_by
    pending = policy.level_index.get(state.awaiting or "")
    approved: int | None = None
    ready = pending is not None and pending > current and not f.done
    if ready and pending is not None and _approver_ok(policy.levels[pending], who):
        approved = move.target = pending
    gated: tuple[int, Rule] | None = None
    for firing in firings:
        target = escalation_target(policy, f, firing.rule)
        if target is None or target <= current:
            continue
        if policy.levels[target].model.approval is not None and target != approved:
            if gated is None or target > gated[0]:
                gated = (target, firing.rule)
        elif target > move.target or (target == move.target and move.rule is None):
            move.target, move.rule = target, firing.rule
    if approved is not None and move.target >= approved:
        move.approved_by = who
    new_gate = gated is not None and gated[0] > move.target
    if gated is not None and new_gate and state.awaiting != policy.levels[gated[0]].name:
        move.awaiting, move.awaiting_rule = policy.levels[gated[0]], gated[1]
    if move.target == current and move.awaiting is None:
        for firing in firings:
            down = firing.rule.actions.de_escalate
            if down is not None and policy.level_index[down] < current:
                move.target, move.rule = policy.level_index[down], firing.rule
                break
    return move


def owner_for(policy: Policy, f: Facts, level: Level) -> OwnerBase | None:
    """The matrix owner for the ticket's function at `level`, else the level's own owner."""
    owner: Owner | None = None
    for name, match in policy.functions:
        candidate = policy.matrix.get((name, level.name))
        if candidate is not None and match.test(f):
            owner = candidate
            break
    owner = owner or level.model.owner
    if owner is None:
        return None
    return owner.instances.get(f.ticket.instance, owner)


def _priority(policy: Policy, f: Facts, firings: list[Firing], entered: Level | None) -> int:
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


def merge(f: Facts, state: State, rearmed: bool, firings: list[Firing]) -> TicketChange | None:
    if not firings and state.awaiting is None:
        return None
    policy, ticket, tracking = f.policy, f.ticket, f.ticket.tracking
    move = decide_level(policy, f, state, firings)
    if not firings and move.target == f.level_index:
        return None
    moved = move.target != f.level_index
    entered = policy.levels[move.target] if moved else None
    winner = move.rule
    ordered = ([winner] if winner else []) + [fi.rule for fi in firings if fi.rule is not winner]

    group = assignee = None
    owner = owner_for(policy, f, entered) if entered else None
    explicit = next((r.actions.assign for r in ordered if r.actions.assign), None)
    if explicit is not None:
        owner = explicit.instances.get(ticket.instance, explicit)
    if owner is not None:
        new_group = owner.group or ticket.group
        new_assignee = owner.assignee or (None if new_group != ticket.group else ticket.assignee)
        group = Diff(ticket.group, new_group) if new_group != ticket.group else None
        assignee = Diff(ticket.assignee, new_assignee) if new_assignee != ticket.assignee else None

    rank = _priority(policy, f, firings, entered)
    priority = None
    if rank != f.priority_rank and rank <= len(policy.priorities):
        priority = Diff(ticket.priority, policy.priorities[rank - 1])

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
    remove = {t: None for t in remove if t not in add}

    notify: dict[str, None] = {}
    notes: list[Rendered] = []
    reasons = [str(fi.reason) for fi in firings]
    rendered: set[str] = set()
    stale = [
        r
        for r in ordered
        if r.actions.escalate == "requested"
        and (escalation_target(policy, f, r) or 0) <= f.level_index
    ]
    if stale and tracking.request:
        notes.append(
            Rendered.literal("Escalation request ")
            + _data(repr(tracking.request))
            + Rendered.literal(" cleared: the ticket is already at ")
            + _data(f.level)
            + Rendered.literal(".")
        )
    for rule in ordered:
        if rule in stale:
            continue
        notify.update((p, None) for p in rule.actions.notify)
        if rule.actions.note and rule.actions.note not in rendered:
            rendered.add(rule.actions.note)  # a template shared by several rules: once
            notes.append(
                policy.templates.render(
                    rule.actions.note,
                    template_context(
                        f, move.target, owner, rule, move.approved_by, reasons, move.awaiting
                    ),
                )
            )
    if entered is not None:
        notify.update((p, None) for p in entered.model.notify)
        if move.approved_by:
            approved = policy.levels[policy.level_index.get(state.awaiting or "", move.target)]
            notes.append(_approved_note(approved, move.approved_by, owner))
    if move.awaiting is not None:
        approval = move.awaiting.model.approval
        assert approval is not None
        notify.update((p, None) for p in (*approval.approvers, *approval.notify))
        notes.append(_approval_note(move.awaiting, move.awaiting_rule))
    if notify and not notes:
        notes.append(
            Rendered.literal("Escalation notice: ")
            + _data("; ".join(str(fi.reason) for fi in firings))
        )
    reply_rule = next((r for r in ordered if r.actions.reply and r not in stale), None)
    reply = (
        policy.templates.render(
            reply_rule.actions.reply,
            template_context(
                f, move.target, owner, reply_rule, move.approved_by, reasons, move.awaiting
            ),
        )
        if reply_rule and reply_rule.actions.reply
        else None
    )
    outcome = None
    if any(r.actions.record_outcome for r in ordered) and ticket.status_category.done:
        outcome = _outcome(f)

    consumed = any(r.actions.escalate == "requested" for r in ordered)
    effective = (
        moved
        or group
        or assignee
        or priority
        or add
        or remove
        or fields
        or notes
        or reply
        or move.awaiting
        or (outcome and outcome != tracking.outcome)
        or (consumed and tracking.request)
    )
    if not effective:
        return None

    new_state = state
    for fi in firings:
        new_state = new_state.with_fired(fi.rule.key(f.level), f.now)
    new_state = replace(
        new_state,
        written_at=f.now,
        activity_at=ts_to_dt(f.activity_ts),
        reopens_seen=max(ticket.reopens, new_state.reopens_seen),
        solved_seen=ticket.status_category.done,
        awaiting=(move.awaiting.name if move.awaiting else None)
        if move.awaiting or moved
        else state.awaiting,
    )
    updates: dict[str, object] = {"state": new_state.encode()}
    if moved:
        rule_name = winner.name if winner else (tracking.rule or "approval")
        updates.update(
            level=policy.levels[move.target].name,
            escalated_at=format_time(f.now),
            rule=rule_name,
            count=str(tracking.count + (move.target > f.level_index)),
        )
    if tracking.request and (moved or move.awaiting or consumed):
        updates["request"] = None
    if move.approved_by:
        updates["approved_by"] = None
    if outcome:
        updates["outcome"] = outcome
    old = tracking.to_raw()
    tracking_diff = {k: Diff(old[k], v) for k, v in updates.items() if old[k] != v}
    why = [fi.reason for fi in firings]
    if move.approved_by:
        why.append(Reason("approval", f"approved by {move.approved_by}"))
    if rearmed:
        why.append(Reason("re-arm", "reopened since the last run: a new cycle starts"))
    return TicketChange(
        instance=ticket.instance,
        ticket=ticket.id,
        platform=ticket.platform,
        url=ticket.url,
        ticket_updated_at=ticket.updated_at,
        level_from=f.level,
        level_to=policy.levels[move.target].name,
        group=group,
        assignee=assignee,
        priority=priority,
        add_tags=tuple(add),
        remove_tags=tuple(remove),
        fields=fields,
        tracking=tracking_diff,
        internal_note=_join(notes),
        public_reply=reply,
        notify=tuple(notify),
        reasons=tuple(why),
        rules=tuple(fi.rule.name for fi in firings),
    )


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


def _outcome(f: Facts) -> str:
    tracking = f.ticket.tracking
    at_level = ""
    if tracking.escalated_at is not None:
        end = f.status_since_ts
        at_level = f" after {format_duration(max(0.0, end - tracking.escalated_at.timestamp()))}"
    return f"resolved at {f.level}{at_level}; escalated {tracking.count}x"


def _approval_note(level: Level, rule: Rule | None) -> Rendered:
    approval = level.model.approval
    assert approval is not None
    who = ", ".join(approval.approvers) or "an approver"
    return (
        Rendered.literal("Escalation to ")
        + _data(level.name)
        + Rendered.literal(" is awaiting approval by ")
        + _data(who)
        + Rendered.literal(" (rule ")
        + _data(rule.name if rule else "?")
        + Rendered.literal("). Set the escalation approval field to your name to approve.")
    )


def _approved_note(level: Level, who: str, owner: OwnerBase | None) -> Rendered:
    to = ", ".join(x for x in (owner.group, owner.assignee) if x) if owner else ""
    return (
        Rendered.literal("Escalation to ")
        + _data(level.name)
        + Rendered.literal(" approved by ")
        + _data(who)
        + (Rendered.literal(", now owned by ") + _data(to) if to else Rendered.literal(""))
        + Rendered.literal(".")
    )


def _data(text: str) -> Rendered:
    return Rendered(((True, text),))


def _join(notes: list[Rendered]) -> Rendered | None:
    if not notes:
        return None
    out = notes[0]
    for note in notes[1:]:
        out = out + Rendered.literal("\n\n") + note
    return out


def _text(value: object) -> str:
    return "" if value is None else str(value)
