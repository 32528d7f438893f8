"""`escalate backtest --format html`: one self-contained page, written as the replay goes.

What a reader looks at first comes first on the page: the summary, the charts (escalations
over time, by level, rule and team; with --compare, both policies side by side) and the SLA
table; with --compare, the difference and the tickets that differ. Every change, ticket by
ticket, comes after, drawn 50 tickets at a time by a small script from compact JSON embedded in
the page, so a 10k-ticket backtest is a page of a few tables, not one of 57,000 rows.

The tickets are streamed into the JSON as they are replayed (only the totals and the counts per
day are kept), so the summary is at the end of the file and first on the page (CSS `order`).
The page fetches nothing; its Content-Security-Policy allows only the one script, by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TextIO

import click

from connector.backtest_charts import bars, columns
from connector.backtest_notices import notices_section
from connector.backtest_script import SCRIPT
from rules.backtest import TicketResult, Totals, delta, late
from rules.plan import format_instant
from rules.units import human_duration, signed_duration

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    + "'"
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1280px;padding:0 1rem;
color:#222}
main{display:flex;flex-direction:column}
h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.first td{border-top:2px solid #999}td.t,td.n{white-space:nowrap}
td.l{font-size:.85rem;min-width:16rem}td.l div{padding-left:1.2em;text-indent:-1.2em}
h3{margin:1.2rem 0 .2rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0}.chart{display:block;margin:.5rem 0 1rem;max-width:100%;height:auto}
.axis{fill:#555}.pager{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
.pager input{padding:.2rem .4rem}.empty{color:#666}
table.notices .g{border-left:2px solid #999}table.notices th[colspan]{text-align:center}
table.notices th[rowspan]{vertical-align:bottom}
table.notices tr.total>*{border-top:2px solid #999;font-weight:600}
"""
HEAD = ["ticket", "priority", "at (UTC)", "level", "rules", "what", "a poller acts"]
DIFF_HEAD = [
    "ticket",
    "first escalation",
    "with --compare",
    "shift",
    "escalated to",
    "changes only this policy makes",
    "changes only --compare makes",
]


class HtmlOut:
    def __init__(
        self,
        note: str,
        end: datetime,
        step: float,
        out: TextIO | None = None,
        channels: list[tuple[str, ...]] | None = None,
    ) -> None:
        """`channels`: each policy's notice channels (this one's, then --compare's)."""
        self.step, self.out, self.first = step, out, True
        self.channels = channels or [()]
        self.differences: list[list[Any]] = []
        self.days: tuple[Counter[date], Counter[date]] = (Counter(), Counter())
        self.rules: dict[str, int] = {}
        title = f"Backtest up to {format_instant(end)}"
        click.echo(
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{_e(title)}</h1><p><strong>{_e(note)}</strong></p><main>"
            + _detail_head()
            + '<script type="application/json" id="tickets">[',
            out,
            nl=False,
        )

    def ticket(
        self, r: TicketResult, diff: dict[str, Any] | None, theirs: TicketResult | None = None
    ) -> None:
        for n, result in enumerate((r, theirs)):
            for s in result.escalations if result is not None else ():
                self.days[n][s.at.date()] += 1
        if diff is not None:
            self.differences.append(_diff_row(diff))
        if not r.steps and r.error is None:
            return
        row: list[Any] = [r.ticket, r.priority, [self._change(s) for s in r.steps]]
        if r.error is not None:
            row.append(r.error)
        click.echo(("" if self.first else ",") + _json(row), self.out, nl=False)
        self.first = False

    def _change(self, step: Any) -> list[Any]:
        c = step.change
        what = [
            f"group {c.group.new}" if c.group else "",
            f"priority {c.priority.new}" if c.priority else "",
            "note" if c.internal_note else "",
            "reply" if c.public_reply else "",
        ]
        rules = [self.rules.setdefault(name, len(self.rules)) for name in c.rules]
        at = int(step.at.timestamp())
        lateness = round(late(step.at, self.step))
        return [at, c.level_from, c.level_to, rules, ", ".join(w for w in what if w), lateness]

    def finish(self, totals: Totals, other: Totals | None, differ: int) -> None:
        ours = totals.to_json()
        theirs = other.to_json() if other is not None else None
        parts = ["]</script></section>", '<section style="order:1">']
        parts += _summary(ours, theirs, self.step)
        parts += _charts(ours, theirs, self.days)
        parts.append(_sla(ours, theirs))
        both = [ours] if theirs is None else [ours, theirs]
        parts += notices_section(both, [*self.channels, ()][: len(both)])
        if theirs is not None:
            parts += [
                f"<h2>Tickets where they differ: {differ:,}</h2>",
                "<p>Shift: how much later (+) or sooner (-) the --compare policy first"
                " escalates the ticket. Escalated to: the level of the last escalation, this"
                " policy's / the --compare one's. Changes are listed month-day time (UTC).</p>",
                _pager("differences", DIFF_HEAD),
                '<script type="application/json" id="differences">',
                _json(self.differences),
                "</script>",
            ]
        meta = {"rules": list(self.rules)}
        parts += [
            "</section></main>",
            f'<script type="application/json" id="meta">{_json(meta)}</script>',
            f"<script>{SCRIPT}</script></body></html>",
        ]
        click.echo("\n".join(parts), self.out)


