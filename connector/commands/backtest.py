"""`escalate backtest`: replay a policy on past tickets, from an export file or read from an
instance in bulk (connector/past.py). Nothing is written to any platform."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from adapters.past import Window
from connector.backtest_page import HtmlOut
from connector.commands.common import runtime, select
from connector.commands.options import config_option
from connector.config import load_config, read_text
from connector.exports import scan_lines, stream_lines
from connector.insights.render import pct
from connector.past import Read, read_past
from connector.replay_pool import replay_all
from rules.backtest import TicketResult, Totals, delta, difference
from rules.errors import ConfigError
from rules.needs import needs
from rules.plan import format_instant
from rules.policy import Policy
from rules.ticketio import TicketRecord, read_records
from rules.units import format_duration, parse_duration

NOTHING_WRITTEN = "Backtest: nothing is written to any platform."
ARCHIVED = timedelta(days=120)  # Zendesk archives tickets closed this long ago


@click.command(name="backtest")
@config_option()
@click.option(
    "--tickets",
    "tickets_path",
    type=click.Path(),
    help="Past tickets with their history, in the ticket JSON format (docs/tickets.md);"
    " a .jsonl file (one ticket per line) is streamed, for large exports.",
)
@click.option(
    "--instance",
    help="Instead of a file: read the past tickets of this configured instance (read-only),"
    " those open at some time between --from and --to, each with its whole history.",
)
@click.option(
    "--from",
    "start_text",
    metavar="DATE",
    help="Start of the window: a date (00:00 UTC) or an ISO 8601 instant with an offset."
    " Changes before it are replayed (they make the state it starts with) but not listed or"
    " counted. Required with --instance.",
)
@click.option(
    "--to",
    "--until",
    "until",
    metavar="DATE",
    help="Replay up to this instant: a date (the end of that day, UTC) or an ISO 8601 instant"
    " with an offset. Required with --instance; with --tickets, the newest event or update in"
    " the file by default.",
)
@click.option(
    "--save",
    "save_path",
    type=click.Path(),
    help="With --instance: keep the tickets read in this .jsonl file (the ticket format), to"
    " replay them again with --tickets without reading the platform.",
)
@click.option(
    "--interval",
    default="5m",
    show_default=True,
    help="The polling interval to measure lateness against (a cron run every ...).",
)
@click.option(
    "--compare",
    "other_path",
    type=click.Path(),
    help="Another configuration: replay both and show where they differ.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="html: one self-contained page (summary and charts first, then every change).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Replay on this many processes (the output is the same, in the same order).",
)
def backtest_command(
    config_path: str,
    tickets_path: str | None,
    instance: str | None,
    start_text: str | None,
    until: str | None,
    save_path: str | None,
    interval: str,
    other_path: str | None,
    fmt: str,
    jobs: int,
) -> None:
    """Replay the policy on past tickets: what it would have done, when, and to whom.

    \b
    The tickets come from an export file (--tickets) or straight from an instance (--instance
    with --from and --to: every ticket open at some time in that window, read in bulk with its
    whole history before anything is replayed). Each ticket's timeline is rebuilt from its
    history, and the policy is evaluated at every event and at the exact instant each trigger
    would fire (with the real calendars, pauses, holidays and DST), not only at polling
    times. The tracking fields start empty: this is what the policy would have done, not what
    was done. Nothing is written to any platform.
    """
    if (tickets_path is None) == (instance is None):
        raise click.UsageError("give --tickets FILE or --instance NAME (with --from and --to)")
    if save_path is not None and (instance is None or not save_path.endswith(".jsonl")):
        raise click.BadParameter(
            "a .jsonl file, with --instance (it keeps the tickets read)", param_hint="--save"
        )
    config = load_config(config_path)
    policy = config.policy
    other = load_config(other_path).policy if other_path is not None else None
    try:
        step = parse_duration(interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from None
    start = _instant(start_text, "--from", end_of_day=False) if start_text else None
    with ExitStack() as stack:
        source: dict[str, Any] = {}
        records: Iterable[TicketRecord]
        if instance is not None:
            if start is None or until is None:
                raise click.UsageError("--instance needs --from and --to (the window to read)")
            rt = runtime()
            end = _instant(until, "--to/--until", end_of_day=True)
            if end > rt.now():  # history ends now: later trigger times are not history yet
                end = rt.now().replace(microsecond=0)
                click.echo(
                    f"--to is in the future: replaying up to now, {format_instant(end)}", err=True
                )
            window = _window(start, end)
            select(config, [instance])
            if save_path is None:  # a spool file, gone with the command
                spool = stack.enter_context(tempfile.TemporaryDirectory(prefix="escalate-"))
                path = Path(spool) / "tickets.jsonl"
            else:
                path = Path(save_path)
                if not path.parent.is_dir():
                    raise click.BadParameter(f"no directory {path.parent}", param_hint="--save")
            if config.instances[instance].platform == "zendesk" and rt.now() - start > ARCHIVED:
                click.echo(
                    "note: Zendesk archives tickets closed over 120 days ago, and its search does"
                    " not find them: they are not in this backtest",
                    err=True,
                )
            if other is not None and (extra := _fields_only_in(other, policy)):
                click.echo(
                    f"warning: --compare reads custom fields this policy does not ({extra}):"
                    " they are read as this policy's fields only, so they are empty there",
                    err=True,
                )
            read = read_past(config, instance, window, path, rt)
            source = _source(read, window, save_path)
            click.echo(_describe(source), err=True)
            records = stream_lines(path)
        else:
            assert tickets_path is not None
            records, end = _from_file(tickets_path, until)
            if start is not None:
                _window(start, end)
        policies = (policy, other)
        paths = (config_path, other_path)
        _replay(paths, policies, records, (start, end), step, fmt, jobs, source)


def _fields_only_in(other: Policy, policy: Policy) -> str:
    return ", ".join(sorted(needs(other).custom_fields - needs(policy).custom_fields))


def _from_file(path: str, until: str | None) -> tuple[Iterable[TicketRecord], datetime]:
    """The file's records (a .jsonl one streamed, after a first pass checks it) and the end."""
    if path.endswith(".jsonl"):
        newest = scan_lines(Path(path))
        end = _end(until, [] if newest is None else [newest])
        return stream_lines(Path(path)), end
    listed = read_records(read_text(path), path)
    return listed, _end(until, _times(listed))


