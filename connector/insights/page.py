"""`escalate report --format html`: one self-contained page (inline CSS and SVG, no script).

Its Content-Security-Policy forbids loading anything, so the page works offline, from a mail
attachment or a file share, and a browser test would see any attempt as an error. Links to
tickets are plain links: following one is the reader's choice, not a load.

The page reads as a manager asks: the rate and its definition, how it moves over time, which
teams and priorities escalate, where tickets wait, and which tickets are behind each figure
(every bar links to its row, every row lists its tickets on the platform).
"""

from __future__ import annotations

import html
from typing import Any

from connector.insights import render
from connector.insights.charts import columns, hbars, lines
from connector.insights.page_parts import STYLE, links, table
from connector.insights.periods import TEAMS_DRAWN
from rules.units import format_duration

__all__ = ["CSP", "STYLE", "page"]
#: Parked tickets listed on the page, latest first.
PARKED_SHOWN = 20
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
e = html.escape


def page(fig: dict[str, Any]) -> str:
    """The whole page: summary and definition, trend, teams, priorities, levels, statuses,
    what followed escalations, parked tickets, the other breakdowns, failed writes."""
    parts = _head(fig)
    parts += _trend(fig)
    parts += _owned(fig, "team", "Escalation rate by team")
    parts += _priorities(fig)
    parts += _levels(fig)
    parts += _statuses(fig)
    parts += _after(fig)
    parts += _parked(fig)
    for dim in ("type", "organization", "rule"):
        if dim in fig["by"]:
            parts += _table_of(fig, dim)
    parts += _failures(fig)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _head(fig: dict[str, Any]) -> list[str]:
    title = render.title(fig)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    parts += [f'<p class="note">{e(line)}</p>' for line in render.provenance(fig)]
    parts.append(
        "<dl>"
        + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in render.summary_lines(fig))
        + "<dt>escalated tickets</dt><dd>"
        + links(fig["totals"]["escalated_tickets"], fig["totals"]["tickets_escalated"])
        + "</dd></dl>"
    )
    d = fig["definitions"]
    parts.append(
        f'<p class="definition"><b>Definitions.</b> {e(d["escalation_rate"])}'
        f" {e(d['sla_attainment'])}</p>"
    )
    return parts


def _trend(fig: dict[str, Any]) -> list[str]:
    trend = fig["trend"]
    rows, size = trend["rows"], trend["bucket"]
    x_axis = f"{size} (UTC, {'month-day' if size == 'day' else 'week starting'})"
    bars = [
        (
            d["start"],
            d["tickets_escalated"],
            f"{d['start']}: {d['tickets_escalated']} tickets escalated"
            f" of {render.num(d['tickets'])}, rate {render.pct(d['escalation_rate'])}",
            f"#p-{d['start']}",
        )
        for d in rows
    ]
    parts = [
        f"<h2>Escalation rate and SLA attainment per {size}</h2>",
        columns(
            f"Tickets escalated per {size}, and the escalation rate (line)",
            bars,
            [d["escalation_rate"] for d in rows],
            x_axis=x_axis,
            y_axis="tickets escalated",
            line_axis="escalation rate (%)",
        ),
        lines(
            f"SLA attainment per {size}",
            [d["start"] for d in rows],
            [("SLA attainment", [d["sla_attainment"] for d in rows])],
            x_axis=x_axis,
            y_axis="SLA attainment (%)",
            top=1.0,
        ),
    ]
    teams = trend.get("by_team", [])[:TEAMS_DRAWN]
    parts.append(
        lines(
            f"Escalation rate per {size}, by team (the {TEAMS_DRAWN} with most tickets)",
            [d["start"] for d in rows],
            [(t["team"], [p["escalation_rate"] for p in t["points"]]) for t in teams],
            x_axis=x_axis,
            y_axis="escalation rate (%)",
        )
    )
    body = [
        (f"p-{d['start']}", cells, links(d["escalated"], d["tickets_escalated"]))
        for d, cells in zip(rows, render.trend_rows(fig), strict=True)
        if d["tickets"]
        or d["tickets_escalated"]
        or d["failed_writes"]
        or d["sla_met"]
        or d["sla_breached"]
    ]
    parts.append(table([*render.TREND_HEAD, "tickets escalated"], body, numeric=7))
    return parts


def _owned(fig: dict[str, Any], dim: str, label: str) -> list[str]:
    rows = fig["by"][dim]
    bars = [
        (
            r["key"],
            r["escalation_rate"] or 0.0,
            f"{r['key']}: {r['tickets_escalated']} of {render.num(r['tickets'])} tickets escalated",
            f"#{dim}-{i}",
        )
        for i, r in enumerate(rows)
        if r["escalation_rate"] is not None
    ]
    return [
        f"<h2>{e(render.BY_TITLES[dim])}</h2>",
        hbars(
            label, bars, axis="escalation rate (% of the tickets open in the window)", percent=True
        ),
        _by_table(rows, dim),
    ]


def _priorities(fig: dict[str, Any]) -> list[str]:
    rows = fig["by"]["priority"]
    parts = _owned(fig, "priority", "Escalation rate by priority")
    sla = [
        (
            r["key"],
            r["sla_attainment"],
            f"{r['key']}: {r['sla_met']} met, {r['sla_breached']} breached",
            f"#priority-{i}",
        )
        for i, r in enumerate(rows)
        if r["sla_attainment"] is not None
    ]
    parts.insert(
        2, hbars("SLA attainment by priority", sla, axis="SLA attainment (%)", percent=True)
    )
    return parts


