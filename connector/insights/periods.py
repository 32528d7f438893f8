"""The report over time: the escalation rate and SLA attainment per day or week (UTC), for the
whole scope and per team, with the rate defined once (view.RATE) for the headline and the
trend alike."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.insights.collect import Seen
from connector.insights.view import View, ratio

#: Windows up to this many days are drawn per day; longer ones per ISO week (Monday first).
DAILY_UP_TO = 35
#: Teams drawn in the per-team trend (most tickets first); the JSON has them all.
TEAMS_DRAWN = 6


def buckets(since: float, now: float) -> tuple[str, list[tuple[float, float]]]:
    """("day" or "week", [(start, end)]) covering [since, now], whole UTC days or weeks."""
    first = datetime.fromtimestamp(since, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    size = "day" if now - since <= DAILY_UP_TO * 86400 else "week"
    if size == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if size == "day" else 7)
    out = []
    while first.timestamp() <= now:
        out.append((first.timestamp(), (first + step).timestamp()))
        first += step
    return size, out


def trend(view: View, since: float, now: float, *, per_team: bool = True) -> dict[str, Any]:
    size, spans = buckets(since, now)
    rows = [_row(view, start, end, since, now) for start, end in spans]
    out: dict[str, Any] = {"bucket": size, "rows": rows}
    if per_team:
        out["by_team"] = _teams(view, spans, since, now)
    return out


def _row(view: View, start: float, end: float, since: float, now: float) -> dict[str, Any]:
    lo, hi = max(start, since), min(end, now + 1)
    tickets = [s for s in view.tickets if view.counted(s, lo, hi)] if view.known else []
    escalated = [s for s in view.tickets if view.escalated_in(s, lo, hi)]
    met, breached = _decided(view.tickets, lo, hi)
    failed = sum(1 for s in view.tickets for at, _ in s.failed if lo <= at < hi)
    whole = len(tickets) if view.known else None
    return {
        "start": _day(start),
        "tickets": whole,
        "tickets_escalated": len(escalated),
        "escalations": sum(view.escalated_in(s, lo, hi) for s in escalated),
        "escalation_rate": ratio(len(escalated), whole),
        "sla_met": len(met),
        "sla_breached": len(breached),
        "sla_attainment": ratio(len(met), len(met) + len(breached)),
        "failed_writes": failed,
        "escalated": view.refs(escalated),
        "breached": view.refs(breached),
    }


def _decided(tickets: list[Seen], lo: float, hi: float) -> tuple[list[Seen], list[Seen]]:
    """The tickets with a target met, and with one breached, in [lo, hi) (a ticket may be in
    both lists once per target: the counts are targets)."""
    met: list[Seen] = []
    breached: list[Seen] = []
    for s in tickets:
        for target, verdict in s.sla.items():
            at = s.sla_at.get(target)
            if at is None or not lo <= at < hi:
                continue
            if verdict == "breached":
                breached.append(s)
            elif verdict == "met" and target != "next_response":
                met.append(s)
    return met, breached


def _teams(
    view: View, spans: list[tuple[float, float]], since: float, now: float
) -> list[dict[str, Any]]:
    """Per team (the owner, as in the rate): tickets, escalated and the rate per bucket."""
    size: Counter[str] = Counter(view.key(s, "team") for s in view.tickets)
    out = []
    for team, _ in size.most_common():
        mine = [s for s in view.tickets if view.key(s, "team") == team]
        points = []
        for start, end in spans:
            lo, hi = max(start, since), min(end, now + 1)
            up = sum(1 for s in mine if view.escalated_in(s, lo, hi))
            whole = sum(1 for s in mine if view.counted(s, lo, hi)) if view.known else None
            points.append(
                {
                    "start": _day(start),
                    "tickets": whole,
                    "tickets_escalated": up,
                    "escalation_rate": ratio(up, whole),
                }
            )
        out.append({"team": team, "points": points})
    return out


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).date().isoformat()
