"""Inline SVG charts for the HTML report: no script, no external file, readable when printed.

Every chart has a title, labelled axes with their units, and marks that can be checked for
what they draw: a bar is a `<rect class="bar">`, a line a `<polyline class="line">`, each
with a `<title>` (the browser's tooltip). A mark with an address is wrapped in `<a>`: the
tickets behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from connector.svg import esc as _e
from connector.svg import short as _short
from connector.svg import svg as _svg

BAR = "#4a6fa5"
LINE = "#c0504d"
#: Line colours of the per-team chart, in order.
PALETTE = ("#c0504d", "#4a6fa5", "#9bbb59", "#8064a2", "#f79646", "#4bacc6")
AXIS = 'stroke="#888"'

#: (name, value, tooltip[, address]): the address of the tickets behind the mark, if any.
Point = tuple[str, float, str] | tuple[str, float, str, str | None]


def hbars(
    label: str,
    rows: Sequence[Point],
    *,
    axis: str = "",
    percent: bool = False,
    width: int = 720,
) -> str:
    """Horizontal bars, scaled to the largest (or to 100%); `axis`: the value axis's title."""
    if not rows:
        return _empty(label)
    name_w, row_h, value_w = 190, 22, 90
    top = 1.0 if percent else nice(max(p[1] for p in rows))
    span = width - name_w - value_w
    height = 12 + len(rows) * row_h + 34
    base = 6 + len(rows) * row_h
    out = [
        f'<line x1="{name_w}" y1="4" x2="{name_w}" y2="{base}" {AXIS}/>',
        f'<line x1="{name_w}" y1="{base}" x2="{name_w + span}" y2="{base}" {AXIS}/>',
    ]
    for f in (0.0, 0.5, 1.0):
        x = name_w + span * f
        out.append(
            f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle" font-size="10">'
            f"{_e(_value(top * f, percent))}</text>"
        )
    out.append(
        f'<text class="axis-title" x="{name_w + span / 2:.1f}" y="{height - 4}" '
        f'text-anchor="middle">{_e(axis)}</text>'
    )
    for i, (name, value, tip, href) in enumerate(map(_four, rows)):
        y = 6 + i * row_h
        w = max(1.0, span * value / top) if value else 0.0
        bar = (
            f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{BAR}"><title>{_e(tip)}</title></rect>'
        )
        out.append(
            f'<text x="{name_w - 6}" y="{y + 15}" text-anchor="end">{_e(_short(name, 26))}</text>'
            + _link(bar, href)
            + f'<text x="{name_w + w + 6:.1f}" y="{y + 15}">{_e(_value(value, percent))}</text>'
        )
    return _titled(label, width, height, out)


def columns(
    label: str,
    points: Sequence[Point],
    line: Sequence[float | None] | None = None,
    *,
    x_axis: str = "",
    y_axis: str = "",
    line_axis: str = "",
    width: int = 900,
    height: int = 260,
) -> str:
    """Vertical bars per point (a day or a week), on a left axis `y_axis`; `line`: ratios
    (0..1) drawn as a line on their own right axis `line_axis`, in percent."""
    if not points:
        return _empty(label)
    frame = _Frame(width, height, len(points))
    peak = nice(max(p[1] for p in points))
    out = frame.axes(x_axis, y_axis, [(f, f"{peak * f:g}") for f in (0, 0.5, 1)])
    out += frame.x_labels([p[0] for p in points])
    for i, (_, value, tip, href) in enumerate(map(_four, points)):
        h = frame.plot_h * value / peak
        bar = (
            f'<rect class="bar" x="{frame.x(i) - frame.step * 0.35:.1f}" '
            f'y="{frame.bottom - h:.1f}" width="{max(1.0, frame.step * 0.7):.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{_e(tip)}</title></rect>'
        )
        out.append(_link(bar, href))
    if line is not None and any(v is not None for v in line):
        top = nice(max(v for v in line if v is not None) or 0.01, percent=True)
        out += frame.right_axis(line_axis, top)
        out += frame.polyline(line, top, LINE, label=line_axis)
    return _titled(label, width, height, out)


def lines(
    label: str,
    names: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    x_axis: str,
    y_axis: str,
    top: float | None = None,
    width: int = 900,
    height: int = 260,
) -> str:
    """Ratios (0..1) per point, one line per series, with a legend; the y axis in percent,
    up to `top` (default: the largest value, rounded up)."""
    drawn = [(n, vs) for n, vs in series if any(v is not None for v in vs)]
    if not names or not drawn:
        return _empty(label)
    frame = _Frame(width, height, len(names), legend=len(drawn))
    peak = top or nice(max(v for _, vs in drawn for v in vs if v is not None) or 0.01, True)
    ticks = [(f, _value(peak * f, True)) for f in (0, 0.5, 1)]
    out = frame.axes(x_axis, y_axis, ticks)
    out += frame.x_labels(names)
    for n, (name, values) in enumerate(drawn):
        colour = PALETTE[n % len(PALETTE)]
        out += frame.polyline(values, peak, colour, label=name)
        y = frame.top + 4 + n * 16
        out.append(
            f'<g class="legend"><rect x="{frame.right + 14}" y="{y}" width="10" height="10" '
            f'fill="{colour}"/><text x="{frame.right + 28}" y="{y + 9}">'
            f"{_e(_short(name, 22))}</text></g>"
        )
    return _titled(label, width, height, out)


