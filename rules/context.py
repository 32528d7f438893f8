"""The variables a comment template sees (the reference is docs/policy.md, "Templates")."""

from __future__ import annotations

from typing import Any

from rules.facts import Facts, ts_to_dt
from rules.policy import Level, Rule
from rules.schema import OwnerBase
from rules.tracking import format_time
from rules.units import format_duration


def template_context(
    f: Facts,
    target: int,
    owner: OwnerBase | None,
    rule: Rule,
    approved_by: str | None,
    reasons: list[str],
    awaiting: Level | None = None,
) -> dict[str, Any]:
    """Variables for one rule's template; `awaiting` is a level still waiting for approval."""
    t = f.ticket
    ticket, sla = _shared_vars(f)
    return {
        "ticket": ticket,
        "level": _level_vars(f, awaiting or f.policy.levels[target], owner, awaiting),
        "rule": {"name": rule.name, "description": rule.model.description},
        "reasons": reasons,
        "sla": sla,
        "escalation": {
            "count": t.tracking.count,
            "escalated_at": format_time(t.tracking.escalated_at)
            if t.tracking.escalated_at
            else None,
            "approved_by": approved_by,
        },
        "notify": list(rule.actions.notify),
        "now": format_time(f.now),
    }


def _shared_vars(f: Facts) -> tuple[dict[str, Any], dict[str, Any]]:
    """`ticket` and `sla`, built once per ticket's facts and shared by its templates (which
    cannot change them: the sandbox is immutable)."""
    shared = f.memo.get("template")
    if shared is None:
        shared = f.memo["template"] = (_ticket_vars(f), _sla_vars(f))
    return shared  # type: ignore[return-value]


def _ticket_vars(f: Facts) -> dict[str, Any]:
    t = f.ticket
    return {
        "id": t.id,
        "key": t.id,
        "url": t.url,
        "title": t.title,
        "status": t.status,
        "status_category": t.status_category.value,
        "priority": t.priority,
        "type": t.type,
        "group": t.group,
        "assignee": t.assignee,
        "requester": {
            "name": t.requester.name if t.requester else None,
            "email": t.requester.email if t.requester else None,
        },
        "organization": t.organization.name if t.organization else None,
        "tags": sorted(t.tags),
        "components": list(t.components),
        "created_at": format_time(t.created_at),
        "age": format_duration(f.now_ts - t.created_at.timestamp()),
        "reopens": t.reopens,
        "customer_replies": t.customer_replies,
    }


def _level_vars(
    f: Facts, entered: Level, owner: OwnerBase | None, awaiting: Level | None
) -> dict[str, Any]:
    """The level the ticket enters (or awaits approval for), and who owns it there."""
    t = f.ticket
    approval = entered.model.approval
    return {
        "from": f.level,
        "to": entered.name,
        "name": entered.name,
        "description": entered.model.description,
        "owner": {"group": owner.group, "assignee": owner.assignee} if owner else None,
        "previous_owner": {"group": t.group, "assignee": t.assignee},
        "awaiting_approval": awaiting is not None,
        "approvers": list(approval.approvers) if approval else [],
        "approver_groups": list(approval.groups) if approval else [],
    }


def _sla_vars(f: Facts) -> dict[str, Any]:
    """The ticket's SLA policy, its next deadline, and the targets not yet fulfilled."""
    due = f.soonest_due
    targets = [
        {
            "name": s.target,
            "used_percent": round(s.percent),
            "used": format_duration(s.used),
            "remaining": format_duration(s.remaining),
            "overdue": format_duration(-s.remaining) if s.remaining < 0 else None,
            "due": format_time(ts_to_dt(s.due)) if s.due is not None else None,
            "breached": s.breached,
            "paused": s.paused,
        }
        for s in f.targets.values()
        if not s.fulfilled
    ]
    return {
        "policy": f.sla.name if f.sla else None,
        "next_due": format_time(ts_to_dt(due)) if due is not None else None,
        "targets": targets,
    }
