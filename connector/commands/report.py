"""`escalate report`: escalation figures from the audit log and the live tracking fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connector.commands.common import emit, runtime, select
from connector.commands.options import config_option
from connector.config import Config, load_config
from connector.errors import CHANGES_FAILED
from connector.insights.collect import Collected, read_audit, read_lines
from connector.insights.figures import figures
from connector.insights.links import Links
from connector.insights.live import read_live
from connector.insights.page import page
from connector.insights.render import csv_text, text
from rules.errors import ConfigError
from rules.tracking import parse_time
from rules.units import parse_duration

if TYPE_CHECKING:
    from connector.runner import Runtime


@click.command(name="report")
@config_option()
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="The window: a duration back from now (30d, 12h) or a date or instant (2026-11-01,"
    " 2026-11-01T08:00:00+01:00; without an offset: UTC).",
)
@click.option(
    "--audit",
    "audit_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Audit log files to read (repeat; .gz is read as gzip). Default: the configured audit"
    " log and its rotated siblings (audit.jsonl.1, audit.jsonl.2.gz, ...).",
)
@click.option(
    "--live/--no-live",
    default=True,
    show_default=True,
    help="Also read each instance's tickets open in the window, with their histories"
    " (read-only): the rate's denominator, SLA clocks, time in status; --no-live reads the"
    " audit log only, offline (no rate).",
)
@click.option(
    "--instance",
    "instances",
    multiple=True,
    metavar="NAME",
    help="Only this instance (repeat for several; default: all).",
)
@click.option(
    "--organization",
    metavar="NAME",
    help="Only this client's tickets, for sharing with them: no other organisation, no"
    " instance names, no error messages.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv", "html"]),
    default="text",
    show_default=True,
    help="html: one self-contained page with charts; csv: section,group,key,metric,value.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file, not stdout.")
def report_command(
    config_path: str,
    since: str,
    audit_paths: tuple[str, ...],
    live: bool,
    instances: tuple[str, ...],
    organization: str | None,
    fmt: str,
    out: str | None,
) -> None:
    """Escalation figures for a window: how much escalates, how fast, and whether SLAs hold.

    \b
    The escalation rate (tickets escalated / tickets open in the period) and SLA attainment,
    for the window and per day or week, per team and priority; time to escalate, time in
    each level and status, escalations later de-escalated or reopened, tickets parked in a
    paused status right after a customer's reply, failed writes; each figure with links to
    its tickets. From the audit log (what was written) and, with --live (the default), the
    tickets open in the window with their histories. Writes nothing to any platform.
    Definitions: docs/cli.md, "report".

    Exit codes: 0, 1 when an instance's live tickets could not be read (the figures then
    leave it out), 2 on a usage or configuration error.
    """
    config = load_config(config_path)
    rt = runtime()
    now = rt.clock()
    start = _since(since, now)
    chosen = list(dict.fromkeys(instances))
    unknown = [n for n in chosen if n not in config.instances]
    if unknown:
        raise click.BadParameter(
            f"unknown instance {', '.join(map(repr, unknown))}"
            f" (configured: {', '.join(config.instances) or 'none'})",
            param_hint="--instance",
        )
    fig, collected = gather(
        config,
        rt,
        since=start,
        now=now,
        names=chosen,
        audit_paths=[Path(p) for p in audit_paths],
        live=live,
        organization=organization,
    )
    if fmt == "json":
        body = json.dumps(fig, indent=2) + "\n"
    elif fmt == "csv":
        body = csv_text(fig)
    elif fmt == "html":
        body = page(fig)
    else:
        body = text(fig)
    emit(body, out, "report")
    if organization is not None and not fig["scope"]["tickets"]:
        click.echo(
            f"warning: no ticket of organisation {organization!r} in the window (the name as"
            " the platform spells it, case aside)",
            err=True,
        )
    for name, error in collected.live_errors.items():
        click.echo(f"warning: the live tickets of {name} could not be read: {error}", err=True)
    if collected.live_errors:
        raise SystemExit(CHANGES_FAILED)


def gather(
    config: Config,
    rt: Runtime,
    *,
    since: float,
    now: float,
    names: list[str],
    audit_paths: list[Path],
    live: bool = True,
    organization: str | None = None,
) -> tuple[dict[str, Any], Collected]:
    """The figures of the window [since, now]: the audit lines (of `names`, or every instance),
    then with `live` the tickets open in the window with their histories."""
    collected = Collected()
    wanted = set(names) or None
    if config.state.url is not None and not audit_paths:  # the lines every host keeps
        _read_shared(config, rt, since, now, collected, wanted)
    else:
        paths = _oldest_first(audit_paths) or _rotated(config.audit_log, since)
        if not paths and not (live and config.instances):
            raise ConfigError(
                f"no audit log at {config.audit_log} and nothing live to read: run `escalate"
                " run` first, pass --audit FILE, or leave out --no-live"
            )
        read_audit(paths, since, collected, instances=wanted, until=now)
    if live and config.instances:
        read_live(config, select(config, names), rt, collected, since)
    links = Links(
        {n: (i.platform, i.url) for n, i in config.instances.items()},
        named=organization is None,
    )
    fig = figures(
        collected, config.policy, since=since, now=now, links=links, organization=organization
    )
    return fig, collected


def _read_shared(
    config: Config,
    rt: Runtime,
    start: float,
    now: float,
    into: Collected,
    wanted: set[str] | None,
) -> None:
    """The audit lines of every host, from the PostgreSQL state store."""
    table = rt.state(config).audit()
    assert table is not None
    try:
        read_lines(table.read(start, now), start, into, instances=wanted, until=now)
    finally:
        rt.close_store()


def _since(value: str, now: float) -> float:
    try:
        back = parse_duration(value)
    except ValueError:
        back = None
    if back is not None:
        if back > 3660 * 86400:
            raise click.BadParameter(f"{value!r} is over ten years", param_hint="--since")
        return now - back
    at = parse_time(value.strip())  # a date is midnight UTC; no offset means UTC
    if at is None:
        raise click.BadParameter(
            f"{value!r} is neither a duration (30d) nor a date or instant (ISO 8601)",
            param_hint="--since",
        )
    if at.timestamp() > now:
        raise click.BadParameter(f"{value!r} is in the future", param_hint="--since")
    return at.timestamp()


def _oldest_first(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)


def _rotated(audit_log: Path, since: float) -> list[Path]:
    """The audit log and its rotated siblings that may hold lines since `since`, oldest first
    (a file last written before the window starts cannot)."""
    folder = audit_log.parent
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_file()
        and (p.name == audit_log.name or p.name.startswith(audit_log.name + "."))
        and p.stat().st_mtime >= since
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime)
