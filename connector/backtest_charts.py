"""Inline SVG charts for the backtest page: bars per name, columns over time, and with
--compare the two policies side by side (paired bars, one colour each, with a legend).

No script and nothing fetched. Every bar is a `<rect class="bar">` with a `<title>` (the
browser's tooltip) and a `data-series` naming its policy, so the page can be checked for what it
draws; every chart has a `<title>`, an `aria-label` and its axes labelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.svg import esc as _e
from connector.svg import short as _short
from connector.svg import svg as _svg

COLOURS = ("#4a6fa5", "#d08c2f")  # this policy, the --compare one
SERIES = ("this policy", "--compare")
NAME_W, VALUE_W, ROW_H = 200, 60, 22


def bars(label: str, rows: Sequence[tuple[str, Sequence[int]]], unit: str) -> str:
    """Horizontal bars: per row a name and one value per policy (one or two), scaled to the
    largest; the names wrapped on two lines when long."""
    if not rows:
        return _empty(label)
    series = len(rows[0][1])
    width, height = 720, 30 + len(rows) * ROW_H * series + 8
    span = width - NAME_W - VALUE_W
    top = max(1, *(max(values) for _, values in rows))
    out = _legend(series, width)
    y = 26.0
    for name, values in rows:
        out.append(_name(name, NAME_W - 8, y + ROW_H * series / 2))
        for i, value in enumerate(values):
            w = span * value / top if value else 0.0
            tip = f"{name}: {value:,} {unit}" + (f" ({SERIES[i]})" if series > 1 else "")
            out.append(
                f'<rect class="bar" data-series="{i}" x="{NAME_W}" y="{y + 3:.1f}" '
                f'width="{max(w, 1.0 if value else 0.0):.1f}" height="{ROW_H - 6}" '
                f'fill="{COLOURS[i]}"><title>{_e(tip)}</title></rect>'
                f'<text x="{NAME_W + w + 5:.1f}" y="{y + 15:.1f}">{value:,}</text>'
            )
            y += ROW_H
    out.append(_axis_label(NAME_W + span / 2, height + 6, f"number of {unit}"))
    return _svg(label, width, height + 12, out)


def columns(label: str, points: Sequence[tuple[str, Sequence[int]]], axis: str) -> str:
    """Vertical bars over time: per point (a day or a week, as `YYYY-MM-DD`) one value per
    policy, side by side; the y axis from 0 to the largest, the x axis labelled `axis`."""
    if not points:
        return _empty(label)
    series = len(points[0][1])
    width, height = 760, 250
    left, bottom, top = 48, 44, 28
    plot_w, plot_h = width - left - 12, height - bottom - top
    step = plot_w / len(points)
    peak = max(1, *(max(values) for _, values in points))
    out = _legend(series, width)
    out += [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak:,}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
        f'<text x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">escalations</text>',
    ]
    every = max(1, len(points) // 8)
    bar_w = step * 0.8 / series
    for n, (day, values) in enumerate(points):
        x = left + n * step + step * 0.1
        for i, value in enumerate(values):
            h = plot_h * value / peak
            tip = f"{day}: {value:,} escalations" + (f" ({SERIES[i]})" if series > 1 else "")
            out.append(
                f'<rect class="bar" data-series="{i}" x="{x + i * bar_w:.1f}" '
                f'y="{top + plot_h - h:.1f}" width="{max(1.0, bar_w):.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[i]}"><title>{_e(tip)}</title></rect>'
            )
        if n % every == 0:
            out.append(
                f'<text x="{left + (n + 0.5) * step:.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle" font-size="11">{_e(day[5:])}</text>'
            )
    out.append(_axis_label(left + plot_w / 2, height - 6, axis))
    return _svg(label, width, height, out)


def _legend(series: int, width: int) -> list[str]:
    if series < 2:
        return []
    out = []
    for i, name in enumerate(SERIES):
        x = width - 250 + i * 125
        out.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[i]}"/>'
            f'<text x="{x + 16}" y="15">{_e(name)}</text>'
        )
    return out


def _name(name: str, right: float, middle: float) -> str:
    """A row's name at the left of its bars, right-aligned, on two lines when it is long."""
    lines = wrap(name, 28)[:2]
    if len(lines) == 1:
        return f'<text x="{right}" y="{middle + 4:.1f}" text-anchor="end">{_e(lines[0])}</text>'
    spans = "".join(
        f'<tspan x="{right}" dy="{dy}">{_e(text)}</tspan>'
        for dy, text in zip(("-0.2em", "1.2em"), lines, strict=False)
    )
    return f'<text x="{right}" y="{middle:.1f}" text-anchor="end">{spans}</text>'


def wrap(text: str, limit: int) -> list[str]:
    """`text` in lines of at most `limit` characters, broken at spaces or hyphens where it
    can be (a word longer than a line is cut, the second line ending in an ellipsis)."""
    lines: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind(" ", 0, limit + 1), rest.rfind("-", 0, limit) + 1)
        cut = cut if cut > 0 else limit
        lines.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    lines.append(rest)
    if len(lines) > 2:
        lines = [lines[0], _short(" ".join(lines[1:]), limit)]
    return lines


def _axis_label(x: float, y: float, text: str) -> str:
    return f'<text class="axis" x="{x:.0f}" y="{y:.0f}" text-anchor="middle">{_e(text)}</text>'


def _empty(label: str) -> str:
    return f'<p class="empty">{_e(label)}: nothing in this window.</p>'