class _Frame:
    """The plot area of a chart over `count` points, and its axes."""

    def __init__(self, width: int, height: int, count: int, legend: int = 0) -> None:
        self.left, self.top = 64.0, 14.0
        self.right = width - (190.0 if legend else 64.0)
        self.bottom = height - 48.0
        self.plot_h = self.bottom - self.top
        self.step = (self.right - self.left) / count
        self.height = height

    def x(self, i: int) -> float:
        return self.left + (i + 0.5) * self.step

    def axes(self, x_axis: str, y_axis: str, ticks: list[tuple[float, str]]) -> list[str]:
        mid = (self.top + self.bottom) / 2
        out = [
            f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}" '
            f"{AXIS}/>",
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.bottom}" {AXIS}/>',
            f'<text class="axis-title" x="{(self.left + self.right) / 2:.1f}" '
            f'y="{self.height - 6}" text-anchor="middle">{_e(x_axis)}</text>',
            f'<text class="axis-title" x="14" y="{mid:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {mid:.1f})">{_e(y_axis)}</text>',
        ]
        for f, text in ticks:
            y = self.bottom - self.plot_h * f
            out.append(
                f'<line x1="{self.left - 4}" y1="{y:.1f}" x2="{self.right}" y2="{y:.1f}" '
                f'stroke="#e4e4e4"/><text x="{self.left - 6}" y="{y + 4:.1f}" '
                f'text-anchor="end" font-size="10">{_e(text)}</text>'
            )
        return out

    def right_axis(self, title: str, top: float) -> list[str]:
        mid = (self.top + self.bottom) / 2
        x = self.right
        out = [
            f'<line x1="{x}" y1="{self.top}" x2="{x}" y2="{self.bottom}" stroke="{LINE}"/>',
            f'<text class="axis-title" x="{x + 50}" y="{mid:.1f}" text-anchor="middle" '
            f'fill="{LINE}" transform="rotate(90 {x + 50} {mid:.1f})">{_e(title)}</text>',
        ]
        for f in (0.0, 0.5, 1.0):
            y = self.bottom - self.plot_h * f
            out.append(
                f'<text x="{x + 6}" y="{y + 4:.1f}" font-size="10" fill="{LINE}">'
                f"{_e(_value(top * f, True))}</text>"
            )
        return out

    def x_labels(self, names: Sequence[str]) -> list[str]:
        every = max(1, math.ceil(len(names) / 10))
        return [
            f'<text x="{self.x(i):.1f}" y="{self.bottom + 16}" text-anchor="middle" '
            f'font-size="10">{_e(name[5:] if len(name) == 10 else name)}</text>'
            for i, name in enumerate(names)
            if i % every == 0
        ]

    def polyline(
        self, values: Sequence[float | None], top: float, colour: str, *, label: str
    ) -> list[str]:
        xy = [
            (self.x(i), self.bottom - self.plot_h * v / top, v)
            for i, v in enumerate(values)
            if v is not None
        ]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in xy)
        out = [
            f'<polyline class="line" points="{pts}" fill="none" stroke="{colour}" '
            f'stroke-width="2"><title>{_e(label)}</title></polyline>'
        ]
        out += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
            f"<title>{_e(f'{label}: {_value(v, True)}')}</title></circle>"
            for x, y, v in xy
        ]
        return out


def nice(value: float, percent: bool = False) -> float:
    """`value` rounded up to a round figure (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power
    of ten), so the axis ends near the data; a ratio at most 1 (100%)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    steps = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
    found = next(m * power for m in steps if m * power >= value - 1e-12)
    return min(found, 1.0) if percent else found


def _value(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%" if value * 100 == round(value * 100) else f"{value:.1%}"
    return f"{value:g}"


def _four(point: Point) -> tuple[str, float, str, str | None]:
    return (point[0], point[1], point[2], point[3] if len(point) > 3 else None)


def _link(mark: str, href: str | None) -> str:
    return f'<a href="{_e(href)}">{mark}</a>' if href else mark


def _titled(label: str, width: int, height: int, out: list[str]) -> str:
    """The chart under its title, shown (the SVG's own title is for screen readers)."""
    return f'<p class="chart-title">{_e(label)}</p>' + _svg(label, width, height, out)


def _empty(label: str) -> str:
    return f'<p class="empty">{_e(label)}: nothing to draw in this window.</p>'
