"""Evaluation: tickets in, one merged `TicketChange` (or nothing) per ticket out.

`evaluate` streams, holding one ticket at a time. The semantics (docs/policy.md, "Semantics"):
every rule that fires is merged deterministically (highest level wins, most urgent priority
wins, one comment per visibility, otherwise the first rule in policy order wins); levels only go
up unless a rule de-escalates; what already fired is read from the `state` tracking field, so
evaluating again after the change is applied yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from rules.apply import apply_change
from rules.facts import Facts, ts_to_dt
from rules.merge import Firing, bookkeeping_change, escalation_target, merge
from rules.model import Ticket
from rules.plan import Diff, Outcome, Reason, TicketChange, combine
from rules.policy import Policy, Rule
from rules.profile import profile
from rules.tracking import State, format_time
from rules.triggers import Node


def evaluate(policy: Policy, tickets: Iterable[Ticket], now: datetime) -> Iterator[Outcome]:
    """Evaluate a stream of tickets at `now`; one Outcome per ticket, in order.

    A ticket whose evaluation fails (odd data the engine did not foresee) is skipped with the
    reason in `Outcome.skipped`, so one ticket never stops a run; the caller logs it.
    """
    for ticket in tickets:
        try:
            yield evaluate_ticket(policy, ticket, now)
        except Exception as exc:  # promise 7: odd data skips the ticket, never the run
            reason = f"evaluation failed: {type(exc).__name__}: {exc}"
            yield Outcome(ticket.id, ticket.instance, None, skipped=reason)


def evaluate_ticket(
    policy: Policy, ticket: Ticket, now: datetime, facts: Facts | None = None
) -> Outcome:
    """Evaluate to a fixpoint: a change that makes more rules fire (a raised priority that puts
    the ticket under a stricter SLA, say) is followed within the same run, so the next run has
    nothing left to do. Bounded by the number of levels. `facts`: the ticket's facts at `now`,
    if the caller has them already (a backtest reuses them)."""
    combined: TicketChange | None = None
    fired: list[str] = []
    current = ticket
    facts = facts if facts is not None else Facts(policy, current, now)
    before = facts
    for _ in range(len(policy.levels) + 1):
        change = _step(facts, fired)
        if change is None:
            break
        combined = change if combined is None else combine(combined, change)
        current = apply_change(policy, current, change, now)
        facts = facts.follow(current)
    combined = _track_sla_due(facts, ticket, combined, profile(before) if combined else None)
    if combined is not None and combined.about is None:  # a bookkeeping change of its own
        combined = replace(combined, about=profile(before), tags_read=ticket.tags)
    return Outcome(ticket.id, ticket.instance, combined, tuple(dict.fromkeys(fired)))


def _step(facts: Facts, fired: list[str]) -> TicketChange | None:
    """One round; a rule that fired in an earlier round of this run does not fire again."""
    state, rearmed = current_state(facts)
    firings: list[Firing] = []
    for rule, rest in facts.policy.gates.candidates(facts):  # the others cannot fire: rules.gates
        if (
            rule.name not in fired
            and (rest is None or rest.test(facts))  # `when`, its leading rank tests passed
            and matched_status(rule, facts, state) == "fired"
        ):
            firings.append(Firing(rule, Reason(rule.name, reason_text(rule.when, facts))))
    if not firings and state.awaiting is None and not facts.ticket.tracking.approved_by:
        return None  # what `merge` answers at once (rules.escalation.decide)
    fired.extend(f.rule.name for f in firings)
    return merge(facts, state, rearmed, firings)


def _track_sla_due(
    final: Facts, original: Ticket, change: TicketChange | None, about: dict[str, Any] | None
) -> TicketChange | None:
    """Keep `sla_due` current: in every change, and on its own for open escalated tickets.
    A change gets `about` (its ticket's profile) and the tags read in the same copy."""
    if change is None and (original.tracking.level is None or final.done):
        return None
    due = final.soonest_due
    new = format_time(ts_to_dt(due)) if due is not None else None
    sla_due = original.tracking.sla_due
    old = format_time(sla_due) if sla_due else None
    diff = Diff(old, new) if new != old else None
    if change is not None:  # `with_tracking`, and the profile, in one copy
        tracking = {k: v for k, v in change.tracking.items() if k != "sla_due"}
        if diff is not None:
            tracking["sla_due"] = diff
        return replace(change, tracking=tracking, about=about, tags_read=original.tags)
    if diff is None or original.tracking.level is None:
        return None
    state, _ = current_state(final)  # a reopened ticket keeps its new cycle
    return bookkeeping_change(final, state, diff)


def current_state(f: Facts) -> tuple[State, bool]:
    """The ticket's state, re-armed (a new cycle, nothing fired) if it was reopened."""
    ticket = f.ticket
    state = ticket.tracking.state
    if state.written_at is None:  # never written by us: nothing to re-arm, just a baseline
        if ticket.reopens != state.reopens_seen:
            state = replace(state, reopens_seen=ticket.reopens)
        return state, False
    reopened = ticket.reopens > state.reopens_seen or (
        state.solved_seen and not ticket.status_category.done
    )
    if not reopened:
        return state, False
    fresh = State(
        cycle=state.cycle + 1,
        written_at=state.written_at,
        activity_at=state.activity_at,
        reopens_seen=max(ticket.reopens, state.reopens_seen),
    )
    return fresh, True


def rule_status(rule: Rule, f: Facts, state: State) -> str:
    model = rule.model
    if not model.enabled:
        return "disabled"
    if f.done and not rule.on_done:
        return "not for solved tickets"
    if not rule.when.test(f):
        return "not matched"
    return matched_status(rule, f, state)


def matched_status(rule: Rule, f: Facts, state: State) -> str:
    """The status of an enabled rule whose `when` holds for the ticket."""
    model = rule.model
    if rule.unless is not None and rule.unless.test(f):
        return "guarded"
    escalate = model.then.escalate
    if escalate is not None and escalate != "requested":
        target = escalation_target(f.policy, f, rule)
        if target is not None and target <= f.level_index:
            return "nothing to escalate to"
    fired = state.fired_for(rule.key(f.level))
    if fired is not None:
        every = model.repeat.every
        if fired.count >= model.repeat.max or every is None:
            return "already fired"
        if f.now_ts - fired.last.timestamp() < every:
            return "cooling down"
    return "fired"


def reason_text(node: Node, f: Facts) -> str:
    """The measurements behind a match: the descriptions of the leaves that held."""
    out: list[str] = []
    _held_leaves(node, f, out)
    return "; ".join(out)


def _held_leaves(node: Node, f: Facts, out: list[str]) -> None:
    """Module-level, not a closure: a recursive closure keeps each ticket's facts in a cycle."""
    parts = node.parts()
    if not parts:
        if node.test(f):
            out.append(node.describe(f))
        return
    for child in parts:
        _held_leaves(child, f, out)
