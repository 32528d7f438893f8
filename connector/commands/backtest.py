"""`escalate backtest`: replay a policy on past tickets, from an export file or read from an
instance in bulk (connector/past.py). Nothing is written to any platform.

The options are checked here; connector.commands.backtest_source reads the tickets and
connector.commands.backtest_output prints what the replay found."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import click

from connector.backtest_page import HtmlOut
from connector.commands.backtest_output import NOTHING_WRITTEN, JsonOut, TextOut, describe
from connector.commands.backtest_source import (
    from_file,
    from_instance,
    parse_instant,
    window_between,
)
from connector.commands.options import config_option
from connector.config import load_config
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
        else:
            assert tickets_path is not None
            records, end = from_file(tickets_path, until)
            if start is not None:
                window_between(start, end)
        policies = (config.policy, other)
        paths = (config_path, other_path)
        _replay(paths, policies, records, (start, end), step, fmt, jobs, source)


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
    fmt: str,
    jobs: int,
    source: dict[str, Any],
) -> None:
    """Replay every ticket started by the end, print as it goes; exit 1 if some fell short."""
    other, end = policies[1], window[1]
    out = _output(fmt, policies, window, step, source)
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
    _warn_short(totals, other_totals)


def _output(
    fmt: str,
    policies: tuple[Policy, Policy | None],
    window: tuple[datetime | None, datetime],
    step: float,
    source: dict[str, Any],
) -> JsonOut | TextOut | HtmlOut:
    if fmt == "json":
        return JsonOut(*policies, window, step, source)
    if fmt == "html":
        note = " ".join(x for x in (NOTHING_WRITTEN, describe(source)) if x)
        return HtmlOut(note, window[1], step)
    return TextOut(window, step, source)


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
