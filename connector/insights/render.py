"""`escalate report` as text and CSV (the JSON is the figures document itself; HTML: page.py).

CSV is one tidy table, `section,group,key,metric,value`, so a spreadsheet can pivot any part.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from connector.tables import grid
from rules.units import format_duration

BY_TITLES = {
    "level": "By level",
    "priority": "By priority",
    "team": "By team",
    "type": "By type (the types that escalate most first)",
    "rule": "By rule",
    "organization": "By organisation",
}
BY_HEAD = [
    "",
    "escalations",
    "tickets",
    "open now",
    "escalated now",
    "rate",
    "SLA met",
    "breached",
    "attainment",
    "reopened",
]


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
    lines = [
        (
            "escalations written",
            f"{t['escalations']} on {t['tickets_escalated']} tickets"
            f" ({t['de_escalations']} de-escalations)",
        ),
        (
            "escalation rate",
            f"{pct(t['escalation_rate'])} ({t['escalated_now']} of {t['open_now']} open tickets"
            " above the first level)"
            if t["open_now"] is not None
            else "- (needs the live tickets: --live)",
        ),
        ("time to escalate", duration(t["time_to_escalate"], "median / p90 (tickets)")),
        (
            "reopened after escalation",
            f"{t['reopened_after_escalation']} of {t['tickets_escalated']}"
            f" ({pct(t['reopen_rate'])})",
        ),
        ("comments", f"{t['internal_notes']} internal notes, {t['public_replies']} public replies"),
        (
            "failed writes",
            f"{f['writes']} on {f['tickets']} tickets; {f['comments_dropped']} comments dropped",
        ),
    ]
    return lines


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
TREND_HEAD = ["day (UTC)", "escalations", "open", "rate", "failed writes"]


def sla_rows(fig: dict[str, Any]) -> list[list[str]]:
    return [
        [name, num(c["met"]), str(c["breached"]), str(c["running"]), pct(c["attainment"])]
        for name, c in fig["sla"].items()
    ]


def by_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["key"],
            str(r["escalations"]),
            str(r["tickets_escalated"]),
            str(r["open_now"]),
            str(r["escalated_now"]),
            pct(r["escalation_rate"]),
            str(r["sla_met"]),
            str(r["sla_breached"]),
            pct(r["sla_attainment"]),
            str(r["reopened"]),
        ]
        for r in rows
    ]


def num(value: int | None) -> str:
    return "-" if value is None else str(value)


def trend_rows(fig: dict[str, Any], *, active_only: bool = False) -> list[list[str]]:
    """One row per day; `active_only`: the days with escalations, failures or runs."""
    return [
        [
            d["day"],
            str(d["escalations"]),
            "-" if d.get("open") is None else str(d["open"]),
            pct(d.get("escalation_rate")),
            str(d["failed_writes"]),
        ]
        for d in fig["trend"]
        if not active_only or d["escalations"] or d["failed_writes"] or d.get("open") is not None
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
    out += ["", "Levels (time in level: median / p90, tickets)", ""]
    out += grid(LEVEL_HEAD, level_rows(fig))
    out += ["", "SLA attainment (met / (met + breached), per target)", ""]
    out += grid(SLA_HEAD, sla_rows(fig)) if fig["sla"] else ["no SLA clocks seen"]
    for dim, rows in fig["by"].items():
        out += ["", BY_TITLES[dim], ""]
        out += grid([dim, *BY_HEAD[1:]], by_rows(rows)) if rows else ["nothing in this window"]
    out += ["", "Trend (the days with escalations, failed writes or runs)", ""]
    active = trend_rows(fig, active_only=True)
    out += grid(TREND_HEAD, active) if active else ["nothing in this window"]
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
                    yield ["by", dim, row["key"], name, value]
    for day in fig["trend"]:
        for name, value in day.items():
            if name != "day":
                yield ["trend", "", day["day"], name, value]
    for name, value in fig["failed_writes"].items():
        if not isinstance(value, list | dict):
            yield ["failed_writes", "", "", name, value]


def _safe(cell: Any) -> Any:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _cells(section: str, group: str, key: str, name: str, value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):  # a statistics record: count, median_s, p90_s
        for sub, v in value.items():
            yield [section, group, key, f"{name}.{sub}", v]
    else:
        yield [section, group, key, name, value]
