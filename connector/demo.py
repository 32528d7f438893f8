"""`escalate demo`: the engine on bundled sample tickets, with no platform account needed.

Until the sandbox platforms exist (the connector issue), this runs the real policy engine on
the sample tickets in connector/samples/tickets.json at the instant recorded in that file, then
evaluates again as if the changes had been applied, to show that a second run changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from connector.config import load_config, read_text
from rules.apply import apply_change
from rules.engine import evaluate
from rules.model import Ticket
from rules.plan import Summary, TicketChange
from rules.ticketio import read_tickets
from rules.tracking import parse_time

SAMPLES = Path(__file__).parent / "samples" / "tickets.json"
EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"


@click.command(name="demo")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(),
    default=None,
    help="A policy to demo (default: config.example.yaml of this checkout).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def demo_command(config_path: str | None, fmt: str) -> None:
    """Run the example policy on bundled sample tickets and show what it would change."""
    path = Path(config_path) if config_path else EXAMPLE
    policy = load_config(path).policy
    raw = json.loads(read_text(SAMPLES))
    now = parse_time(raw["now"])
    assert now is not None
    tickets = read_tickets(read_text(SAMPLES), str(SAMPLES), policy)
    first, second = Summary(), Summary()
    changes: list[TicketChange] = []
    applied: list[Ticket] = []
    for ticket, outcome in zip(tickets, evaluate(policy, tickets, now), strict=True):
        first.add(outcome)
        if outcome.change is not None:
            changes.append(outcome.change)
        applied.append(apply_change(policy, ticket, outcome.change, now))
    for outcome in evaluate(policy, applied, now):
        second.add(outcome)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "now": raw["now"],
                    "policy_hash": policy.hash,
                    "changes": [c.to_json() for c in changes],
                    "summary": first.to_json(),
                    "second_run": second.to_json(),
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"Policy {path.name} ({policy.hash}) on {len(tickets)} sample tickets at {raw['now']}\n"
    )
    click.echo(_table(tickets, changes))
    click.echo(
        f"\nFirst run:  {first.changed} of {first.evaluated} tickets would change "
        f"({_counts(first.by_level)})."
    )
    click.echo(f"Second run, after applying: {second.changed} changes.")
    click.echo(
        f"\nSee why for one ticket: escalate explain -c {_short(path)} "
        f"--ticket {_short(SAMPLES)} --now {raw['now']}"
    )


def _table(tickets: list[Ticket], changes: list[TicketChange]) -> str:
    by_id = {c.ticket: c for c in changes}
    rows = [("ticket", "title", "level", "priority", "group", "rules")]
    for t in tickets:
        c = by_id.get(t.id)
        if c is None:
            rows.append(
                (
                    t.id,
                    t.title[:32],
                    t.tracking.level or "L1",
                    t.priority or "-",
                    t.group or "-",
                    "-",
                )
            )
            continue
        rows.append(
            (
                t.id,
                t.title[:32],
                f"{c.level_from} -> {c.level_to}",
                f"{c.priority.old} -> {c.priority.new}" if c.priority else (t.priority or "-"),
                f"{c.group.old} -> {c.group.new}" if c.group else (t.group or "-"),
                ", ".join(c.rules) or "approval",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _counts(by_level: dict[str, Any]) -> str:
    return ", ".join(f"{n} to {lv}" for lv, n in sorted(by_level.items())) or "no escalations"


def _short(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
