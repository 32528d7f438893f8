"""A ticket's profile: the attributes and SLA clocks a report groups by, as plain JSON values.

Every change carries the profile of its ticket as evaluated, before the change (`about` in the
plan JSON and in the audit log's `decision` lines), and `escalate report` reads the same
profile off the live tickets. So the figures are grouped by what the ticket was when the
connector looked at it: the team that escalated it, the priority it had.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rules.facts import Facts
from rules.tracking import format_time

#: Targets whose clock is gone once met (the wait was answered): only their breaches count.
BREACHES_ONLY = frozenset({"next_response"})


def profile(f: Facts) -> dict[str, Any]:
    """The report's grouping keys; each SLA target is met, breached, running or paused."""
    t = f.ticket
    sla: dict[str, str] = {}
    for name, target in f.targets.items():
        if target.breached:
            sla[name] = "breached"
        elif target.fulfilled:
            sla[name] = "met"
        else:
            sla[name] = "paused" if target.paused else "running"
    return {
        "priority": t.priority,
        "type": t.type,
        "team": t.group,
        "organization": (t.organization.name or t.organization.id) if t.organization else None,
        "created_at": format_time(t.created_at),
        "status": t.status_category.value,
        "reopens": t.reopens,
        "level": f.level,
        "sla": sla,
    }


def sla_cells(counts: Counter[str], target: str | None = None) -> dict[str, Any]:
    """Verdict counts -> met, breached, running (paused included) and attainment, met /
    (met + breached); for a breaches-only target (or a mix counted without its met ones),
    `met` and `attainment` are None when `target` names one."""
    met, breached = counts["met"], counts["breached"]
    attainable = target not in BREACHES_ONLY
    return {
        "met": met if attainable else None,
        "breached": breached,
        "running": counts["running"] + counts["paused"],
        "attainment": (round(met / (met + breached), 4) if met + breached else None)
        if attainable
        else None,
    }


def count_verdicts(sla: dict[str, str], into: Counter[str]) -> None:
    """Add one ticket's verdicts to a mixed count (a breaches-only target's `met` left out)."""
    for target, verdict in sla.items():
        if verdict == "breached" or target not in BREACHES_ONLY:
            into[verdict] += 1
