"""`escalate report` as text and CSV (the JSON is the figures document itself; HTML: page.py).

CSV is one tidy table, `section,group,key,metric,value`, so a spreadsheet can pivot any part.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterator
from typing import Any

from connector.tables import grid
from rules.units import format_duration

BY_TITLES = {
    "priority": "By priority",
    "team": "By team",
    "type": "By type (the types that escalate most first)",
    "organization": "By organisation",
    "level": "Escalations into each level",
    "rule": "Escalations by rule",
}
BY_HEAD = [
    "",
    "tickets",
    "escalated",
    "escalations",
    "rate",
    "open now",
    "SLA targets met",
    "targets breached",
    "attainment",
    "reopened",
    "de-escalated",
]
MOVED_HEAD = ["", "escalations", "tickets"]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def duration(stats: dict[str, Any], legend: str = "") -> str:
    """Median / p90 (count) of a statistics record; `legend` says so after it."""
    if not stats["count"]:
        return "-"
    return (
        f"{format_duration(stats['median_s'])} / {format_duration(stats['p90_s'])}"
        f" ({stats['count']})" + (f": {legend}" if legend else "")
    )


def title(fig: dict[str, Any]) -> str:
    org = fig["scope"]["organization"]
    window = f"{fig['window']['since']} to {fig['window']['until']}"
    return f"Escalation report{f' for {org}' if org else ''}: {window}"


def summary_lines(fig: dict[str, Any]) -> list[tuple[str, str]]:
    t, f = fig["totals"], fig["failed_writes"]
    a, parked = fig["after_escalation"], fig["parked_after_reply"]
    return [
        (
            "escalation rate",
            f"{pct(t['escalation_rate'])} ({t['tickets_escalated']} of {t['tickets']} tickets"
            " open in the window were escalated)"
            if t["tickets"] is not None
            else "- (needs the tickets read live: leave out --no-live)",
        ),
        (
            "escalations written",
            f"{t['escalations']} on {t['tickets_escalated']} tickets"
            f" ({t['de_escalations']} de-escalations)",
        ),
        (
            "open now",
            f"{t['open_now']}, of which {t['escalated_now']} above the first level"
            if t["open_now"] is not None
            else "-",
        ),
        ("time to escalate", duration(t["time_to_escalate"], "median / p90 (tickets)")),
        (
            "after escalation",
            f"{a['de_escalated']} de-escalated, {a['reopened']} reopened,"
            f" of {a['tickets_escalated']} escalated tickets",
        ),
        (
            "parked after a reply",
            f"{parked['count']} times on {parked['tickets']} tickets (a paused status set"
            " right after the customer wrote, with no answer)",
        ),
        ("comments", f"{t['internal_notes']} internal notes, {t['public_replies']} public replies"),
        (
            "failed writes",
            f"{f['writes']} on {f['tickets']} tickets; {f['comments_dropped']} comments dropped",
        ),
    ]


def level_rows(fig: dict[str, Any]) -> list[list[str]]:
    return [
        [
            r["level"],
            str(r["entered"]),
            duration(r["time_in_level"]),
            "-" if r["open_now"] is None else str(r["open_now"]),
            duration(r["open_for"]),
        ]
        for r in fig["levels"]
    ]


LEVEL_HEAD = ["level", "entered", "time in level (median / p90)", "open now", "open for"]
SLA_HEAD = ["target", "met", "breached", "running", "attainment"]
TREND_HEAD = [
    "from (UTC)",
    "tickets",
    "escalated",
    "rate",
    "SLA met",
    "breached",
    "attainment",
    "failed writes",
]
STATUS_HEAD = ["status", "tickets", "median", "p90", "total"]


def sla_rows(fig: dict[str, Any]) -> list[list[str]]:
    return [
        [name, num(c["met"]), str(c["breached"]), str(c["running"]), pct(c["attainment"])]
        for name, c in fig["sla"].items()
    ]


def by_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["key"],
            num(r["tickets"]),
            str(r["tickets_escalated"]),
            str(r["escalations"]),
            pct(r["escalation_rate"]),
            num(r["open_now"]),
            num(r["sla_met"]),
            str(r["sla_breached"]),
            pct(r["sla_attainment"]),
            str(r["reopened"]),
            str(r["de_escalated"]),
        ]
        for r in rows
    ]


def moved_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["key"], str(r["escalations"]), str(r["tickets_escalated"])] for r in rows]


def num(value: int | None) -> str:
    return "-" if value is None else str(value)


def trend_rows(fig: dict[str, Any], *, active_only: bool = False) -> list[list[str]]:
    """One row per day or week; `active_only`: those with tickets, escalations or failures."""
    return [
        [
            d["start"],
            num(d["tickets"]),
            str(d["tickets_escalated"]),
            pct(d["escalation_rate"]),
            str(d["sla_met"]),
            str(d["sla_breached"]),
            pct(d["sla_attainment"]),
            str(d["failed_writes"]),
        ]
        for d in fig["trend"]["rows"]
        if not active_only
        or d["tickets"]
        or d["tickets_escalated"]
        or d["failed_writes"]
        or d["sla_met"]
        or d["sla_breached"]
    ]


def status_rows(fig: dict[str, Any]) -> list[list[str]]:
    return [
        [
            r["status"],
            str(r["count"]),
            format_duration(r["median_s"]),
            format_duration(r["p90_s"]),
            format_duration(r["total_s"]),
        ]
        for r in fig["time_in_status"]
    ]


def provenance(fig: dict[str, Any]) -> list[str]:
    """Where the figures come from, and what could not be read (not in the per-client view)."""
    data = fig.get("data")
    if data is None:
        return []
    live = ", ".join(fig["scope"]["instances"]) if fig["scope"]["live"] else "not read"
    out = [
        f"From {data['audit_lines']} audit lines ({data['bad_lines']} unreadable) of"
        f" {data['runs']} instance runs; live tickets: {live}."
    ]
    out += [
        f"warning: live tickets of {n} not read: {e}"
        for n, e in fig["scope"]["live_errors"].items()
    ]
    return out + [f"warning: {w}" for w in data["warnings"]]


def text(fig: dict[str, Any]) -> str:
    out = [title(fig), ""]
    notes = provenance(fig)
    out += [*notes, ""] if notes else []
    width = max(len(k) for k, _ in summary_lines(fig))
    out += [f"{k.ljust(width)}  {v}" for k, v in summary_lines(fig)]
    out += ["", *wrap(fig["definitions"]["escalation_rate"])]
    out += [
        "",
        f"Trend, per {fig['trend']['bucket']} (the {fig['trend']['bucket']}s with"
        " tickets, escalations, SLA verdicts or failed writes)",
        "",
    ]
    active = trend_rows(fig, active_only=True)
    out += grid(TREND_HEAD, active) if active else ["nothing in this window"]
    out += ["", "Levels (time in level: median / p90, tickets)", ""]
    out += grid(LEVEL_HEAD, level_rows(fig))
    out += ["", "Time in status (from the histories; per ticket: median, p90; total)", ""]
    rows = status_rows(fig)
    out += grid(STATUS_HEAD, rows) if rows else ["no history read (--live reads them)"]
    out += ["", "SLA attainment (met / (met + breached), per target)", ""]
    out += grid(SLA_HEAD, sla_rows(fig)) if fig["sla"] else ["no SLA clocks seen"]
    for dim, found in fig["by"].items():
        out += ["", BY_TITLES[dim], ""]
        if not found:
            out.append("nothing in this window")
        elif dim in ("level", "rule"):
            out += grid([dim, *MOVED_HEAD[1:]], moved_rows(found))
        else:
            out += grid([dim, *BY_HEAD[1:]], by_rows(found))
    parked = fig["parked_after_reply"]["latest"]
    if parked:
        out += ["", "Parked in a paused status right after the customer wrote (latest first)", ""]
        out += grid(PARKED_HEAD, parked_rows(parked))
    notices = fig.get("notices")
    if notices:
        out += ["", "Notices (per channel: sent and not; details in the audit log)", ""]
        statuses = sorted({s for by in notices.values() for s in by})
        rows = [[ch, *(str(by.get(s, 0)) for s in statuses)] for ch, by in notices.items()]
        out += grid(["channel", *statuses], rows)
    messages = fig["failed_writes"].get("messages")
    if messages:
        out += ["", "Failed writes, most common reasons", ""]
        out += grid(["count", "message"], [[str(m["count"]), m["message"]] for m in messages])
    return "\n".join(out) + "\n"


PARKED_HEAD = ["ticket", "team", "customer wrote", "parked", "after", "status"]


def parked_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [r["ticket"], r["team"], r["replied_at"], r["parked_at"], r["after"], r["status"]]
        for r in rows
    ]


def wrap(paragraph: str, width: int = 96) -> list[str]:
    return textwrap.wrap(paragraph, width)


def csv_text(fig: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "group", "key", "metric", "value"])
    writer.writerows([_safe(c) for c in row] for row in _tidy(fig))
    return buffer.getvalue()


def _tidy(fig: dict[str, Any]) -> Iterator[list[Any]]:
    for name, value in fig["totals"].items():
        yield from _cells("totals", "", "", name, value)
    for channel, by in (fig.get("notices") or {}).items():
        for status, count in by.items():
            yield ["notices", "", channel, status, count]
    for row in fig["levels"]:
        for name, value in row.items():
            if name != "level":
                yield from _cells("levels", "", row["level"], name, value)
    for target, cells in fig["sla"].items():
        for name, value in cells.items():
            yield ["sla", "", target, name, value]
    for dim, rows in fig["by"].items():
        for row in rows:
            for name, value in row.items():
                if name != "key":
                    yield from _cells("by", dim, row["key"], name, value)
    trend = fig["trend"]
    for day in trend["rows"]:
        for name, value in day.items():
            if name != "start":
                yield from _cells("trend", trend["bucket"], day["start"], name, value)
    for team in trend.get("by_team", []):
        for point in team["points"]:
            for name, value in point.items():
                if name != "start":
                    yield ["team_trend", team["team"], point["start"], name, value]
    for row in fig["time_in_status"]:
        for name, value in row.items():
            if name != "status":
                yield from _cells("time_in_status", "", row["status"], name, value)
    for name, value in fig["after_escalation"].items():
        yield from _cells("after_escalation", "", "", name, value)
    parked = fig["parked_after_reply"]
    for name in ("count", "tickets"):
        yield ["parked_after_reply", "", "", name, parked[name]]
    yield from _cells("parked_after_reply", "", "", "latest", parked["latest"])
    for name, value in fig["failed_writes"].items():
        if name in ("writes", "tickets", "comments_dropped", "failed_tickets"):
            yield from _cells("failed_writes", "", "", name, value)


def _safe(cell: Any) -> Any:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _cells(section: str, group: str, key: str, name: str, value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):  # a statistics record: count, median_s, p90_s
        for sub, v in value.items():
            yield [section, group, key, f"{name}.{sub}", v]
    elif isinstance(value, list):  # tickets: their addresses (or numbers), space-separated
        yield [section, group, key, name, " ".join(_where(r) for r in value)]
    else:
        yield [section, group, key, name, value]


def _where(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("url") or ref.get("ticket"))
    return str(ref)
