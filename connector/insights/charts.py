"""Inline SVG charts for the HTML report: no script, no external file, readable when printed.

Each bar is a `<rect class="bar">` with a `<title>` (the browser's tooltip), so the page can be
checked for what it draws.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

BAR = "#4a6fa5"
LINE = "#c0504d"


def hbars(
    label: str, rows: Sequence[tuple[str, float, str]], *, percent: bool = False, width: int = 640
) -> str:
    """Horizontal bars: (name, value, tooltip) per row, scaled to the largest (or to 100%)."""
    if not rows:
        return _empty(label)
    name_w, row_h, value_w = 170, 22, 70
    top = max(1.0, 1.0 if percent else max(v for _, v, _ in rows))
    span = width - name_w - value_w
    out = []
    for i, (name, value, tip) in enumerate(rows):
        y = 6 + i * row_h
        w = max(1.0, span * value / top) if value else 0.0
        shown = f"{value * 100:.1f}%" if percent else f"{value:g}"
        out.append(
            f'<text x="{name_w - 6}" y="{y + 15}" text-anchor="end">{_e(_short(name, 24))}</text>'
            f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{BAR}"><title>{_e(tip)}</title></rect>'
            f'<text x="{name_w + w + 6:.1f}" y="{y + 15}">{_e(shown)}</text>'
        )
    return _svg(label, width, 12 + len(rows) * row_h, out)


def columns(
    label: str,
    points: Sequence[tuple[str, float, str]],
    line: Sequence[float | None] | None = None,
    *,
    width: int = 760,
    height: int = 220,
) -> str:
    """Vertical bars per point (day, value, tooltip); `line`: a second series on its own
    0..max scale (drawn where present), e.g. the escalation rate over the counts."""
    if not points:
        return _empty(label)
    left, bottom, top = 40, 30, 14
    plot_w, plot_h = width - left - 10, height - bottom - top
    step = plot_w / len(points)
    peak = max(1.0, *(v for _, v, _ in points))
    out = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak:g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, len(points) // 8)
    for i, (name, value, tip) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step
        out.append(
            f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(1.0, step * 0.7):.1f}" height="{h:.1f}" fill="{BAR}">'
            f"<title>{_e(tip)}</title></rect>"
        )
        if i % every == 0:
            out.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                f'font-size="10">{_e(name[5:])}</text>'
            )
    if line is not None and any(v is not None for v in line):
        line_peak = max(v for v in line if v is not None) or 1.0
        xy = [
            (left + (i + 0.5) * step, top + plot_h - plot_h * v / line_peak)
            for i, v in enumerate(line)
            if v is not None
        ]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        out.append(f'<polyline class="line" points="{pts}" fill="none" stroke="{LINE}"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE}"/>' for x, y in xy]
    return _svg(label, width, height, out)


def _svg(label: str, width: int, height: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(label)}" font-family="sans-serif" font-size="12">'
        f"<title>{_e(label)}</title>{''.join(parts)}</svg>"
    )


def _empty(label: str) -> str:
    return f'<p class="empty">{_e(label)}: nothing to draw in this window.</p>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
