"""What `escalate backtest` prints: the text and JSON documents, written ticket by ticket as
the replay goes, and with --compare the totals of both policies and where they differ."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

import click

from connector.insights.render import pct
from rules.backtest import TicketResult, Totals, delta
from rules.plan import format_instant
from rules.policy import Policy
from rules.units import human_duration, signed_duration

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
        out: TextIO | None = None,
    ) -> None:
        self.step, self.first, self.out = step, True, out
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
        click.echo(json.dumps(head, indent=2)[:-2] + ',\n  "tickets": [', out, nl=False)
        self.differences: list[str] = []

    def ticket(
        self, r: TicketResult, diff: dict[str, Any] | None, theirs: TicketResult | None = None
    ) -> None:
        if diff is not None:
            self.differences.append(json.dumps(diff))
        if r.steps or r.error:
            sep = "\n    " if self.first else ",\n    "
            click.echo(sep + json.dumps(r.to_json(self.step)), self.out, nl=False)
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
        click.echo("\n  ],\n" + text[2:], self.out)


class TextOut:
    """The text report: each ticket's changes as they are replayed, the summaries at the end."""

    def __init__(
        self,
        window: tuple[datetime | None, datetime],
        step: float,
        source: dict[str, Any],
        out: TextIO | None = None,
    ) -> None:
        self.step, self.out = step, out
        start, end = window
        since = f", changes from {format_instant(start)} on" if start is not None else ""
        lines = [NOTHING_WRITTEN, f"Replayed up to {format_instant(end)}{since}."]
        if source:
            lines.append(describe(source))
        click.echo("\n".join(lines) + "\n", out)
        self.differences: list[dict[str, Any]] = []

    def ticket(
        self, r: TicketResult, diff: dict[str, Any] | None, theirs: TicketResult | None = None
    ) -> None:
        if diff is not None:
            self.differences.append(diff)
        if r.error is not None:
            click.echo(f"{r.ticket}: could not be replayed: {r.error}\n", self.out)
        if r.steps:
            click.echo("\n".join(_ticket_lines(r)) + "\n", self.out)

    def finish(self, totals: Totals, other: Totals | None, differ: int) -> None:
        lines = _summary("Summary", totals.to_json(), self.step)
        if other is not None:
            theirs = other.to_json()
            lines += ["", *_summary("Summary with --compare", theirs, self.step)]
            lines += ["", *_delta_lines(delta(totals.to_json(), theirs))]
            lines += ["", *_side_by_side(totals.to_json(), theirs)]
            lines += ["", f"Tickets where they differ: {differ}"]
            for d in self.differences:
                lines.append(f"  {d['ticket']}{_shift(d)}")
                lines += [f"    only this policy:  {x}" for x in d["only_a"]]
                lines += [f"    only --compare:    {x}" for x in d["only_b"]]
        click.echo("\n".join(lines), self.out)


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
        + (", ".join(_attainment(t, c) for t, c in s["sla"].items()) or "-"),
        f"  breached tickets: {s['breached_tickets']}, of which escalated:"
        f" {s['breached_tickets_escalated']}",
    ]
    if first is not None:
        out.append(f"  mean time to first escalation: {human_duration(first)}")
    notices = s.get("notices") or {}
    if notices.get("by_channel"):
        line = "  notices by channel: " + _counts(notices["by_channel"])
        wait = notices["deferred_seconds"]
        if notices["deferred"]:
            line += f"; deferred {notices['deferred']} (mean {human_duration(wait['mean'])},"
            line += f" max {human_duration(wait['max'])})"
        out.append(line)
        if len(notices["by_channel"]) > 1:  # where they waited
            out += [
                f"    deferred on {name}: {c['deferred']} (mean"
                f" {human_duration(c['deferred_seconds']['mean'])}, max"
                f" {human_duration(c['deferred_seconds']['max'])})"
                for name, c in notices.get("channels", {}).items()
                if c["deferred"]
            ]
    if late["mean"] is not None:
        out.append(
            f"  polling every {human_duration(interval)} acts {human_duration(late['mean'])}"
            f" after the trigger on average, {human_duration(late['max'])} at most"
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
            shown = signed_duration(value)
        else:
            shown = f"{value:+g}" if value else "0"
        name = key.replace("mean_seconds_to", "mean_time_to").replace("_", " ")
        name = name.replace("de escalations", "de-escalations")
        out.append(f"  {name}: {shown}")
    return out


def _side_by_side(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Escalations by level and changes by rule, the two policies in paired bars."""
    out = ["Side by side (this policy, then --compare)"]
    for title, key in (("escalations into", "by_level"), ("changes by rule", "by_rule")):
        names = list(dict.fromkeys([*ours[key], *theirs[key]]))
        top = max([1, *ours[key].values(), *theirs[key].values()])
        width = max([len(n) for n in names] + [0])
        out.append(f"  {title}:")
        for name in names:
            a, b = ours[key].get(name, 0), theirs[key].get(name, 0)
            out.append(f"    {name:<{width}}  {_bar(a, top)} {a}")
            out.append(
                f"    {'':<{width}}  {_bar(b, top, '▒')} {b}  ({b - a:+d})"
                if b != a
                else f"    {'':<{width}}  {_bar(b, top, '▒')} {b}"
            )
    return out


def _bar(value: int, top: int, mark: str = "█") -> str:
    return (mark * round(24 * value / top)).ljust(24)


def _shift(d: dict[str, Any]) -> str:
    """How much later (or sooner) --compare first escalates the ticket, in words."""
    shift, a, b = (
        d["first_escalation_shift_seconds"],
        d["first_escalation_a"],
        d["first_escalation_b"],
    )
    if shift is not None and shift:
        when = "later" if shift > 0 else "sooner"
        return f": --compare first escalates it {human_duration(shift).lstrip('-')} {when}"
    if a and not b:
        return ": only this policy escalates it"
    if b and not a:
        return ": only --compare escalates it"
    return ""


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _attainment(target: str, cells: dict[str, Any]) -> str:
    """`resolution 80.8% (25 breached)`; a target whose mets are not counted (next_response)
    says so rather than showing a bare "-"."""
    if cells["met"] is None:
        return f"{target} {cells['breached']} breached (its met ones are not counted)"
    return f"{target} {pct(cells['attainment'])} ({cells['breached']} breached)"
