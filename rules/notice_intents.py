"""Which notices a merged change owes its channels (rules.notices has the notice itself).

The live rules' channels (each rule's firing is a notice), the entered level's, and the
channels of an approval's `notify` when the approval is asked for, reminded or timed out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rules.approval import Nudge
from rules.approval_notes import CALLS
from rules.comments import stale_requests
from rules.context import template_context
from rules.escalation import Decision
from rules.facts import Facts
from rules.notices import Notice, Occasion, make_notice
from rules.plan import Diff
from rules.tracking import State


def channel_notices(
    f: Facts, d: Decision, new_state: State, priority: Diff | None
) -> tuple[Notice, ...]:
    """The notices to channels, each channel once per rule, level or approval call."""
    policy = f.policy
    if not policy.channels:
        return ()
    live = [r for r in d.ordered if r not in stale_requests(f, d.ordered)]
    reasons = tuple(str(fi.reason) for fi in d.firings)
    occasion = Occasion(
        ticket_id=f.ticket.id,
        title=f.ticket.title,
        url=f.ticket.url,
        priority=str(priority.new) if priority and priority.new else f.ticket.priority,
        level_from=f.level,
        level_to=policy.levels[d.move.target].name,
        reasons=reasons,
        now=f.now,
    )
    first = live[0] if live else None
    context = (
        template_context(f, d.move.target, d.owner, first, d.move.approved_by, [*reasons])
        if first
        else None
    )
    out: list[Notice] = []
    for rule in live:
        fired = new_state.fired_for(rule.key(f.level))
        key = f"rule:{rule.name}#{new_state.cycle}.{fired.count if fired else 0}"
        own = template_context(f, d.move.target, d.owner, rule, d.move.approved_by, [*reasons])
        for name in _channels(policy.channels, rule.actions.notify):
            out.append(make_notice(policy, occasion, name, key, rule, own))
    if d.entered is not None:
        count = f.ticket.tracking.count + (d.move.target > f.level_index)
        key = f"level:{d.entered.name}#{new_state.cycle}.{count}"
        for name in _channels(policy.channels, d.entered.model.notify):
            out.append(make_notice(policy, occasion, name, key, first, context))
    out += _approval(f, d, new_state, occasion, context)
    return tuple(out)


def _approval(
    f: Facts, d: Decision, new_state: State, occasion: Occasion, context: dict[str, object] | None
) -> list[Notice]:
    """An approval asked for now, reminded or timed out: its `notify` channels are told."""
    move = d.move
    asking = move.awaiting or (move.pending if move.nudge in CALLS else None)
    approval = asking.model.approval if asking is not None else None
    if asking is None or approval is None:
        return []
    what = "ask" if move.awaiting is not None else (move.nudge or Nudge.REMIND).value
    at = new_state.reminded_at if move.nudge is Nudge.REMIND else new_state.asked_at
    minute = int(at.timestamp() // 60) if at is not None else 0
    key = f"approval:{asking.name}#{new_state.cycle}.{what}.{minute}"
    waiting = replace(occasion, awaiting=asking.name)
    return [
        make_notice(f.policy, waiting, name, key, None, context)
        for name in _channels(f.policy.channels, approval.notify)
    ]


def _channels(channels: Mapping[str, object], names: list[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n in channels))
