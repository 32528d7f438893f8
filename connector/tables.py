"""Plain-text and HTML tables, shared by the commands that print figures (matrix, report)."""

from __future__ import annotations

import html
from collections.abc import Sequence


def grid(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns, a rule under the heading; an empty cell shows as '-'."""
    rows = [[c or "-" for c in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def html_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: int = 0) -> str:
    """An escaped HTML table; the last `numeric` columns are right-aligned."""
    first = len(head) - numeric

    def cell(tag: str, i: int, text: str) -> str:
        style = ' class="n"' if i >= first else ""
        return f"<{tag}{style}>{html.escape(text or '-')}</{tag}>"

    th = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"
