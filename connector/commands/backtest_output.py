"""What `escalate backtest` prints: the text and JSON documents, written ticket by ticket as
the replay goes, and with --compare the totals of both policies and where they differ."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from connector.insights.render import pct
from rules.backtest import TicketResult, Totals, delta
from rules.plan import format_instant
from rules.policy import Policy
from rules.units import format_duration

NOTHING_WRITTEN = "Backtest: nothing is written to any platform."


def describe(source: dict[str, Any]) -> str:
    """One sentence on the tickets read from an instance; empty for a file."""
    if not source:
        return ""
    text = (
        f"Read {source['tickets_read']:,} tickets of {source['instance']} open at some time"
        f" from {source['from']} to {source['to']} ({source['requests']:,} requests)."
    )
    if source.get("approximate"):
        cut = ", ".join(f"{what}: {n}" for what, n in source["approximate"].items())
        text += f" Histories known to be incomplete ({cut}): those replays are approximate."
    if source.get("saved_to"):
        text += f" Saved to {source['saved_to']}: replay it again with --tickets."
    return text


class JsonOut:
    """The JSON document, written as it goes: the tickets first, the totals at the end."""

    def __init__(
        self,
        policy: Policy,
        other: Policy | None,
        window: tuple[datetime | None, datetime],
        step: float,
        source: dict[str, Any],
    ) -> None:
        self.step, self.first = step, True
        start, end = window
        head: dict[str, Any] = {
            "note": NOTHING_WRITTEN,
            "policy_hash": policy.hash,
            "compare_policy_hash": other.hash if other is not None else None,
            "from": format_instant(start) if start is not None else None,
            "until": format_instant(end),
            "interval_seconds": step,
        }
        if source:
            head["source"] = source
        click.echo(json.dumps(head, indent=2)[:-2] + ',\n  "tickets": [', nl=False)
        self.differences: list[str] = []

    def ticket(self, r: TicketResult, diff: dict[str, Any] | None) -> None:
        if diff is not None:
            self.differences.append(json.dumps(diff))
        if r.steps or r.error:
            sep = "\n    " if self.first else ",\n    "
            click.echo(sep + json.dumps(r.to_json(self.step)), nl=False)
            self.first = False

    def finish(self, totals: Totals, other: Totals | None, differ: int) -> None:
        tail: dict[str, Any] = {"summary": totals.to_json()}
        if other is not None:
            theirs = other.to_json()
            tail["compare"] = {
                "summary": theirs,
                "delta": delta(tail["summary"], theirs),
                "differences": [],
            }
        text = json.dumps(tail, indent=2)
        if other is not None:  # the differences, one per line, as they were found
            rows = ",\n      ".join(self.differences)
            body = f"[\n      {rows}\n    ]" if rows else "[]"
            text = text.replace('"differences": []', f'"differences": {body}')
        click.echo("\n  ],\n" + text[2:])


class TextOut:
    """The text report: each ticket's changes as they are replayed, the summaries at the end."""

    def __init__(
        self, window: tuple[datetime | None, datetime], step: float, source: dict[str, Any]
    ) -> None:
        self.step = step
        start, end = window
        since = f", changes from {format_instant(start)} on" if start is not None else ""
        lines = [NOTHING_WRITTEN, f"Replayed up to {format_instant(end)}{since}."]
        if source:
            lines.append(describe(source))
        click.echo("\n".join(lines) + "\n")
        self.differences: list[dict[str, Any]] = []

    def ticket(self, r: TicketResult, diff: dict[str, Any] | None) -> None:
        if diff is not None:
            self.differences.append(diff)
        if r.error is not None:
            click.echo(f"{r.ticket}: could not be replayed: {r.error}\n")
        if r.steps:
            click.echo("\n".join(_ticket_lines(r)) + "\n")

    def finish(self, totals: Totals, other: Totals | None, differ: int) -> None:
        lines = _summary("Summary", totals.to_json(), self.step)
        if other is not None:
            theirs = other.to_json()
            lines += ["", *_summary("Summary with --compare", theirs, self.step)]
            lines += ["", *_delta_lines(delta(totals.to_json(), theirs))]
            lines += ["", f"Tickets where they differ: {differ}"]
            for d in self.differences:
                lines.append(f"  {d['ticket']}")
                lines += [f"    only this policy:  {x}" for x in d["only_a"]]
                lines += [f"    only --compare:    {x}" for x in d["only_b"]]
        click.echo("\n".join(lines))


def _ticket_lines(result: TicketResult) -> list[str]:
    lines = [f"{result.ticket} ({result.priority or 'no priority'})"]
    for step in result.steps:
        c = step.change
        move = f"{c.level_from} -> {c.level_to}" if c.level_from != c.level_to else c.level_to
        extras = [
            f"group {c.group.new}" if c.group else "",
            f"priority {c.priority.new}" if c.priority else "",
            "note" if c.internal_note else "",
            "reply" if c.public_reply else "",
        ]
        what = ", ".join(x for x in extras if x)
        lines.append(
            f"  {format_instant(step.at)}  {move:<22} {', '.join(c.rules)}"
            + (f"  ({what})" if what else "")
        )
    return lines


def _summary(title: str, s: dict[str, Any], interval: float) -> list[str]:
    late = s["lateness_seconds"]
    first = s["mean_seconds_to_first_escalation"]
    out = [
        title,
        f"  tickets {s['tickets']}, changed {s['tickets_changed']}, escalations"
        f" {s['escalations']}, de-escalations {s['de_escalations']}, notes {s['notes']},"
        f" replies {s['replies']}",
        "  by level: " + _counts(s["by_level"]),
        "  by rule: " + _counts(s["by_rule"]),
        "  by priority: " + _counts(s["by_priority"]),
        "  by team: " + _counts(s["by_team"]),
        "  by type: " + _counts(s["by_type"]),
        "  SLA attainment at the end: "
        + (
            ", ".join(
                f"{t} {pct(c['attainment'])} ({c['breached']} breached)"
                for t, c in s["sla"].items()
            )
            or "-"
        ),
        f"  breached tickets: {s['breached_tickets']}, of which escalated:"
        f" {s['breached_tickets_escalated']}",
    ]
    if first is not None:
        out.append(f"  mean time to first escalation: {format_duration(first)}")
    notices = s.get("notices") or {}
    if notices.get("by_channel"):
        line = "  notices by channel: " + _counts(notices["by_channel"])
        wait = notices["deferred_seconds"]
        if notices["deferred"]:
            line += f"; deferred {notices['deferred']} (mean {format_duration(wait['mean'])},"
            line += f" max {format_duration(wait['max'])})"
        out.append(line)
    if late["mean"] is not None:
        out.append(
            f"  polling every {format_duration(interval)} acts {_seconds(late['mean'])}"
            f" after the trigger on average, {_seconds(late['max'])} at most"
        )
    if s["failed"]:
        out.append(f"  could NOT be replayed (see the warning): {', '.join(s['failed'])}")
    if s["truncated"]:
        out.append(f"  NOT replayed to the end (step limit reached): {', '.join(s['truncated'])}")
    return out


def _delta_lines(d: dict[str, float | None]) -> list[str]:
    out = ["Difference (--compare minus this policy)"]
    for key, value in d.items():
        if value is None:
            shown = "-"
        elif key.startswith("mean_seconds"):
            shown = ("+" if value >= 0 else "") + format_duration(value)
        else:
            shown = f"{value:+g}"
        out.append(f"  {key.replace('_', ' ')}: {shown}")
    return out


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value < 60 else format_duration(value)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"
