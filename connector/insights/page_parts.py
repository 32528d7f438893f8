"""The report page's building blocks: its style, tables whose rows can be linked to, and the
list of tickets behind a figure, each a link to the ticket on its platform."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
vertical-align:top}th{background:#eef3fb;text-align:left}.n{text-align:right}
.note{color:#555}.definition{background:#f6f6f0;border-left:4px solid #c0504d;padding:6px 10px}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:bold}
.empty{color:#777;font-style:italic}svg.chart{display:block;margin:4px 0 10px}
.chart-title{font-weight:bold;margin:14px 0 0}
.axis-title{font-size:11px;fill:#444}tr:target{background:#fff6d5}
details{display:inline}summary{cursor:pointer;color:#2a55a0}
a.t{margin-right:8px;white-space:nowrap;display:inline-block}
td:not(:last-child){white-space:nowrap}
"""
#: Tickets shown before the list folds into "N tickets".
SHOWN = 5

Row = tuple[str | None, Sequence[str], str]  # (anchor id, text cells, HTML of the last cell)


def table(head: Sequence[str], rows: Sequence[Row], *, numeric: int = 0) -> str:
    """An escaped table whose last column is ready HTML (ticket links); the `numeric` text
    columns before it are right-aligned; a row with an anchor can be linked to (#anchor)."""
    first = len(head) - 1 - numeric

    def cell(tag: str, i: int, text: str) -> str:
        style = ' class="n"' if first <= i < len(head) - 1 else ""
        return f"<{tag}{style}>{html.escape(text or '-')}</{tag}>"

    th = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "".join(
        (f'<tr id="{html.escape(anchor)}">' if anchor else "<tr>")
        + "".join(cell("td", i, c) for i, c in enumerate(cells))
        + f"<td>{last}</td></tr>"
        for anchor, cells, last in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def links(refs: list[dict[str, Any]], total: int) -> str:
    """The tickets, each linked to its page on the platform (a plain number where the page
    has no address: the per-client view); more than SHOWN fold into a summary."""
    if not refs:
        return ""
    anchors = [_one(r) for r in refs]
    more = f" and {total - len(refs)} more (JSON, CSV)" if total > len(refs) else ""
    if len(anchors) <= SHOWN:
        return " ".join(anchors) + more
    return f"<details><summary>{total} tickets</summary>{' '.join(anchors)}{more}</details>"


def _one(ref: dict[str, Any]) -> str:
    name = html.escape(str(ref.get("ticket")))
    url = ref.get("url")
    if not url:
        return f'<span class="t">{name}</span>'
    where = html.escape(str(ref.get("instance")))  # the same key may be on two instances
    return f'<a class="t" href="{html.escape(str(url))}">{where}:{name}</a>'
