"""`escalate matrix` output: the escalation matrix (rules/matrix.py) as text tables, a Mermaid
flowchart, or one self-contained HTML page (the tables and the flowchart as inline SVG)."""

from __future__ import annotations

import html
import re
import textwrap

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
        to = ", ".join(m.requestable) or "no higher level"
        out += ["", f"On an agent's request ({', '.join(m.requested)}): to {to}"]
    if m.closing:
        at = ", ".join(m.closing_levels) or "no level"
        out += [f"On solved or closed tickets ({CLOSE.lower()}): {', '.join(m.closing)}, at {at}"]
    if m.notices:
        out += ["", "Notifications only (no escalation)", ""]
        out += grid(
            ["rule", "at", "notifies", "when"],
            [[n.rule, ", ".join(n.levels), n.who, n.when] for n in m.notices],
        )
    return "\n".join(out) + "\n"


def mermaid(m: Matrix) -> str:
    """A top-down flowchart: New ticket → the first level → resolved? → yes: close & review
    (only at the levels a closing rule acts at; elsewhere "solved, no review"); no: each path
    out of the level, labelled with its rule and conditions (through an approval node where
    the target level needs one). The agent's request enters at each level it can ask for, and
    the rules that only notify hang off the levels they fire at. Long labels are wrapped."""
    ids = {r.name: f"level{i}" for i, r in enumerate(m.levels)}
    out = ["flowchart TD", '  new(["New ticket"])']
    for r in m.levels:
        label = f"{r.name}: {r.description}\n{r.owner}" if r.description else f"{r.name}\n{r.owner}"
        out.append(f'  {ids[r.name]}["{_m(label)}"]')
    if m.levels:
        out.append(f"  new --> {ids[m.levels[0].name]}")
    if m.closing_levels:
        out.append(f'  close(["{_m(CLOSE + ": " + ", ".join(m.closing))}"])')
    if len(m.closing_levels) < len(m.levels):
        out.append('  done(["Solved or closed, no review"])')
    gates: set[str] = set()

    def gate_of(target: str, approval: str) -> str:
        gate = f"{ids[target]}a"
        if gate not in gates:
            gates.add(gate)
            out.append(f'  {gate}{{{{"{_m("approval by " + approval)}"}}}}')
            out.append(f"  {gate} -- approved --> {ids[target]}")
        return gate

    for r in m.levels:
        node = ids[r.name]
        out.append(f"  {node} --> {node}q{{Resolved at {_m(r.name)}?}}")
        out.append(f"  {node}q -- yes --> {'close' if r.name in m.closing_levels else 'done'}")
        for p in (p for p in m.paths if p.source == r.name):
            target = gate_of(p.target, p.approval) if p.approval else ids[p.target]
            out.append(f'  {node}q -- "{_m(_label(p))}" --> {target}')
    if m.requested and m.requestable:
        out.append(f'  req[/"{_m("Agent request (" + ", ".join(m.requested) + ")")}"/]')
        rows = {r.name: r for r in m.levels}
        for name in m.requestable:
            approval = rows[name].approval
            target = gate_of(name, approval) if approval else ids[name]
            out.append(f'  req -. "asks for {_m(name)}" .-> {target}')
    for i, n in enumerate(m.notices):
        out.append(f'  note{i}[/"{_m(n.rule + ": notify " + n.who)}"/]')
        for level in n.levels:
            out.append(f'  {ids[level]} -. "{_m(n.when)}" .-> note{i}')
    return "\n".join(out) + "\n"


def _label(p: Route) -> str:
    return f"{'down' if p.down else 'no'}: {p.rule} ({p.when})"


