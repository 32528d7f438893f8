"""What a ticket looks like once a change has landed: used by the demo, tests and backtests.

The platform sets `updated_at` to the write time, which is taken to be the evaluation instant.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rules.model import Ticket
from rules.plan import TicketChange
from rules.policy import Policy
from rules.tracking import Tracking


def apply_change(
    policy: Policy, ticket: Ticket, change: TicketChange | None, at: datetime
) -> Ticket:
    if change is None:
        return ticket
    raw: dict[str, object] = dict(ticket.tracking.to_raw())
    raw.update({name: diff.new for name, diff in change.tracking.items()})
    priority, rank = ticket.priority, ticket.priority_rank
    if change.priority is not None:
        priority = str(change.priority.new)
        rank = policy.priority_rank[priority]
    custom = dict(ticket.custom)
    custom.update({name: diff.new for name, diff in change.fields.items()})
    return replace(
        ticket,
        group=_text(change.group.new) if change.group else ticket.group,
        assignee=_text(change.assignee.new) if change.assignee else ticket.assignee,
        priority=priority,
        priority_rank=rank,
        tags=(ticket.tags | set(change.add_tags)) - set(change.remove_tags),
        custom=custom,
        updated_at=at,
        tracking=(tracking := Tracking.parse(raw)),
        approval=ticket.approval if tracking.approved_by else None,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
