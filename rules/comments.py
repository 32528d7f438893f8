"""What a merged change says: one internal note, one public reply, and who is notified.

Notes come in merge order, each template rendered once: a cleared stale request first, then
the rules' notes, then the approval notes. A rule that acts on a stale escalation request
(the ticket is already at that level) adds no note, no one to notify and no reply. A notify
list with nothing to say gets a short notice listing the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.approval_notes import CALLS, approval_notes, data
from rules.context import template_context
from rules.escalation import Decision, escalation_target
from rules.facts import Facts
from rules.markup import Rendered
from rules.policy import Rule
from rules.tracking import State


@dataclass(frozen=True, slots=True)
class Comments:
    """One internal note, one public reply, and who is notified (in order, each once)."""

    internal_note: Rendered | None = None
    public_reply: Rendered | None = None
    notify: tuple[str, ...] = ()


def compose_comments(f: Facts, state: State, d: Decision) -> Comments:
    """The internal note, public reply and notify list; a stale request only leaves a note."""
    stale = stale_requests(f, d.ordered)
    live = [r for r in d.ordered if r not in stale]
    notes = [*_stale_note(f, stale), *_rule_notes(f, d, live), *approval_notes(f, state, d)]
    notify = tuple(n for n in notify_list(d, live) if n not in f.policy.channels)
    if notify and not notes:
        notes.append(
            Rendered.literal("Escalation notice: ")
            + data("; ".join(str(fi.reason) for fi in d.firings))
        )
    return Comments(_join(notes), _reply(f, d, live), notify)


def stale_requests(f: Facts, ordered: Sequence[Rule]) -> tuple[Rule, ...]:
    """Rules acting on an agent's request for a level the ticket has reached already."""
    return tuple(
        r
        for r in ordered
        if r.actions.escalate == "requested"
        and (escalation_target(f.policy, f, r) or 0) <= f.level_index
    )


def notify_list(d: Decision, live: Sequence[Rule]) -> tuple[str, ...]:
    """The live rules' people, then the entered level's, then the approvers of a request made,
    reminded or timed out now."""
    notify: dict[str, None] = {}
    for rule in live:
        notify.update(dict.fromkeys(rule.actions.notify))
    if d.entered is not None:
        notify.update(dict.fromkeys(d.entered.model.notify))
    asking = d.move.awaiting or (d.move.pending if d.move.nudge in CALLS else None)
    if asking is not None:
        approval = asking.model.approval
        assert approval is not None
        notify.update(dict.fromkeys((*approval.approvers, *approval.notify)))
    return tuple(notify)


def _stale_note(f: Facts, stale: Sequence[Rule]) -> list[Rendered]:
    request = f.ticket.tracking.request
    if not (stale and request):
        return []
    return [
        Rendered.literal("Escalation request ")
        + data(repr(request))
        + Rendered.literal(" cleared: the ticket is already at ")
        + data(f.level)
        + Rendered.literal(".")
    ]


def _rule_notes(f: Facts, d: Decision, live: Sequence[Rule]) -> list[Rendered]:
    """Each live rule's note; a template shared by several rules is rendered once."""
    notes: list[Rendered] = []
    rendered: set[str] = set()
    for rule in live:
        note = rule.actions.note
        if note and note not in rendered:
            rendered.add(note)
            notes.append(_render(f, d, rule, note))
    return notes


def _reply(f: Facts, d: Decision, live: Sequence[Rule]) -> Rendered | None:
    """The first live rule's public reply, in merge order."""
    for rule in live:
        if rule.actions.reply:
            return _render(f, d, rule, rule.actions.reply)
    return None


def _render(f: Facts, d: Decision, rule: Rule, template: str) -> Rendered:
    move = d.move
    reasons = [str(fi.reason) for fi in d.firings]
    context = template_context(
        f, move.target, d.owner, rule, move.approved_by, reasons, move.awaiting
    )
    return f.policy.templates.render(template, context)


def _join(notes: list[Rendered]) -> Rendered | None:
    if not notes:
        return None
    out = notes[0]
    for note in notes[1:]:
        out = out + Rendered.literal("\n\n") + note
    return out