def _detail_head() -> str:
    return (
        '<section style="order:2"><h2>Changes, ticket by ticket</h2>'
        "<p>Every change the policy would have made, 50 tickets a page; find a ticket by its"
        " id. Times are UTC; “a poller acts” is how much later a run every --interval would"
        " have acted.</p>" + _pager("tickets", HEAD)
    )


def _pager(name: str, head: list[str]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f'<div class="pager" data-for="{name}"><button type="button" data-go="-1">Previous'
        f'</button><span class="info"></span><button type="button" data-go="1">Next</button>'
        f'<label>Ticket <input type="search" size="14" aria-label="find a ticket"></label>'
        f'</div><table id="{name}-table"><thead><tr>{th}</tr></thead><tbody></tbody></table>'
        "<noscript><p>Scripts are off: this table needs the page's script. Use"
        " --format json for the same data.</p></noscript>"
    )


def _diff_row(d: dict[str, Any]) -> list[Any]:
    shift = d["first_escalation_shift_seconds"]
    shown = "-" if shift is None else signed_duration(shift)
    moved = f"{d['escalated_to_a'] or '-'} / {d['escalated_to_b'] or '-'}"
    first_a, first_b = _when(d["first_escalation_a"]), _when(d["first_escalation_b"])
    only_a = [_when(x)[5:].replace(" -> ", " \u2192 ") for x in d["only_a"]]
    only_b = [_when(x)[5:].replace(" -> ", " \u2192 ") for x in d["only_b"]]
    return [d["ticket"], first_a, first_b, shown, moved, only_a, only_b]


def _when(text: str | None) -> str:
    """An instant (or a line starting with one) as the page shows times: `2026-11-20 10:00:00`."""
    if not text:
        return "-"
    return text[:10] + " " + text[11:19] + text[20:]


Figure = tuple[str, Callable[[dict[str, Any]], str]]


def _summary(ours: dict[str, Any], theirs: dict[str, Any] | None, step: float) -> list[str]:
    rows: list[Figure] = [
        ("tickets", lambda s: f"{s['tickets']:,} ({s['tickets_changed']:,} changed)"),
        ("escalations", lambda s: f"{s['escalations']:,}"),
        ("de-escalations", lambda s: f"{s['de_escalations']:,}"),
        ("internal notes", lambda s: f"{s['notes']:,}"),
        ("replies to customers", lambda s: f"{s['replies']:,}"),
        ("mean time to first escalation", lambda s: _time(s["mean_seconds_to_first_escalation"])),
        ("breached tickets", lambda s: f"{s['breached_tickets']:,}"),
        ("breached tickets escalated", lambda s: f"{s['breached_tickets_escalated']:,}"),
        (
            f"polling every {human_duration(step)}: acts later by",
            lambda s: _late(s["lateness_seconds"]),
        ),
    ]
    if theirs is None:
        cells = "".join(f"<dt>{_e(k)}</dt><dd>{_e(fn(ours))}</dd>" for k, fn in rows)
        return ["<h2>Summary</h2>", f"<dl>{cells}</dl>"]
    d = delta(ours, theirs)
    keys = [
        "",
        "escalations",
        "de_escalations",
        "notes",
        "replies",
        "mean_seconds_to_first_escalation",
        "breached_tickets",
        "breached_tickets_escalated",
        "",
    ]
    body = []
    for (label, fn), key in zip(rows, keys, strict=True):
        value = d.get(key) if key else None
        diff = "" if value is None else _signed(key, value)
        body.append(
            f"<tr><th>{_e(label)}</th><td class='n'>{_e(fn(ours))}</td>"
            f"<td class='n'>{_e(fn(theirs))}</td><td class='n'>{_e(diff)}</td></tr>"
        )
    return [
        "<h2>Summary: this policy and --compare</h2>",
        "<table><thead><tr><th></th><th>this policy</th><th>--compare</th>"
        "<th>difference (--compare minus this)</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>",
    ]


