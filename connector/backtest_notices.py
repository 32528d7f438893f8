"""The "Notices" section of the backtest page: per channel, the notices the policy would have
sent, how many would have waited for the channel's working hours, and how long (with
--compare, both policies side by side). None when no policy has a channel.

Channel names come from the configuration: everything is escaped.
"""

from __future__ import annotations

import html
from typing import Any

from rules.units import human_duration

#: The figures of one policy, per channel.
HEAD = ["notices", "deferred to working hours", "mean wait", "longest wait"]


def notices_section(summaries: list[dict[str, Any]], channels: list[tuple[str, ...]]) -> list[str]:
    """`summaries`: each policy's summary JSON (rules.backtest.Totals.to_json); `channels`:
    each policy's configured channels, in the same order."""
    names = list(dict.fromkeys(n for names in channels for n in names))
    names += [n for s in summaries for n in s["notices"]["by_channel"] if n not in names]
    if not names:
        return []
    both = len(summaries) > 1
    rows = []
    for name in names:
        cells = [f"<th scope='row'>{_e(name)}</th>"]
        for summary, configured in zip(summaries, channels, strict=True):
            cells += _cells(_channel(summary["notices"], name, name in configured))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if len(names) > 1:
        cells = ["<th scope='row'>all channels</th>"]
        for summary in summaries:
            cells += _cells(_all(summary["notices"]))
        rows.append(f"<tr class='total'>{''.join(cells)}</tr>")
    th = "".join(
        f"<th scope='col'{' class=g' if not n else ''}>{_e(h)}</th>" for n, h in enumerate(HEAD)
    )
    if both:
        head = (
            "<tr><th rowspan='2' scope='col'>channel</th>"
            f"<th colspan='{len(HEAD)}' scope='colgroup' class='g'>this policy</th>"
            f"<th colspan='{len(HEAD)}' scope='colgroup' class='g'>--compare</th></tr>"
            f"<tr>{th}{th}</tr>"
        )
    else:
        head = f"<tr><th scope='col'>channel</th>{th}</tr>"
    return [
        '<div id="notices"><h2>Notices</h2>',
        "<p>The notices (chat, e-mail, on-call) "
        + ("each policy" if both else "the policy")
        + " would have sent on each channel,"
        " how many would have waited for the next working minute of the channel's calendar,"
        " and how long. Nothing was sent. “-”: "
        + ("the policy has no such channel, or nothing waited" if both else "nothing waited")
        + ".</p>",
        f'<table class="notices"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>',
    ]


def _channel(notices: dict[str, Any], name: str, configured: bool) -> dict[str, Any] | None:
    found = notices.get("channels", {}).get(name)
    if found is not None:
        return dict(found)
    if not configured:
        return None
    return {"notices": 0, "deferred": 0, "deferred_seconds": {"mean": None, "max": None}}


def _all(notices: dict[str, Any]) -> dict[str, Any]:
    return {
        "notices": sum(notices["by_channel"].values()),
        "deferred": notices["deferred"],
        "deferred_seconds": notices["deferred_seconds"],
    }


def _cells(figures: dict[str, Any] | None) -> list[str]:
    """One policy's cells of a row, the first starting the policy's group."""
    if figures is None:
        values = ["-"] * len(HEAD)
    else:
        wait = figures["deferred_seconds"]
        values = [
            f"{figures['notices']:,}",
            f"{figures['deferred']:,}",
            _time(wait["mean"]),
            _time(wait["max"]),
        ]
    return [f"<td class='n{' g' if not n else ''}'>{_e(v)}</td>" for n, v in enumerate(values)]


def _time(seconds: float | None) -> str:
    return "-" if seconds is None else human_duration(seconds)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
