"""What the report's and the backtest page's SVG charts share: the frame and escaping."""

from __future__ import annotations

import html


def svg(label: str, width: int, height: int, parts: list[str]) -> str:
    """An accessible chart: `label` is its title and ARIA label (escaped), `parts` its marks."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(label)}" font-family="sans-serif" font-size="12">'
        f"<title>{esc(label)}</title>{''.join(parts)}</svg>"
    )


def esc(text: str) -> str:
    """Text for an element or an attribute value."""
    return html.escape(text, quote=True)


def short(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