def _m(text: str, width: int = 36) -> str:
    """Text safe inside a quoted Mermaid label, wrapped at `width` characters (`<br/>`)."""
    lines = [line for part in text.split("\n") for line in wrap(part, width) or [""]]
    return "<br/>".join(line.replace('"', "#quot;") for line in lines)


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken between words (or hyphens)."""
    return textwrap.wrap(re.sub(r"\s+", " ", text), width, break_on_hyphens=True)


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
        *_notices_html(m),
        "<h2>Flow</h2>",
        "<p>Each arrow on the right is the escalation path of that number above (purple: through"
        " an approval). On the left: an agent's request into each level it can ask for"
        " (dashed), and the way to close &amp; review from the levels a closing rule acts at."
        " Rules that only notify are in the boxes of the levels they fire at.</p>",
        _svg(m),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


LEFT, BOX_W, GAP, LINE = 250, 300, 36, 16
REQUEST_BUS, CLOSE_BUS = 30, 150


def _notices_html(m: Matrix) -> list[str]:
    if not m.notices:
        return []
    rows = [[n.rule, ", ".join(n.levels), n.who, n.when] for n in m.notices]
    return [
        "<h2>Notifications only (no escalation)</h2>",
        html_table(["rule", "at", "notifies", "when"], rows),
    ]


def _svg(m: Matrix) -> str:
    """The levels as a column of boxes (owner and the rules that only notify, wrapped), New
    ticket on top and Close & review at the bottom. On the right, each path an arrow from its
    level's box to its target's, numbered as in the paths table; on the left, the agent's
    request into each level it can ask for (dashed), and the way to close & review from the
    levels a closing rule acts at only."""
    boxes = _boxes(m)
    y: dict[str, int] = {}
    at = 20
    for name, lines in boxes:
        y[name] = at
        at += _height(lines) + GAP
    mid = {name: y[name] + _height(lines) // 2 for name, lines in boxes}
    out = [_box(name, lines, y[name]) for name, lines in boxes]
    if m.levels:
        first = m.levels[0].name
        out.append(
            _arrow(LEFT + BOX_W // 2, y["New ticket"] + 36, LEFT + BOX_W // 2, y[first], "#888")
        )
    out += _closing(m, mid)
    out += _requests(m, y, mid)
    for i, p in enumerate(m.paths):
        x = LEFT + BOX_W + 24 + i * 22
        y1, y2 = mid[p.source] - 8 + (i % 4) * 5, mid[p.target]
        colour = "#c0504d" if not p.approval else "#9b59b6"
        out.append(
            f'<polyline class="path" points="{LEFT + BOX_W},{y1} {x},{y1} {x},{y2} '
            f'{LEFT + BOX_W + 7},{y2}" fill="none" stroke="{colour}"/>'
            f'<polygon points="{LEFT + BOX_W + 7},{y2 - 4} {LEFT + BOX_W + 7},{y2 + 4} '
            f'{LEFT + BOX_W},{y2}" fill="{colour}"/>'
            f'<text x="{x + 3}" y="{(y1 + y2) // 2}">{i + 1}</text>'
        )
    height = at - GAP + 20
    width = LEFT + BOX_W + 40 + len(m.paths) * 22
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="escalation flow">{"".join(out)}</svg>'
    )


def _boxes(m: Matrix) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each box's name and its lines below the name: (css class, text)."""
    out: list[tuple[str, list[tuple[str, str]]]] = [("New ticket", [])]
    for r in m.levels:
        lines = [("owner", line) for line in wrap(r.owner, 44)[:3]]
        for n in m.notices:
            if r.name in n.levels:
                text = f"informs {n.who} ({n.rule})"
                lines += [("notice", line) for line in wrap(text, 44)]
        out.append((r.name, lines))
    if m.closing_levels:
        out.append((CLOSE, [("owner", line) for line in wrap(", ".join(m.closing), 44)]))
    return out


def _height(lines: list[tuple[str, str]]) -> int:
    return 36 + LINE * len(lines) - (8 if lines else 0)


def _box(name: str, lines: list[tuple[str, str]], top: int) -> str:
    kind = "level"
    fill = "#eef3fb" if name != CLOSE else "#eef7ee"
    texts = [
        f'<text x="{LEFT + 10}" y="{top + 18}"><tspan font-weight="bold">{html.escape(name)}'
        "</tspan></text>"
    ]
    for n, (css, line) in enumerate(lines):
        colour = ' fill="#7a4a9b"' if css == "notice" else ""
        texts.append(
            f'<text class="{css}" x="{LEFT + 10}" y="{top + 34 + n * LINE}"{colour}>'
            f"{html.escape(line)}</text>"
        )
    return (
        f'<g class="{kind}" data-name="{html.escape(name, quote=True)}">'
        f'<rect x="{LEFT}" y="{top}" width="{BOX_W}" height="{_height(lines)}" rx="6" '
        f'fill="{fill}" stroke="#4a6fa5"/>{"".join(texts)}</g>'
    )


def _closing(m: Matrix, mid: dict[str, int]) -> list[str]:
    """From each level a closing rule acts at, a grey line to Close & review."""
    if not m.closing_levels:
        return []
    end = mid[CLOSE]
    out = []
    for name in m.closing_levels:
        at = mid[name] + 8
        out.append(
            f'<polyline class="closing" data-from="{html.escape(name, quote=True)}" '
            f'points="{LEFT},{at} {CLOSE_BUS},{at} {CLOSE_BUS},{end} {LEFT - 7},{end}" '
            'fill="none" stroke="#5a8f5a"/>'
        )
    out.append(
        f'<polygon points="{LEFT - 7},{end - 4} {LEFT - 7},{end + 4} {LEFT},{end}" fill="#5a8f5a"/>'
    )
    return out


def _requests(m: Matrix, y: dict[str, int], mid: dict[str, int]) -> list[str]:
    """The agent's request: a box at the top left, dashed arrows into each level it can ask
    for (purple where the level needs an approval)."""
    if not (m.requested and m.requestable):
        return []
    top = y["New ticket"]
    label = f"Agent request ({', '.join(m.requested)})"
    out = [
        f'<g class="request"><rect x="10" y="{top}" width="{LEFT - 40}" height="36" rx="6" '
        'fill="#fff8e6" stroke="#c89b2f"/>'
        + "".join(
            f'<text x="20" y="{top + 15 + n * 14}">{html.escape(line)}</text>'
            for n, line in enumerate(wrap(label, 30)[:2])
        )
        + "</g>"
    ]
    gated = {r.name for r in m.levels if r.approval}
    for name in m.requestable:
        at = mid[name] - 8
        colour = "#9b59b6" if name in gated else "#c89b2f"
        out.append(
            f'<polyline class="asked" data-to="{html.escape(name, quote=True)}" '
            f'points="{REQUEST_BUS},{top + 36} {REQUEST_BUS},{at} {LEFT - 7},{at}" fill="none" '
            f'stroke="{colour}" stroke-dasharray="5 3"/>'
            f'<polygon points="{LEFT - 7},{at - 4} {LEFT - 7},{at + 4} {LEFT},{at}" '
            f'fill="{colour}"/>'
        )
    return out


def _arrow(x1: int, y1: int, x2: int, y2: int, colour: str) -> str:
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}"/>'
        f'<polygon points="{x2 - 4},{y2 - 7} {x2 + 4},{y2 - 7} {x2},{y2}" fill="{colour}"/>'
    )
