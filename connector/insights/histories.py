"""The report's figures from ticket histories (and the audit log's level changes): time in
each status, what happened after an escalation, and tickets parked in a paused status right
after the customer wrote (story.PARK_WITHIN)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from connector.insights.collect import Key
from connector.insights.view import View, stats
from rules.model import StatusCategory
from rules.tracking import format_time
from rules.units import format_duration

_CATEGORY_ORDER = {c: i for i, c in enumerate(StatusCategory)}
#: Tickets listed per status, longest stay first.
LONGEST = 10


def time_in_status(view: View, since: float, now: float) -> list[dict[str, Any]]:
    """Per status (the platform's own name; names differing only in case are one), over the
    tickets whose history was read: the tickets that were in it in the window, the time each
    spent there (median, p90, total), and the tickets that spent longest, longest first."""
    spent: dict[str, list[tuple[float, Key]]] = defaultdict(list)
    order: dict[str, int] = {}
    shown: dict[str, str] = {}  # one row per name whatever its case ("open", Jira's "Open")
    for s in view.tickets:
        if s.story is None:
            continue
        for status, seconds in s.story.time_in_status(since, now).items():
            spent[shown.setdefault(status.casefold(), status)].append((seconds, s.key))
        for _, raw, category in s.story.spans:
            order.setdefault(shown.get(raw.casefold(), raw), _CATEGORY_ORDER[category])
    rows = []
    for status in sorted(spent, key=lambda r: (order.get(r, 99), r.casefold())):
        samples = sorted(spent[status], key=lambda x: (-x[0], x[1]))
        row: dict[str, Any] = {"status": status}
        row |= stats([x for x, _ in samples])
        row["total_s"] = round(sum(x for x, _ in samples), 1)
        row["longest"] = [view.ref(key) | {"seconds": round(x, 1)} for x, key in samples[:LONGEST]]
        rows.append(row)
    return rows


def after_escalation(view: View) -> dict[str, Any]:
    """Escalated tickets later de-escalated, or reopened (by the history or a later look)."""
    escalated = [s for s in view.tickets if view.ups[s.key]]
    down = [s for s in escalated if view.de_escalated(s)]
    back = [s for s in escalated if view.reopened(s)]
    return {
        "tickets_escalated": len(escalated),
        "de_escalated": len(down),
        "reopened": len(back),
        "de_escalated_tickets": view.refs(down),
        "reopened_tickets": view.refs(back),
    }


def parked(view: View, since: float, now: float) -> dict[str, Any]:
    """Each time an agent set a paused status right after a customer's reply, in the window."""
    found = [
        (p, s)
        for s in view.tickets
        if s.story is not None
        for p in s.story.parked
        if since <= p.parked_at <= now
    ]
    found.sort(key=lambda x: (x[0].parked_at, x[1].key))
    teams = Counter(view.key(s, "team") for _, s in found)
    return {
        "count": len(found),
        "tickets": len({s.key for _, s in found}),
        "by_team": [{"team": t, "count": n} for t, n in teams.most_common()],
        "latest": [
            view.ref(s.key)
            | {
                "team": view.key(s, "team"),
                "replied_at": format_time_ts(p.replied_at),
                "parked_at": format_time_ts(p.parked_at),
                "after": format_duration(p.parked_at - p.replied_at),
                "status": p.status,
            }
            for p, s in found[-100:][::-1]
        ],
    }


def format_time_ts(at: float) -> str:
    return format_time(datetime.fromtimestamp(at, tz=UTC))
