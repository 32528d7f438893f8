"""`escalate backtest`: replay a policy on past tickets, from an export file or read from an
instance in bulk (connector/past.py). Nothing is written to any platform.

The options are checked here; connector.commands.backtest_source reads the tickets and
connector.commands.backtest_output prints what the replay found."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import click

from connector.backtest_page import HtmlOut
from connector.commands.backtest_output import NOTHING_WRITTEN, JsonOut, TextOut, describe
from connector.commands.backtest_source import (
    from_file,
    from_instance,
    parse_instant,
    window_between,
)
from connector.commands.common import runtime
from connector.commands.options import config_option
from connector.config import load_config
from connector.progress import Progress
from connector.replay_pool import replay_all
from rules.backtest import Totals, difference
from rules.errors import ConfigError
from rules.policy import Policy
from rules.ticketio import TicketRecord
from rules.units import parse_duration


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
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Write the output (any format) to this file, not stdout; readable by you only.",
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
    out_path: str | None,
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
    was done. Nothing is written to any platform. On a terminal, stderr shows how many
    tickets are replayed and about how long the rest will take.
    """
    _check_source(tickets_path, instance, save_path)
    config = load_config(config_path)
    other = load_config(other_path).policy if other_path is not None else None
    step = _interval(interval)
    start = parse_instant(start_text, "--from", end_of_day=False) if start_text else None
    with ExitStack() as stack:
        source: dict[str, Any] = {}
        records: Iterable[TicketRecord]
        if instance is not None:
            bounds = (start, until)
            records, end, source = from_instance(config, instance, bounds, save_path, other, stack)
            total = int(source["tickets_read"])
        else:
            assert tickets_path is not None
            records, end, total = from_file(tickets_path, until)
            if start is not None:
                window_between(start, end)
        policies = (config.policy, other)
        paths = (config_path, other_path)
        sink = stack.enter_context(_sink(out_path)) if out_path is not None else None
        out = _output(fmt, policies, (start, end), step, source, sink)
        pace = _Pace(runtime().progress, total)
        try:
            started = pace.started(records, end)
            short = _replay(paths, policies, started, (start, end), step, jobs, out, pace)
        finally:
            pace.progress.finish()
    if out_path is not None:
        click.echo(f"backtest written to {out_path}", err=True)
    _warn_short(*short)


@contextmanager
def _sink(path: str) -> Iterator[TextIO]:
    """`path`, written under a `.part` name (mode 0600: it may quote what customers wrote) and
    renamed once the output is whole, so a backtest that fails leaves no file that looks
    complete."""
    target = Path(path)
    if not target.parent.is_dir():
        raise click.BadParameter(f"no directory {target.parent}", param_hint="--out")
    part = target.with_name(target.name + ".part")
    done = False
    try:
        handle = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(handle, "w", encoding="utf-8") as sink:
            yield sink
        part.replace(target)
        done = True
    finally:
        if not done:
            part.unlink(missing_ok=True)


@dataclass
class _Pace:
    """The progress line of a replay: tickets replayed (as their results come back, whatever
    --jobs) and those left out for being created after the end, of all the source holds."""

    progress: Progress
    total: int
    done: int = 0

    def started(self, records: Iterable[TicketRecord], end: datetime) -> Iterator[TicketRecord]:
        """The records created by the end; the others are counted as done at once."""
        self.progress.replaying(0, self.total)
        for record in records:
            if record.created_at <= end:
                yield record
            else:
                self.tick()

    def tick(self) -> None:
        self.done += 1
        self.progress.replaying(self.done, self.total)


def _check_source(tickets_path: str | None, instance: str | None, save_path: str | None) -> None:
    """One source of tickets, and --save only where it keeps something."""
    if (tickets_path is None) == (instance is None):
        raise click.UsageError("give --tickets FILE or --instance NAME (with --from and --to)")
    if save_path is not None and (instance is None or not save_path.endswith(".jsonl")):
        raise click.BadParameter(
            "a .jsonl file, with --instance (it keeps the tickets read)", param_hint="--save"
        )


def _interval(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from None


def _replay(
    paths: tuple[str, str | None],
    policies: tuple[Policy, Policy | None],
    records: Iterable[TicketRecord],
    window: tuple[datetime | None, datetime],
    step: float,
    jobs: int,
    out: JsonOut | TextOut | HtmlOut,
    pace: _Pace,
) -> tuple[Totals, Totals]:
    """Replay every ticket, print as it goes; the totals of both policies."""
    other = policies[1]
    totals, other_totals, differ = Totals(), Totals(), 0
    for ours, theirs in replay_all(records, window, policies, paths, jobs):
        pace.tick()
        totals.add(ours, step)  # one ticket at a time: only the totals are kept
        diff = None
        if theirs is not None:
            other_totals.add(theirs, step)
            diff = difference(ours, theirs)
            differ += diff is not None
        out.ticket(ours, diff, theirs)
    out.finish(totals, other_totals if other is not None else None, differ)
    return totals, other_totals


def _output(
    fmt: str,
    policies: tuple[Policy, Policy | None],
    window: tuple[datetime | None, datetime],
    step: float,
    source: dict[str, Any],
    sink: TextIO | None,
) -> JsonOut | TextOut | HtmlOut:
    if fmt == "json":
        return JsonOut(*policies, window, step, source, sink)
    if fmt == "html":
        note = " ".join(x for x in (NOTHING_WRITTEN, describe(source)) if x)
        channels = [tuple(p.channels) for p in policies if p is not None]
        return HtmlOut(note, window[1], step, sink, channels)
    return TextOut(window, step, source, sink)


def _warn_short(totals: Totals, other_totals: Totals) -> None:
    """Name the tickets whose replay fell short, and exit 1 if there are any."""
    cut = sorted({*totals.truncated, *other_totals.truncated})
    failed = sorted({*totals.failed, *other_totals.failed})
    if cut:  # the figures above miss what these tickets would have done later
        click.echo(f"warning: not replayed to the end (step limit): {', '.join(cut)}", err=True)
    if failed:  # and what these would have done at all
        click.echo(f"warning: could not be replayed: {', '.join(failed)}", err=True)
    if cut or failed:
        raise click.exceptions.Exit(1)
