"""Where `escalate backtest` takes its tickets from: an export file, or an instance read in
bulk (connector/past.py) for a window; and the window's bounds, as the options give them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from adapters.past import Window
from connector.commands.backtest_output import describe
from connector.commands.common import runtime, select
from connector.config import Config, read_text
from connector.exports import scan_lines, stream_lines
from connector.past import Read, read_past
from connector.runner import Runtime
from rules.errors import ConfigError
from rules.needs import needs
from rules.plan import format_instant
from rules.policy import Policy
from rules.ticketio import TicketRecord, read_records

ARCHIVED = timedelta(days=120)  # Zendesk archives tickets closed this long ago


def from_file(path: str, until: str | None) -> tuple[Iterable[TicketRecord], datetime, int]:
    """The file's records (a .jsonl one streamed, after a first pass checks it), the end, and
    how many records there are."""
    if path.endswith(".jsonl"):
        newest, count = scan_lines(Path(path))
        end = _end(until, [] if newest is None else [newest])
        return stream_lines(Path(path)), end, count
    listed = read_records(read_text(path), path)
    return listed, _end(until, _times(listed)), len(listed)


def from_instance(
    config: Config,
    instance: str,
    bounds: tuple[datetime | None, str | None],
    save_path: str | None,
    other: Policy | None,
    stack: ExitStack,
) -> tuple[Iterable[TicketRecord], datetime, dict[str, Any]]:
    """The instance's tickets open in the window, read whole into a .jsonl file (`save_path`,
    else a spool file `stack` removes) and streamed from it; the end, and what was read."""
    start, until = bounds
    if start is None or until is None:
        raise click.UsageError("--instance needs --from and --to (the window to read)")
    rt = runtime()
    end = _up_to_now(parse_instant(until, "--to/--until", end_of_day=True), rt)
    window = window_between(start, end)
    select(config, [instance])
    path = _spool(save_path, stack)
    _warn_unread(config, instance, start, other, rt)
    read = read_past(config, instance, window, path, rt)
    source = _source(read, window, save_path)
    click.echo(describe(source), err=True)
    return stream_lines(path), end, source


def parse_instant(text: str, option: str, *, end_of_day: bool) -> datetime:
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


def window_between(start: datetime, end: datetime) -> Window:
    """The window, refused when it starts after it ends."""
    if start > end:
        raise ConfigError(
            f"--from {format_instant(start)} is after the end {format_instant(end)}: nothing to"
            " replay"
        )
    return Window(start, end)


def _up_to_now(end: datetime, rt: Runtime) -> datetime:
    """History ends now: later trigger times are not history yet."""
    if end > rt.now():
        end = rt.now().replace(microsecond=0)
        click.echo(f"--to is in the future: replaying up to now, {format_instant(end)}", err=True)
    return end


def _spool(save_path: str | None, stack: ExitStack) -> Path:
    """Where the tickets read go: the --save file, or a spool file gone with the command."""
    if save_path is None:
        spool = stack.enter_context(tempfile.TemporaryDirectory(prefix="escalate-"))
        return Path(spool) / "tickets.jsonl"
    path = Path(save_path)
    if not path.parent.is_dir():
        raise click.BadParameter(f"no directory {path.parent}", param_hint="--save")
    return path


def _warn_unread(
    config: Config, instance: str, start: datetime, other: Policy | None, rt: Runtime
) -> None:
    """Say what the read will not bring: archived tickets, fields only --compare reads."""
    if config.instances[instance].platform == "zendesk" and rt.now() - start > ARCHIVED:
        click.echo(
            "note: Zendesk archives tickets closed over 120 days ago, and its search does"
            " not find them: they are not in this backtest",
            err=True,
        )
    if other is not None and (extra := _fields_only_in(other, config.policy)):
        click.echo(
            f"warning: --compare reads custom fields this policy does not ({extra}):"
            " they are read as this policy's fields only, so they are empty there",
            err=True,
        )


def _fields_only_in(other: Policy, policy: Policy) -> str:
    return ", ".join(sorted(needs(other).custom_fields - needs(policy).custom_fields))


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


def _times(records: list[TicketRecord]) -> list[datetime]:
    times = [r.updated_at or r.created_at for r in records]
    return times + [e.at for r in records for e in r.history or ()]


def _end(text: str | None, times: list[datetime]) -> datetime:
    if text is not None:
        return parse_instant(text, "--to/--until", end_of_day=True)
    if not times:
        raise ConfigError("the ticket file holds no ticket: nothing to replay")
    return max(times)