def _replay(
    paths: tuple[str, str | None],
    policies: tuple[Policy, Policy | None],
    records: Iterable[TicketRecord],
    window: tuple[datetime | None, datetime],
    step: float,
    fmt: str,
    jobs: int,
    source: dict[str, Any],
) -> None:
    policy, other = policies
    end = window[1]
    out: _Json | _Text | HtmlOut
    if fmt == "json":
        out = _Json(policy, other, window, step, source)
    elif fmt == "html":
        note = " ".join(x for x in (NOTHING_WRITTEN, _describe(source)) if x)
        out = HtmlOut(note, end, step)
    else:
        out = _Text(window, step, source)
    totals, other_totals, differ = Totals(), Totals(), 0
    started = (r for r in records if r.created_at <= end)  # not those created after the end
    for ours, theirs in replay_all(started, window, policies, paths, jobs):
        totals.add(ours, step)  # one ticket at a time: only the totals are kept
        diff = None
        if theirs is not None:
            other_totals.add(theirs, step)
            diff = difference(ours, theirs)
            differ += diff is not None
        out.ticket(ours, diff)
    out.finish(totals, other_totals if other is not None else None, differ)
    cut = sorted({*totals.truncated, *other_totals.truncated})
    failed = sorted({*totals.failed, *other_totals.failed})
    if cut:  # the figures above miss what these tickets would have done later
        click.echo(f"warning: not replayed to the end (step limit): {', '.join(cut)}", err=True)
    if failed:  # and what these would have done at all
        click.echo(f"warning: could not be replayed: {', '.join(failed)}", err=True)
    if cut or failed:
        raise click.exceptions.Exit(1)


def _source(read: Read, window: Window, saved: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "instance": read.instance,
        "from": format_instant(window.start),
        "to": format_instant(window.end),
        "tickets_read": read.tickets,
        "requests": read.requests,
    }
    if read.approximate:  # e.g. a Data Center changelog the search cut short
        out["approximate"] = read.approximate
    if saved is not None:
        out["saved_to"] = saved
    return out


def _describe(source: dict[str, Any]) -> str:
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


class _Json:
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


class _Text:
    def __init__(
        self, window: tuple[datetime | None, datetime], step: float, source: dict[str, Any]
    ) -> None:
        self.step = step
        start, end = window
        since = f", changes from {format_instant(start)} on" if start is not None else ""
        lines = [NOTHING_WRITTEN, f"Replayed up to {format_instant(end)}{since}."]
        if source:
            lines.append(_describe(source))
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


def _times(records: list[TicketRecord]) -> list[datetime]:
    times = [r.updated_at or r.created_at for r in records]
    return times + [e.at for r in records for e in r.history or ()]


def _end(text: str | None, times: list[datetime]) -> datetime:
    if text is not None:
        return _instant(text, "--to/--until", end_of_day=True)
    if not times:
        raise ConfigError("the ticket file holds no ticket: nothing to replay")
    return max(times)


def _instant(text: str, option: str, *, end_of_day: bool) -> datetime:
    """An ISO 8601 instant with an offset, or a date: its start (or, for the end of a window,
    the start of the next day), in UTC."""
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), time(), UTC)
            return day + timedelta(days=1) if end_of_day else day
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or "T" not in text:
        raise ConfigError(
            f"{option} {text!r}: expected a date such as 2026-10-01 or an ISO 8601 instant"
            " with an offset, such as 2026-12-01T00:00:00Z"
        )
    return at


def _window(start: datetime, end: datetime) -> Window:
    if start > end:
        raise ConfigError(
            f"--from {format_instant(start)} is after the end {format_instant(end)}: nothing to"
            " replay"
        )
    return Window(start, end)


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
