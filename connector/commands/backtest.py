"""`escalate backtest`: replay a policy on past tickets from an export file, offline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from connector.config import load_config, read_text
from rules.backtest import TicketResult, Totals, compare, run
from rules.errors import ConfigError
from rules.model import Ticket
from rules.plan import format_instant
from rules.policy import Policy
from rules.ticketio import read_tickets
from rules.tracking import parse_time
from rules.units import format_duration, parse_duration

CONFIG_HELP = "The configuration file: the policy and the instances (see config.example.yaml)."
NOTHING_WRITTEN = "Backtest: nothing is written to any platform."


@click.command(name="backtest")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(), help=CONFIG_HELP)
@click.option(
    "--tickets",
    "tickets_path",
    required=True,
    type=click.Path(),
    help="Past tickets with their history, in the ticket JSON format (docs/tickets.md).",
)
@click.option(
    "--until",
    help="Replay up to this instant (ISO 8601 with an offset). Default: the newest event or"
    " update in the file.",
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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def backtest_command(
    config_path: str,
    tickets_path: str,
    until: str | None,
    interval: str,
    other_path: str | None,
    fmt: str,
) -> None:
    """Replay the policy on past tickets: what it would have done, when, and to whom.

    \b
    Each ticket's timeline is rebuilt from its history, and the policy is evaluated at every
    event and at the exact instant each trigger would fire (with the real calendars, pauses,
    holidays and DST), not only at polling times. The tracking fields start empty: this is
    what the policy would have done, not what was done. Offline: nothing is written anywhere.
    """
    policy = load_config(config_path).policy
    tickets = read_tickets(read_text(tickets_path), tickets_path, policy)
    end = _until(until, tickets)
    try:
        step = parse_duration(interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from None
    results, totals = run(policy, tickets, end, step)
    doc: dict[str, Any] = {
        "note": NOTHING_WRITTEN,
        "policy_hash": policy.hash,
        "until": format_instant(end),
        "interval_seconds": step,
        "summary": totals.to_json(),
        "tickets": [r.to_json(step) for r in results if r.steps],
    }
    other: tuple[Policy, list[TicketResult], Totals] | None = None
    if other_path is not None:
        other_policy = load_config(other_path).policy
        again = read_tickets(read_text(tickets_path), tickets_path, other_policy)
        other_results, other_totals = run(other_policy, again, end, step)
        other = (other_policy, other_results, other_totals)
        doc["compare"] = {
            "policy_hash": other_policy.hash,
            "summary": other_totals.to_json(),
            "differences": compare(results, other_results),
        }
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(_text(doc, results, totals, step, other))


def _until(text: str | None, tickets: list[Ticket]) -> datetime:
    if text is not None:
        at = parse_time(text)
        if at is None or "T" not in text:
            raise ConfigError(f"--until {text!r}: expected an ISO 8601 instant with an offset")
        return at
    times = [t.updated_at for t in tickets]
    times += [e.at for t in tickets for e in t.history or ()]
    if not times:
        raise ConfigError("the ticket file holds no ticket: nothing to replay")
    return max(times)


def _text(
    doc: dict[str, Any],
    results: list[TicketResult],
    totals: Totals,
    interval: float,
    other: tuple[Policy, list[TicketResult], Totals] | None,
) -> str:
    lines = [NOTHING_WRITTEN, f"Replayed up to {doc['until']}.", ""]
    for result in results:
        if not result.steps:
            continue
        lines.append(f"{result.ticket} ({result.priority or 'no priority'})")
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
        lines.append("")
    lines += _summary("Summary", totals.to_json(), interval)
    if other is not None:
        _, _, other_totals = other
        lines += ["", *_summary("Summary with --compare", other_totals.to_json(), interval)]
        diffs = doc["compare"]["differences"]
        lines += ["", f"Tickets where they differ: {len(diffs)}"]
        for d in diffs:
            lines.append(f"  {d['ticket']}")
            lines += [f"    only this policy:  {x}" for x in d["only_a"]]
            lines += [f"    only --compare:    {x}" for x in d["only_b"]]
    return "\n".join(lines)


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
    ]
    if first is not None:
        out.append(f"  mean time to first escalation: {format_duration(first)}")
    if late["mean"] is not None:
        out.append(
            f"  polling every {format_duration(interval)} acts {format_duration(late['mean'])}"
            f" after the trigger on average, {format_duration(late['max'])} at most"
        )
    return out


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"
