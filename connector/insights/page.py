"""`escalate report --format html`: one self-contained page (inline CSS and SVG, no script).

Its Content-Security-Policy forbids loading anything, so the page works offline, from a mail
attachment or a file share, and a browser test would see any attempt as an error.
"""

from __future__ import annotations

import html
from typing import Any

from connector.insights import render
from connector.insights.charts import columns, hbars
from connector.tables import html_table

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#eef3fb;text-align:left}.n{text-align:right}.note{color:#555}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:bold}
.empty{color:#777;font-style:italic}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page(fig: dict[str, Any]) -> str:
    """The whole page: summary and trend first, then levels, SLAs, breakdowns and failures."""
    parts = _head(fig)
    parts += _trend(fig)
    parts += _levels(fig)
    parts += _sla(fig)
    parts += _breakdowns(fig)
    parts += _failures(fig)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _head(fig: dict[str, Any]) -> list[str]:
    e = html.escape
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
        + "</dl>"
    )
    return parts


def _levels(fig: dict[str, Any]) -> list[str]:
    return [
        "<h2>Levels</h2>",
        hbars(
            "Escalations into each level",
            [
                (r["level"], r["entered"], f"{r['level']}: {r['entered']} escalations")
                for r in fig["levels"][1:]
            ],
        ),
        html_table(render.LEVEL_HEAD, render.level_rows(fig), numeric=4),
    ]


def _sla(fig: dict[str, Any]) -> list[str]:
    parts = ["<h2>SLA attainment</h2>"]
    if fig["sla"]:
        parts.append(html_table(render.SLA_HEAD, render.sla_rows(fig), numeric=4))
    else:
        parts.append('<p class="empty">No SLA clocks seen in this window.</p>')
    priorities = [r for r in fig["by"]["priority"] if r["sla_attainment"] is not None]
    parts.append(
        hbars(
            "SLA attainment by priority",
            [
                (
                    r["key"],
                    r["sla_attainment"],
                    f"{r['key']}: {r['sla_met']} met, {r['sla_breached']} breached",
                )
                for r in priorities
            ],
            percent=True,
        )
    )
    return parts


def _breakdowns(fig: dict[str, Any]) -> list[str]:
    """A table per dimension (priority, team, ...); the team's also as a bar chart."""
    parts = []
    for dim, rows in fig["by"].items():
        parts.append(f"<h2>{html.escape(render.BY_TITLES[dim])}</h2>")
        if dim == "team":
            parts.append(
                hbars(
                    "Escalations by team",
                    [(r["key"], r["escalations"], f"{r['key']}: {r['escalations']}") for r in rows],
                )
            )
        if dim in ("level", "rule"):
            parts.append(
                html_table([dim, *render.MOVED_HEAD[1:]], render.moved_rows(rows), numeric=2)
            )
        else:
            parts.append(html_table([dim, *render.BY_HEAD[1:]], render.by_rows(rows), numeric=10))
    return parts


def _trend(fig: dict[str, Any]) -> list[str]:
    rows, size = fig["trend"]["rows"], fig["trend"]["bucket"]
    rates = [d["escalation_rate"] for d in rows]
    chart = columns(
        f"Tickets escalated per {size} (UTC), and the escalation rate (line)",
        [
            (d["start"], d["tickets_escalated"], f"{d['start']}: {d['tickets_escalated']}")
            for d in rows
        ],
        rates,
    )
    return [
        "<h2>Trend</h2>",
        chart,
        html_table(render.TREND_HEAD, render.trend_rows(fig, active_only=True), numeric=7),
    ]


def _failures(fig: dict[str, Any]) -> list[str]:
    f = fig["failed_writes"]
    out = [
        "<h2>Failed writes</h2>",
        f"<p>{f['writes']} failed writes on {f['tickets']} tickets;"
        f" {f['comments_dropped']} comments dropped.</p>",
    ]
    if f.get("messages"):
        out.append(
            html_table(
                ["count", "message"], [[str(m["count"]), m["message"]] for m in f["messages"]]
            )
        )
    return out