def _charts(
    ours: dict[str, Any],
    theirs: dict[str, Any] | None,
    days: tuple[Counter[date], Counter[date]],
) -> list[str]:
    both = (ours,) if theirs is None else (ours, theirs)
    points, unit = _over_time(days[: len(both)])
    charts = [
        (f"Escalations per {unit} (UTC)", columns, points, f"{unit} (UTC), from its first day"),
        ("Escalations into each level", bars, _rows(both, "by_level"), "escalations"),
        ("Changes by rule", bars, _rows(both, "by_rule"), "changes"),
        ("Escalations by the team they came from", bars, _rows(both, "by_team"), "escalations"),
    ]
    return [f"<h3>{_e(title)}</h3>" + draw(title, rows, axis) for title, draw, rows, axis in charts]


def _over_time(days: tuple[Counter[date], ...]) -> tuple[list[tuple[str, list[int]]], str]:
    """Counts per day from the first to the last day with one (zeros between), or per week
    (from Monday) over more than 92 days."""
    seen = [d for counts in days for d in counts]
    if not seen:
        return [], "day"
    first, last = min(seen), max(seen)
    weekly = (last - first).days > 92
    if weekly:
        first -= timedelta(days=first.weekday())
    size = timedelta(days=7 if weekly else 1)
    points = []
    at = first
    while at <= last:
        values = [sum(n for d, n in c.items() if at <= d < at + size) for c in days]
        points.append((at.isoformat(), values))
        at += size
    return points, "week" if weekly else "day"


def _rows(both: tuple[dict[str, Any], ...], key: str) -> list[tuple[str, list[int]]]:
    names = list(dict.fromkeys(name for s in both for name in s[key]))
    return [(name, [int(s[key].get(name, 0)) for s in both]) for name in names]


def _sla(ours: dict[str, Any], theirs: dict[str, Any] | None) -> str:
    head = ["SLA target", "met", "breached", "running", "attainment"]
    if theirs is not None:
        head.append("attainment with --compare")
    rows = []
    for target, c in ours["sla"].items():
        cells = [target, *(_count(c[k]) for k in ("met", "breached", "running"))]
        cells.append(_pct(c["attainment"]))
        if theirs is not None:
            cells.append(_pct(theirs["sla"].get(target, {}).get("attainment")))
        rows.append("".join(f"<td>{_e(x)}</td>" for x in cells))
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f"<h2>SLA attainment at the end</h2><table><tr>{th}</tr>{body}</table>"


def _signed(key: str, value: float) -> str:
    if "seconds" in key:
        return signed_duration(value)
    return f"{value:+,g}" if value else "0"


def _count(value: int | None) -> str:
    """A count; None where it does not apply (the met ones of a breaches-only target)."""
    return "-" if value is None else f"{value:,}"


def _time(seconds: float | None) -> str:
    return "-" if seconds is None else human_duration(seconds)


def _late(late_s: dict[str, float | None]) -> str:
    mean, top = late_s["mean"], late_s["max"]
    if mean is None or top is None:
        return "-"
    return f"{human_duration(mean)} on average, {human_duration(top)} at most"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _json(value: Any) -> str:
    """Compact JSON that cannot end the script element it sits in."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
