"""The internal notes of an approval gate: asked for, approved, refused, reminded, timed out.

Names and values from the ticket or the platform (who typed a value, who approved) are data,
escaped for the platform like any ticket text; the rest is fixed wording.
"""

from __future__ import annotations

from rules.approval import Nudge, approvers_text
from rules.escalation import Decision, Move
from rules.facts import Facts
from rules.markup import Rendered
from rules.policy import Level, Rule
from rules.schema import OwnerBase
from rules.tracking import State, format_time
from rules.units import format_duration

#: The nudges that call the approvers (their names go in the notify list).
CALLS = (Nudge.REMIND, Nudge.TIMEOUT_NOTIFY)
HOW = " Set the escalation approval field to approve: who sets it is what counts."


def data(text: str) -> Rendered:
    return Rendered(((True, text),))


def text(words: str) -> Rendered:
    return Rendered.literal(words)


def approval_notes(f: Facts, state: State, d: Decision) -> list[Rendered]:
    """The notes of what this run did with an approval: the request it makes, and what it
    says about the one pending (approved, refused, reminded, timed out)."""
    move = d.move
    notes: list[Rendered] = []
    if move.refused and move.pending is not None:
        notes.append(_refused(move.pending, move.refused))
    elif move.refused:
        notes.append(text("Approval field cleared: ") + data(move.refused) + text("."))
    if d.entered is not None and move.approved_by and move.pending is not None:
        notes.append(_approved(move.pending, move.approved_by, d.owner))
    elif move.nudge is not None and move.pending is not None:
        notes.append(_nudged(move, move.pending, state, d.owner))
    if move.awaiting is not None:
        notes.append(_asked(move.awaiting, move.awaiting_rule))
    return notes


def _who(level: Level) -> str:
    gate = level.model.approval
    assert gate is not None
    return approvers_text(gate)


def _asked(level: Level, rule: Rule | None) -> Rendered:
    return (
        text("Escalation to ")
        + data(level.name)
        + text(" is awaiting approval by ")
        + data(_who(level))
        + text(" (rule ")
        + data(rule.name if rule else "?")
        + text(").")
        + text(HOW)
    )


def _owned(owner: OwnerBase | None) -> Rendered:
    to = ", ".join(x for x in (owner.group, owner.assignee) if x) if owner else ""
    return text(", now owned by ") + data(to) + text(".") if to else text(".")


def _approved(level: Level, who: str, owner: OwnerBase | None) -> Rendered:
    return (
        text("Escalation to ")
        + data(level.name)
        + text(" approved by ")
        + data(who)
        + _owned(owner)
    )


def _refused(level: Level, why: str) -> Rendered:
    return (
        text("Approval of the escalation to ")
        + data(level.name)
        + text(" refused: ")
        + data(why)
        + text(". The approval field was cleared; the escalation still awaits approval by ")
        + data(_who(level))
        + text(".")
    )


def _nudged(move: Move, level: Level, state: State, owner: OwnerBase | None) -> Rendered:
    gate = level.model.approval
    assert gate is not None and move.nudge is not None
    since = text(" since ") + data(format_time(state.asked_at)) if state.asked_at else text("")
    if move.nudge is Nudge.REMIND:
        return (
            text("Reminder: the escalation to ")
            + data(level.name)
            + text(" has been awaiting approval by ")
            + data(_who(level))
            + since
            + text(".")
            + text(HOW)
        )
    assert gate.timeout is not None
    within = text(" within ") + data(format_duration(gate.timeout.after))
    if move.nudge is Nudge.TIMEOUT_ENTER:
        return (
            text("No approval for the escalation to ")
            + data(level.name)
            + within
            + text(": escalated without it (approval timeout)")
            + _owned(owner)
        )
    return (
        text("No approval for the escalation to ")
        + data(level.name)
        + within
        + text(": ")
        + data(_who(level))
        + text(", please decide. The escalation still awaits approval.")
        + text(HOW)
    )
