"""`escalate backtest --format html`: one self-contained page, written as the replay goes.

The tickets' changes are streamed into a table as they are replayed (only the totals are
kept); the summary and its charts come at the end of the file but first on the page (CSS
`order`), so memory stays flat however large the export.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, TextIO

import click

from connector.insights.charts import hbars
from connector.insights.page import CSP, STYLE
from connector.insights.render import num, pct
from connector.tables import html_table
from rules.backtest import TicketResult, Totals, delta, late
from rules.plan import format_instant
from rules.units import format_duration

HEAD = ["ticket", "at", "level", "rules", "what", "a poller acts"]


class HtmlOut:
    def __init__(self, note: str, end: datetime, step: float, out: TextIO | None = None) -> None:
        self.step, self.out = step, out
        self.differences: list[dict[str, Any]] = []
        title = f"Backtest up to {format_instant(end)}"
        th = "".join(f"<th>{html.escape(h)}</th>" for h in HEAD)
        click.echo(
            "<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{html.escape(title)}</title><style>{STYLE}"
            "main{display:flex;flex-direction:column}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p><strong>{html.escape(note)}</strong></p><main>"
            f'<section style="order:2"><h2>Changes, ticket by ticket</h2><table><tr>{th}</tr>',
            out,
        )

    def ticket(self, r: TicketResult, diff: dict[str, Any] | None) -> None:
        if diff is not None:
            self.differences.append(diff)
        rows = []
        if r.error is not None:
            rows.append([r.ticket, "", "", "", f"could not be replayed: {r.error}", ""])
        for s in r.steps:
            c = s.change
            what = [
                f"group {c.group.new}" if c.group else "",
                f"priority {c.priority.new}" if c.priority else "",
                "note" if c.internal_note else "",
                "reply" if c.public_reply else "",
            ]
            move = f"{c.level_from} -> {c.level_to}" if c.level_from != c.level_to else c.level_to
            rows.append(
                [
                    r.ticket,
                    format_instant(s.at),
                    move,
                    ", ".join(c.rules),
                    ", ".join(w for w in what if w),
                    f"+{late(s.at, self.step):.0f}s",
                ]
            )
        for row in rows:
            cells = "".join(f"<td>{html.escape(x or '-')}</td>" for x in row)
            click.echo(f"<tr>{cells}</tr>", self.out, nl=False)

    def finish(self, totals: Totals, other: Totals | None, differ: int) -> None:
        parts = ['</table></section><section style="order:1">']
        parts += _summary("Summary", totals.to_json())
        if other is not None:
            theirs = other.to_json()
            parts += _summary("Summary with --compare", theirs)
            d = delta(totals.to_json(), theirs)
            parts += [
                "<h2>Difference (--compare minus this policy)</h2>",
                html_table(
                    ["figure", "difference"],
                    [[k.replace("_", " "), "-" if v is None else f"{v:+g}"] for k, v in d.items()],
                    numeric=1,
                ),
                f"<h2>Tickets where they differ: {differ}</h2>",
                html_table(
                    ["ticket", "only this policy", "only --compare"],
                    [
                        [x["ticket"], "\n".join(x["only_a"]), "\n".join(x["only_b"])]
                        for x in self.differences
                    ],
                ),
            ]
        parts.append("</section></main></body></html>")
        click.echo("\n".join(parts), self.out)


def _summary(title: str, s: dict[str, Any]) -> list[str]:
    first = s["mean_seconds_to_first_escalation"]
    facts = [
        ("tickets", f"{s['tickets']} ({s['tickets_changed']} changed)"),
        ("escalations", f"{s['escalations']} ({s['de_escalations']} de-escalations)"),
        ("comments", f"{s['notes']} notes, {s['replies']} replies"),
        ("mean time to first escalation", format_duration(first) if first is not None else "-"),
        (
            "breached tickets",
            f"{s['breached_tickets']}, of which escalated {s['breached_tickets_escalated']}",
        ),
    ]
    sla_rows = [
        [t, num(c["met"]), str(c["breached"]), str(c["running"]), pct(c["attainment"])]
        for t, c in s["sla"].items()
    ]
    return [
        f"<h2>{html.escape(title)}</h2>",
        "<dl>"
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
        + "</dl>",
        _bars("Escalations by level", s["by_level"]),
        _bars("Escalations by team", s["by_team"]),
        _bars("Changes by rule", s["by_rule"]),
        html_table(["SLA target", "met", "breached", "running", "attainment"], sla_rows, numeric=4),
    ]


def _bars(label: str, counts: dict[str, int]) -> str:
    return hbars(label, [(k, v, f"{k}: {v}") for k, v in counts.items()])
