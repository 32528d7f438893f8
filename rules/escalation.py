"""The level decision behind a merge: where the ticket goes, in what rule order, who owns it.

The highest level any rule that fired asks for wins (ties: the first rule in policy order). A level
with an approval gate waits: its approval is requested once (recorded in `state`), and the ticket
moves on a later run, once the platform's record says an allowed approver set the approval field
(`rules.approval`); a value anyone else typed is refused. A pending request may be reminded or time
out. A de-escalation applies only when nothing moves the ticket. The winning rule comes first in
merge order, then policy order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.approval import Nudge, asked_at, nudge, pending_level, stray, verify
from rules.facts import Facts
from rules.plan import Reason
from rules.policy import Level, Policy, Rule
from rules.schema import Owner, OwnerBase
from rules.tracking import State


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fired, with the measurements that made it fire."""

    rule: Rule
    reason: Reason


@dataclass
class Move:
    """The level decision: where the ticket goes, why, and any approval left pending."""

    target: int
    rule: Rule | None = None
    #: The approver of the pending level, as the platform recorded them (verified).
    approved_by: str | None = None
    awaiting: Level | None = None
    awaiting_rule: Rule | None = None
    #: The level whose approval was pending when the run started, and what this run says
    #: about it: why the approval field's value does not count, a reminder or a timeout.
    pending: Level | None = None
    refused: str | None = None
    nudge: Nudge | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What every merge step reads: the level move, the rules in merge order, the new owner."""

    move: Move
    firings: tuple[Firing, ...]
    ordered: tuple[Rule, ...]  # the move's winning rule first, then policy order
    entered: Level | None  # the level the ticket moves to; None if it stays
    owner: OwnerBase | None

    @property
    def moved(self) -> bool:
        """Whether the ticket changes level."""
        return self.entered is not None

    @property
    def consumes_request(self) -> bool:
        """Whether a rule acts on the agent's escalation request (so the request is cleared)."""
        return any(r.actions.escalate == "requested" for r in self.ordered)


def decide(f: Facts, state: State, firings: list[Firing]) -> Decision | None:
    """The level move, merge order and owner; None if nothing fired and no approval landed."""
    if not firings and state.awaiting is None and not f.ticket.tracking.approved_by:
        return None
    policy = f.policy
    move = decide_level(policy, f, state, firings)
    if not firings and move.target == f.level_index and not (move.refused or move.nudge):
        return None
    entered = policy.levels[move.target] if move.target != f.level_index else None
    winner = move.rule
    ordered = ([winner] if winner else []) + [fi.rule for fi in firings if fi.rule is not winner]
    owner = decide_owner(f, ordered, entered)
    return Decision(move, tuple(firings), tuple(ordered), entered, owner)


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


def _gate(f: Facts, state: State, move: Move) -> int | None:
    """The pending approval's level, if this run lets the ticket in (approved, or timed out
    with `then: enter`); notes on `move` what the run says about the request, or about a value
    in the approval field while none is pending (refused)."""
    level = pending_level(f, state)
    if level is None:
        lone = stray(f.ticket) if not f.done and not state.awaiting else None
        move.refused = lone.why if lone is not None else None
        return None
    move.pending = level
    verdict = verify(level, f.ticket, asked_at(state))
    if verdict is not None and verdict.approved:
        move.approved_by = verdict.who
        return level.index
    if verdict is not None:
        move.refused = verdict.why
    move.nudge = nudge(level, state, f.now)
    return level.index if move.nudge is Nudge.TIMEOUT_ENTER else None


def decide_level(policy: Policy, f: Facts, state: State, firings: list[Firing]) -> Move:
    """Where the ticket goes: the highest reachable level; gated levels wait for approval."""
    current = f.level_index
    move = Move(current)
    approved = _gate(f, state, move)
    if approved is not None:
        move.target = approved
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


def decide_owner(f: Facts, ordered: Sequence[Rule], entered: Level | None) -> OwnerBase | None:
    """The first explicit `assign` in merge order, else the entered level's owner."""
    explicit = next((r.actions.assign for r in ordered if r.actions.assign), None)
    if explicit is not None:
        return explicit.instances.get(f.ticket.instance, explicit)
    return owner_for(f.policy, f, entered) if entered else None


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
