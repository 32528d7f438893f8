"""The figures of `escalate report`, computed from what `collect` gathered (docs/cli.md, "report").

Definitions, as the docs give them:
- an *escalation* is a level change up the ladder that was written (an applied `write` line);
- *time to escalate*: ticket creation to its first escalation out of the first level;
- *time in level*: from entering a level to the next level change; the open tickets at a level
  now count apart (`now`, with the time since `escalated_at`);
- *escalation rate*: tickets open now above the first level / tickets open now (live only);
- *SLA attainment*: met / (met + breached) over the targets of every ticket the connector
  looked at (changed in the window, or read live); a target once seen breached stays breached.
  `next_response` counts breaches only: an answered wait leaves no clock to see as met;
- *reopened after escalation*: a later look at the ticket saw more reopens than at its first
  escalation (so it is only seen when the connector looked again).
Times are wall-clock seconds. Escalations are grouped by the ticket as the decision saw it
(priority, team, type before the change); the other columns by the ticket's latest look.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.insights.collect import Collected, Move, Seen
from rules.policy import Policy
from rules.profile import count_verdicts, sla_cells
from rules.tracking import format_time, parse_time

DIMENSIONS = ("level", "priority", "team", "type", "rule", "organization")
UNKNOWN = "(none)"


def figures(
    c: Collected, policy: Policy, *, since: float, now: float, organization: str | None = None
) -> dict[str, Any]:
    index = policy.level_index
    first_level = policy.levels[0].name
    wanted = organization.casefold() if organization else None
    tickets = [
        s
        for s in c.tickets.values()
        if wanted is None or str(s.about.get("organization") or "").casefold() == wanted
    ]
    view = _View(tickets, index, first_level, now)
    out: dict[str, Any] = {
        "window": {"since": _time(since), "until": _time(now)},
        "scope": {
            "organization": organization,
            "live": bool(c.live_instances or c.live_errors),
            "tickets": len(tickets),
        },
        "totals": view.totals(),
        "levels": view.levels([lv.name for lv in policy.levels]),
        "sla": view.sla(),
        "by": {d: view.rows(d) for d in DIMENSIONS if not (organization and d == "organization")},
        "trend": _trend(view, c, since, now, per_instance=organization is None),
        "failed_writes": view.failures(detail=organization is None),
    }
    if organization is None:
        out["scope"] |= {
            "instances": sorted({s.key[0] for s in c.tickets.values()} | set(c.live_instances)),
            "live_errors": dict(c.live_errors),
        }
        out["data"] = {
            "audit_lines": c.lines,
            "bad_lines": c.bad_lines,
            "first_line": _time(c.first) if c.first is not None else None,
            "last_line": _time(c.last) if c.last is not None else None,
            "runs": c.runs,
            "skipped_tickets": c.skipped,
            "warnings": list(c.warnings),
        }
        out["notices"] = {ch: dict(sorted(n.items())) for ch, n in sorted(c.notices.items())}
    return out


class _View:
    """The derived per-ticket facts, computed once."""

    def __init__(self, tickets: list[Seen], index: dict[str, int], first: str, now: float):
        self.tickets, self.index, self.first, self.now = tickets, index, first, now
        self.ups = {s.key: sorted((m for m in s.moves if self._up(m)), key=_at) for s in tickets}

    def _up(self, m: Move) -> bool:
        return self.index.get(m.target, -1) > self.index.get(m.source, len(self.index))

    def _down(self, m: Move) -> bool:
        """Levels the policy no longer has (renamed since) count as neither up nor down."""
        return self.index.get(m.target, len(self.index)) < self.index.get(m.source, -1)

    def escalated_now(self, s: Seen) -> bool:
        return bool(s.live and s.live["open"] and self.index.get(s.live["level"], 0) > 0)

    def open_now(self, s: Seen) -> bool:
        return bool(s.live and s.live["open"])

    def to_escalate(self, s: Seen) -> float | None:
        ups = self.ups[s.key]
        if not ups or ups[0].source != self.first:
            return None
        created = parse_time(str(ups[0].about.get("created_at") or s.about.get("created_at")))
        if created is None or created.timestamp() > ups[0].at:  # odd data: no sample
            return None
        return ups[0].at - created.timestamp()

    def reopened(self, s: Seen) -> bool:
        ups = self.ups[s.key]
        if not ups or not isinstance(ups[0].about.get("reopens"), int):
            return False
        start, base = ups[0].at, ups[0].about["reopens"]
        return any(at > start and n > base for at, n in s.reopens)

    def totals(self) -> dict[str, Any]:
        ups = [m for s in self.tickets for m in self.ups[s.key]]
        downs = sum(1 for s in self.tickets for m in s.moves if self._down(m))
        escalated = [s for s in self.tickets if self.ups[s.key]]
        open_now = sum(map(self.open_now, self.tickets))
        up_now = sum(map(self.escalated_now, self.tickets))
        live = any(s.live for s in self.tickets)
        tte = [t for s in self.tickets if (t := self.to_escalate(s)) is not None]
        reopened = sum(map(self.reopened, escalated))
        return {
            "escalations": len(ups),
            "de_escalations": downs,
            "tickets_escalated": len(escalated),
            "internal_notes": sum(s.notes for s in self.tickets),
            "public_replies": sum(s.replies for s in self.tickets),
            "open_now": open_now if live else None,
            "escalated_now": up_now if live else None,
            "escalation_rate": _ratio(up_now, open_now) if live else None,
            "time_to_escalate": _stats(tte),
            "reopened_after_escalation": reopened,
            "reopen_rate": _ratio(reopened, len(escalated)),
        }

    def levels(self, names: list[str]) -> list[dict[str, Any]]:
        spent: dict[str, list[float]] = defaultdict(list)
        entered: Counter[str] = Counter()
        for s in self.tickets:
            moves = sorted(s.moves, key=_at)
            for i, m in enumerate(moves):
                entered[m.target] += self._up(m)
                if i + 1 < len(moves):
                    spent[m.target].append(moves[i + 1].at - m.at)
            if (t := self.to_escalate(s)) is not None:
                spent[self.first].append(t)
        rows = []
        for name in names:
            here = [
                s
                for s in self.tickets
                if s.live and s.live["open"] and s.live["level"] == name and name != self.first
            ]
            ages = [self.now - at for s in here if (at := s.live and s.live["escalated_at"])]
            rows.append(
                {
                    "level": name,
                    "entered": entered[name],
                    "time_in_level": _stats(spent[name]),
                    "open_now": len(here) if name != self.first else None,
                    "open_for": _stats(ages),
                }
            )
        return rows

    def sla(self) -> dict[str, dict[str, Any]]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for s in self.tickets:
            for target, verdict in s.sla.items():
                counts[target][verdict] += 1
        return {t: sla_cells(n, t) for t, n in sorted(counts.items())}

    def rows(self, dim: str) -> list[dict[str, Any]]:
        table: dict[str, dict[str, Any]] = defaultdict(_row)
        for s in self.tickets:
            ups = self.ups[s.key]
            for m in ups:
                for key in _move_keys(dim, m, s):
                    table[key]["escalations"] += 1
            up_keys = {k for m in ups for k in _move_keys(dim, m, s)}
            for key in up_keys:
                table[key]["tickets_escalated"] += 1
            for key in _ticket_keys(dim, s, up_keys):
                row = table[key]
                row["open_now"] += self.open_now(s)
                row["escalated_now"] += self.escalated_now(s)
                row["reopened"] += key in up_keys and self.reopened(s)
                count_verdicts(s.sla, row["sla"])
        out = []
        for key, row in table.items():
            sla = row.pop("sla")
            row |= {"key": key, "escalation_rate": _ratio(row["escalated_now"], row["open_now"])}
            row |= {f"sla_{k}": v for k, v in sla_cells(sla).items()}
            out.append(row)
        return sorted(out, key=lambda r: (-r["escalations"], -r["open_now"], r["key"]))

    def failures(self, *, detail: bool) -> dict[str, Any]:
        failed = [(at, s.key, msg) for s in self.tickets for at, msg in s.failed]
        out: dict[str, Any] = {
            "writes": len(failed),
            "tickets": len({key for _, key, _ in failed}),
            "comments_dropped": sum(s.dropped for s in self.tickets),
        }
        if detail:
            out["by_instance"] = dict(Counter(key[0] for _, key, _ in failed).most_common())
            out["messages"] = [
                {"message": m, "count": n}
                for m, n in Counter(msg for _, _, msg in failed).most_common(10)
            ]
            out["latest"] = [
                {"at": _time(at), "instance": k[0], "ticket": k[1], "message": m}
                for at, k, m in sorted(failed, reverse=True)[:20]
            ]
        return out


def _trend(
    view: _View, c: Collected, since: float, now: float, *, per_instance: bool
) -> list[dict[str, Any]]:
    """One row per UTC day: escalations written, failed writes, and (whole-instance views only)
    the open tickets a run saw that day (the median of each instance's runs, summed)."""
    if c.first is not None:  # from the first line in the window, not from a far `--since`
        since = max(since, c.first)
    start = datetime.fromtimestamp(since, tz=UTC).date()
    end = datetime.fromtimestamp(now, tz=UTC).date()
    days: dict[str, dict[str, Any]] = {}
    while start <= end:
        days[start.isoformat()] = {"day": start.isoformat(), "escalations": 0, "failed_writes": 0}
        start += timedelta(days=1)
    for s in view.tickets:
        for m in view.ups[s.key]:
            _day(days, m.at)["escalations"] += 1
        for at, _ in s.failed:
            _day(days, at)["failed_writes"] += 1
    if per_instance:
        opened: Counter[str] = Counter()
        for (day, _), fetched in c.open_by_day.items():
            opened[day] += int(statistics.median(fetched))
        for day, row in days.items():
            row["open"] = opened.get(day)
            row["escalation_rate"] = _ratio(row["escalations"], row["open"] or 0)
    return list(days.values())


def _day(days: dict[str, dict[str, Any]], at: float) -> dict[str, Any]:
    day = datetime.fromtimestamp(at, tz=UTC).date().isoformat()
    return days.setdefault(day, {"day": day, "escalations": 0, "failed_writes": 0})


def _move_keys(dim: str, m: Move, s: Seen) -> Iterable[str]:
    if dim == "rule":
        return m.rules or (UNKNOWN,)
    if dim == "level":
        return (m.target,)
    return (_key(m.about.get(dim)),)  # no decision seen for it: (none), as documented


def _ticket_keys(dim: str, s: Seen, up_keys: set[str]) -> Iterable[str]:
    if dim == "rule":
        rule = s.live.get("rule") if s.live else None
        return up_keys | ({rule} if rule else set()) or {UNKNOWN}
    if dim == "level":  # a decision's profile has the level before its change
        if s.live:
            return (s.live["level"],)
        if s.moves:
            return (max(s.moves, key=_at).target,)
    return (_key(s.about.get(dim)),)


def _key(value: object) -> str:
    return str(value) if value not in (None, "") else UNKNOWN


def _row() -> dict[str, Any]:
    return {
        "escalations": 0,
        "tickets_escalated": 0,
        "open_now": 0,
        "escalated_now": 0,
        "reopened": 0,
        "sla": Counter(),
    }


def _stats(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0, "median_s": None, "p90_s": None}
    ordered = sorted(samples)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank
    return {"count": len(ordered), "median_s": statistics.median(ordered), "p90_s": p90}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _time(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, tz=UTC))


_at: Callable[[Move], float] = lambda m: m.at  # noqa: E731