def _by_table(rows: list[dict[str, Any]], dim: str) -> str:
    body = [
        (
            f"{dim}-{i}",
            cells,
            links(r["escalated_tickets"], r["tickets_escalated"])
            + _breached(r["breached_tickets"], r["tickets_breached"]),
        )
        for i, (r, cells) in enumerate(zip(rows, render.by_rows(rows), strict=True))
    ]
    return table([dim, *render.BY_HEAD[1:], "tickets escalated"], body, numeric=10)


def _breached(refs: list[dict[str, Any]], count: int) -> str:
    return f"<br>SLA breached: {links(refs, count)}" if refs else ""


def _table_of(fig: dict[str, Any], dim: str) -> list[str]:
    rows = fig["by"][dim]
    if dim == "rule":
        body = [
            (None, cells, links(r["escalated_tickets"], r["tickets_escalated"]))
            for r, cells in zip(rows, render.moved_rows(rows), strict=True)
        ]
        return [
            f"<h2>{e(render.BY_TITLES[dim])}</h2>",
            table([dim, *render.MOVED_HEAD[1:], "tickets escalated"], body, numeric=2),
        ]
    return [f"<h2>{e(render.BY_TITLES[dim])}</h2>", _by_table(rows, dim)]


def _levels(fig: dict[str, Any]) -> list[str]:
    into = fig["by"]["level"]
    bars = [
        (r["key"], r["escalations"], f"{r['key']}: {r['escalations']} escalations", f"#level-{i}")
        for i, r in enumerate(into)
    ]
    entered = {r["key"]: r for r in into}
    body = []
    for i, (row, cells) in enumerate(zip(fig["levels"], render.level_rows(fig), strict=True)):
        mine = entered.get(row["level"])
        escalated = links(mine["escalated_tickets"], mine["tickets_escalated"]) if mine else ""
        open_now = links(row["open_tickets"], row["open_now"] or 0) if row["open_now"] else ""
        anchor = next((f"level-{n}" for n, r in enumerate(into) if r["key"] == row["level"]), None)
        body.append(
            (
                anchor or f"level-row-{i}",
                cells,
                f"{escalated}{open_now and '<br>open now: ' + open_now}",
            )
        )
    return [
        "<h2>Levels: escalations in, time in level</h2>",
        hbars("Escalations into each level", bars, axis="escalations (count)"),
        table([*render.LEVEL_HEAD, "tickets"], body, numeric=4),
    ]


def _statuses(fig: dict[str, Any]) -> list[str]:
    rows = fig["time_in_status"]
    parts = ["<h2>Time in status</h2>"]
    if not rows:
        return [*parts, '<p class="empty">No ticket history read (leave out --no-live).</p>']
    bars = [
        (
            r["status"],
            round(r["median_s"] / 3600, 1),
            f"{r['status']}: median {format_duration(r['median_s'])} over {r['count']} tickets",
            f"#status-{i}",
        )
        for i, r in enumerate(rows)
    ]
    body = [
        (f"status-{i}", cells, links(r["longest"], r["count"]))
        for i, (r, cells) in enumerate(zip(rows, render.status_rows(fig), strict=True))
    ]
    return [
        *parts,
        hbars("Median time in each status (per ticket)", bars, axis="hours (median per ticket)"),
        table([*render.STATUS_HEAD, "longest first"], body, numeric=4),
    ]


def _after(fig: dict[str, Any]) -> list[str]:
    a = fig["after_escalation"]
    down = links(a["de_escalated_tickets"], a["de_escalated"])
    back = links(a["reopened_tickets"], a["reopened"])
    return [
        "<h2>After escalation</h2>",
        f"<p>Of {a['tickets_escalated']} escalated tickets, {a['de_escalated']} were later"
        f" de-escalated{': ' + down if down else '.'}</p>",
        f"<p>{a['reopened']} were reopened after their escalation{': ' + back if back else '.'}"
        "</p>",
    ]


def _parked(fig: dict[str, Any]) -> list[str]:
    p = fig["parked_after_reply"]
    parts = [
        "<h2>Parked right after a customer's reply</h2>",
        f"<p>{p['count']} times on {p['tickets']} tickets an agent set a paused status (the"
        " SLA clock stops) within 30 minutes of the customer's public reply, with no public"
        " answer in between.</p>",
    ]
    if p["latest"]:
        shown = p["latest"][:PARKED_SHOWN]
        body = [
            (None, cells[1:], links([r], 1))
            for r, cells in zip(shown, render.parked_rows(shown), strict=True)
        ]
        parts.append(table([*render.PARKED_HEAD[1:], "ticket"], body, numeric=0))
        if p["count"] > len(shown):
            parts.append(
                f'<p class="note">The latest {len(shown)} of {p["count"]}; the JSON and CSV'
                " list up to 100.</p>"
            )
    return parts


def _failures(fig: dict[str, Any]) -> list[str]:
    f = fig["failed_writes"]
    out = [
        "<h2>Failed writes</h2>",
        f"<p>{f['writes']} failed writes on {f['tickets']} tickets;"
        f" {f['comments_dropped']} comments dropped."
        f" {links(f['failed_tickets'], f['tickets'])}</p>",
    ]
    if f.get("messages"):
        body = [(None, [str(m["count"]), m["message"]], "") for m in f["messages"]]
        out.append(table(["count", "message", ""], body, numeric=0))
    return out
