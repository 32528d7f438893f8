"""The figures of `escalate report`, computed from what `collect` gathered (docs/cli.md, "report").

Definitions, as the docs give them (the escalation rate and SLA attainment: view.RATE, view.SLA):
- an *escalation* is a level change up the ladder that was written (an applied `write` line);
- *time to escalate*: ticket creation to its first escalation out of the first level;
- *time in level*: from entering a level to the next level change, or to the ticket's solving
  (from its history) if that came first; the open tickets at a level now count apart (with
  the time since `escalated_at`);
- *SLA attainment* (per target): met / (met + breached) over the targets of every ticket the
  connector looked at (read live, or changed in the window); a target once seen breached stays
  breached. `next_response` counts breaches only: an answered wait leaves no clock to see as met;
- *reopened after escalation*: its history (or a later look) shows it reopened after its first
  escalation; *de-escalated*: a level change down after it.
Times are wall-clock seconds. Every figure by team, priority, type and organisation groups a
ticket by its owner (view.View.owner): as it was before its first escalation in the window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from connector.insights import histories, periods
from connector.insights.collect import Collected, Key, Move, Seen
from connector.insights.links import Links
from connector.insights.view import RATE, SLA, UNKNOWN, View, ratio, stats
from rules.policy import Policy
from rules.profile import count_verdicts, sla_cells
from rules.tracking import format_time

OWNED = ("priority", "team", "type", "organization")
DIMENSIONS = (*OWNED, "level", "rule")


def figures(
    c: Collected,
    policy: Policy,
    *,
    since: float,
    now: float,
    links: Links,
    organization: str | None = None,
) -> dict[str, Any]:
    wanted = organization.casefold() if organization else None
    tickets = [
        s
        for s in c.tickets.values()
        if wanted is None or str(s.about.get("organization") or "").casefold() == wanted
    ]
    view = View(tickets, policy.level_index, policy.levels[0].name, now, links)
    figs = _Figures(view, since, now)
    by = {d: figs.owned(d) for d in OWNED if not (organization and d == "organization")}
    by["priority"].sort(key=_scale(policy))
    by["level"] = figs.moved("level", [lv.name for lv in policy.levels])
    by["rule"] = figs.moved("rule", [r.name for r in policy.rules])
    out: dict[str, Any] = {
        "window": {"since": _time(since), "until": _time(now)},
        "scope": {
            "organization": organization,
            "live": bool(c.live_instances or c.live_errors),
            "tickets": len(tickets),
        },
        "definitions": {"escalation_rate": RATE, "sla_attainment": SLA},
        "totals": figs.totals(),
        "levels": figs.levels([lv.name for lv in policy.levels]),
        "sla": figs.sla(),
        "by": by,
        "trend": periods.trend(view, since, now),
        "time_in_status": histories.time_in_status(view, since, now),
        "after_escalation": histories.after_escalation(view),
        "parked_after_reply": histories.parked(view, since, now),
        "failed_writes": figs.failures(detail=organization is None),
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


class _Figures:
    def __init__(self, view: View, since: float, now: float) -> None:
        self.view, self.since, self.now = view, since, now
        self.tickets, self.ups = view.tickets, view.ups

    def totals(self) -> dict[str, Any]:
        v = self.view
        ups = [m for s in self.tickets for m in self.ups[s.key]]
        downs = sum(1 for s in self.tickets for m in s.moves if v.down(m))
        escalated = [s for s in self.tickets if self.ups[s.key]]
        population = [s for s in self.tickets if v.counted(s, self.since, self.now + 1)]
        whole = len(population) if v.known else None
        tte = [t for s in self.tickets if (t := v.to_escalate(s)) is not None]
        reopened = sum(map(v.reopened, escalated))
        return {
            "escalations": len(ups),
            "de_escalations": downs,
            "tickets": whole,
            "tickets_escalated": len(escalated),
            "escalation_rate": ratio(len(escalated), whole),
            "open_now": sum(map(v.open_now, self.tickets)) if v.known else None,
            "escalated_now": sum(map(v.escalated_now, self.tickets)) if v.known else None,
            "internal_notes": sum(s.notes for s in self.tickets),
            "public_replies": sum(s.replies for s in self.tickets),
            "time_to_escalate": stats(tte),
            "reopened_after_escalation": reopened,
            "reopen_rate": ratio(reopened, len(escalated)),
            "escalated_tickets": v.refs(escalated),
        }

    def levels(self, names: list[str]) -> list[dict[str, Any]]:
        v = self.view
        spent: dict[str, list[float]] = defaultdict(list)
        entered: Counter[str] = Counter()
        for s in self.tickets:
            moves = sorted(s.moves, key=_at)
            for i, m in enumerate(moves):
                entered[m.target] += m in self.ups[s.key]
                if i + 1 < len(moves):
                    spent[m.target].append(moves[i + 1].at - m.at)
                elif s.story is not None and (done := s.story.done_after(m.at)) is not None:
                    spent[m.target].append(done - m.at)  # the stay ended with the ticket
            if (t := v.to_escalate(s)) is not None:
                spent[v.first].append(t)
        rows = []
        for name in names:
            here = [
                s
                for s in self.tickets
                if s.live and s.live["open"] and s.live["level"] == name and name != v.first
            ]
            ages = [self.now - at for s in here if (at := s.live and s.live["escalated_at"])]
            rows.append(
                {
                    "level": name,
                    "entered": entered[name],
                    "time_in_level": stats(spent[name]),
                    "open_now": len(here) if name != v.first else None,
                    "open_for": stats(ages),
                    "open_tickets": v.refs(here),
                }
            )
        return rows

    def sla(self) -> dict[str, dict[str, Any]]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for s in self.tickets:
            for target, verdict in s.sla.items():
                counts[target][verdict] += 1
        return {t: sla_cells(n, t) for t, n in sorted(counts.items())}

    def owned(self, dim: str) -> list[dict[str, Any]]:
        """One row per owner value (view.View.owner): the rate's two halves, the escalations
        of those tickets, their SLA verdicts, and what happened after escalating."""
        v = self.view
        groups: dict[str, list[Seen]] = defaultdict(list)
        for s in self.tickets:
            groups[v.key(s, dim)].append(s)
        rows = []
        for key, mine in groups.items():
            escalated = [s for s in mine if self.ups[s.key]]
            population = [s for s in mine if v.counted(s, self.since, self.now + 1)]
            whole = len(population) if v.known else None
            sla: Counter[str] = Counter()
            for s in mine:
                count_verdicts(s.sla, sla)
            breached = [s for s in mine if "breached" in s.sla.values()]
            row: dict[str, Any] = {
                "key": key,
                "tickets": whole,
                "tickets_escalated": len(escalated),
                "escalations": sum(len(self.ups[s.key]) for s in escalated),
                "escalation_rate": ratio(len(escalated), whole),
                "open_now": sum(map(v.open_now, mine)) if v.known else None,
                "escalated_now": sum(map(v.escalated_now, mine)) if v.known else None,
            }
            row |= {f"sla_{k}": n for k, n in sla_cells(sla).items()}
            row["reopened"] = sum(map(v.reopened, escalated))
            row["de_escalated"] = sum(map(v.de_escalated, escalated))
            row["tickets_breached"] = len(breached)
            row["escalated_tickets"] = v.refs(escalated)
            row["breached_tickets"] = v.refs(breached)
            rows.append(row)
        return sorted(rows, key=lambda r: (-r["escalations"], -(r["tickets"] or 0), r["key"]))

    def moved(self, dim: str, names: list[str]) -> list[dict[str, Any]]:
        """Escalations into each level, or by each rule (the policy's order; others after)."""
        per: dict[str, dict[Key, Seen]] = defaultdict(dict)
        count: Counter[str] = Counter()
        for s in self.tickets:
            for m in self.ups[s.key]:
                for key in _move_keys(dim, m):
                    count[key] += 1
                    per[key][s.key] = s
        order = {n: i for i, n in enumerate(names)}
        keys = sorted(count, key=lambda k: (order.get(k, len(order)), k))
        return [
            {
                "key": k,
                "escalations": count[k],
                "tickets_escalated": len(per[k]),
                "escalated_tickets": self.view.refs(per[k].values()),
            }
            for k in keys
        ]

    def failures(self, *, detail: bool) -> dict[str, Any]:
        failed = [(at, s.key, msg) for s in self.tickets for at, msg in s.failed]
        out: dict[str, Any] = {
            "writes": len(failed),
            "tickets": len({key for _, key, _ in failed}),
            "comments_dropped": sum(s.dropped for s in self.tickets),
            "failed_tickets": self.view.links.refs(key for _, key, _ in failed),
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


def _scale(policy: Policy) -> Any:
    """Rows in the priority scale's order (P1, P2, ...), others after, (none) last."""
    rank = {p: i for i, p in enumerate(policy.priorities)}

    def key(row: dict[str, Any]) -> tuple[int, str]:
        name = row["key"]
        return (len(rank) + (name == UNKNOWN), name) if name not in rank else (rank[name], "")

    return key


def _move_keys(dim: str, m: Move) -> Iterable[str]:
    if dim == "rule":
        return m.rules or (UNKNOWN,)
    return (m.target,)


def _time(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, tz=UTC))


def _at(m: Move) -> float:
    return m.at
