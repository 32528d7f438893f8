"""`escalate matrix` output: the escalation matrix (rules/matrix.py) as text tables, a Mermaid
flowchart, or one self-contained HTML page (the tables and the flowchart as inline SVG)."""

from __future__ import annotations

import html
import itertools
import re

from connector.tables import grid, html_table
from rules.matrix import Matrix, Route

CLOSE = "Close & review"


def table(m: Matrix) -> str:
    out = ["Levels", ""]
    out += grid(
        ["level", "description", "owner", "approval", "notify", "priority floor"],
        [
            [r.name, r.description, r.owner, r.approval, r.notify, r.priority_floor]
            for r in m.levels
        ],
    )
    if m.functions:
        names = [r.name for r in m.levels]
        out += ["", "Owners by function (* the level's own owner: the matrix names none)", ""]
        rows = []
        for name, _ in m.functions:
            cells = [m.cells[(name, level)] for level in names]
            rows.append([name, *(f"{o}*" if inherited else o for o, inherited in cells)])
        out += grid(["function", *names], rows)
    out += ["", "Escalation paths", ""]
    out += grid(
        ["from", "to", "rule", "when", "approval"],
        [[p.source, p.target, p.rule, p.when, p.approval] for p in m.paths],
    )
    if m.requested:
        out += ["", f"On an agent's request (any higher level): {', '.join(m.requested)}"]
    if m.closing:
        out += [f"On solved or closed tickets ({CLOSE.lower()}): {', '.join(m.closing)}"]
    return "\n".join(out) + "\n"


def mermaid(m: Matrix) -> str:
    """A top-down flowchart: New ticket → each level → resolved? → yes: close & review; no:
    each path out of the level, labelled with its rule and conditions (through an approval node
    where the target level needs one)."""
    ids = {r.name: f"level{i}" for i, r in enumerate(m.levels)}
    out = ["flowchart TD", '  new(["New ticket"])']
    for r in m.levels:
        label = f"{r.name}: {r.description}<br/>{r.owner}" if r.description else r.name
        out.append(f'  {ids[r.name]}["{_m(label)}"]')
    if m.levels:
        out.append(f"  new --> {ids[m.levels[0].name]}")
    closing = f"{CLOSE}: {', '.join(m.closing)}" if m.closing else CLOSE
    out.append(f'  close(["{_m(closing)}"])')
    gates: set[str] = set()
    for r in m.levels:
        node = ids[r.name]
        out.append(f"  {node} --> {node}q{{Resolved at {_m(r.name)}?}}")
        out.append(f"  {node}q -- yes --> close")
        for p in (p for p in m.paths if p.source == r.name):
            target = ids[p.target]
            if p.approval:
                gate = f"{target}a"
                if gate not in gates:
                    gates.add(gate)
                    out.append(f'  {gate}{{{{"approval by {_m(p.approval)}"}}}}')
                    out.append(f"  {gate} -- approved --> {target}")
                target = gate
            out.append(f'  {node}q -- "{_m(_label(p))}" --> {target}')
    if m.requested:
        out.append(f'  req[/"agent request ({_m(", ".join(m.requested))}): any higher level"/]')
    return "\n".join(out) + "\n"


def _label(p: Route) -> str:
    return f"{'down' if p.down else 'no'}: {p.rule} ({p.when})"


def _m(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return text.replace('"', "#quot;").replace("\n", " ")


def html_page(m: Matrix, title: str) -> str:
    """One page, no script and nothing fetched: the tables, then the flowchart as SVG."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;vertical-align:top}th{background:#f3f3f3}.inherited{color:#888}"
        "svg text{font:12px system-ui,sans-serif}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Levels</h2>",
        html_table(
            ["level", "description", "owner", "approval", "notify", "priority floor"],
            [
                [r.name, r.description, r.owner, r.approval, r.notify, r.priority_floor]
                for r in m.levels
            ],
        ),
    ]
    if m.functions:
        names = [r.name for r in m.levels]
        rows = []
        for name, description in m.functions:
            cells = []
            for level in names:
                owner, inherited = m.cells[(name, level)]
                css = ' class="inherited"' if inherited else ""
                cells.append(f"<td{css}>{html.escape(owner)}</td>")
            head = f"<td><b>{html.escape(name)}</b><br>{html.escape(description)}</td>"
            rows.append(f"<tr>{head}{''.join(cells)}</tr>")
        header = "".join(f"<th>{html.escape(h)}</th>" for h in ["function", *names])
        parts += [
            "<h2>Owners by function</h2>",
            "<p>Grey: the level's own owner (the matrix names none).</p>",
            f"<table><tr>{header}</tr>{''.join(rows)}</table>",
        ]
    parts += [
        "<h2>Escalation paths</h2>",
        html_table(
            ["#", "from", "to", "rule", "when", "approval"],
            [
                [str(i), p.source, p.target, p.rule, p.when, p.approval]
                for i, p in enumerate(m.paths, 1)
            ],
        ),
        "<h2>Flow</h2>",
        "<p>Each arrow on the right is the escalation path of that number above (purple: through"
        " an approval).</p>",
        _svg(m),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _svg(m: Matrix) -> str:
    """The levels as a column of boxes, New ticket on top and Close & review at the bottom;
    each path an arrow on the right from its level's box to its target's, numbered as in the
    paths table."""
    box_w, box_h, gap, left = 300, 44, 36, 20
    names = ["New ticket", *(r.name for r in m.levels), CLOSE]
    y = {name: 20 + i * (box_h + gap) for i, name in enumerate(names)}
    out: list[str] = []
    for name in names:
        row = next((r for r in m.levels if r.name == name), None)
        sub = row.owner if row else (", ".join(m.closing) if name == CLOSE else "")
        out.append(
            f'<rect x="{left}" y="{y[name]}" width="{box_w}" height="{box_h}" rx="6" '
            'fill="#eef3fb" stroke="#4a6fa5"/>'
            f'<text x="{left + 10}" y="{y[name] + 18}"><tspan font-weight="bold">'
            f"{html.escape(name)}</tspan></text>"
            f'<text x="{left + 10}" y="{y[name] + 35}">{html.escape(_short(sub, 40))}</text>'
        )
    for upper, lower in itertools.pairwise(names):
        x = left + box_w // 2
        out.append(_arrow(x, y[upper] + box_h, x, y[lower], "#888"))
    for i, p in enumerate(m.paths):
        x = left + box_w + 24 + i * 22
        y1, y2 = y[p.source] + box_h // 2 - 8 + (i % 4) * 5, y[p.target] + box_h // 2
        colour = "#c0504d" if not p.approval else "#9b59b6"
        out.append(
            f'<polyline points="{left + box_w},{y1} {x},{y1} {x},{y2} {left + box_w + 7},{y2}" '
            f'fill="none" stroke="{colour}"/>'
            f'<polygon points="{left + box_w + 7},{y2 - 4} {left + box_w + 7},{y2 + 4} '
            f'{left + box_w},{y2}" fill="{colour}"/>'
            f'<text x="{x + 3}" y="{(y1 + y2) // 2}">{i + 1}</text>'
        )
    height = y[CLOSE] + box_h + 20
    width = left + box_w + 40 + len(m.paths) * 22
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="escalation flow">{"".join(out)}</svg>'
    )


def _arrow(x1: int, y1: int, x2: int, y2: int, colour: str) -> str:
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}"/>'
        f'<polygon points="{x2 - 4},{y2 - 7} {x2 + 4},{y2 - 7} {x2},{y2}" fill="{colour}"/>'
    )


def _short(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
