"""The offline commands: `validate`, `explain` and `schema`. They read files and print; they
touch no network and import no platform client library."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.registry import settings_model
from connector.commands.options import config_option
from connector.config import Config, RunSettings, load_config, read_text
from connector.scopes import narrowed, scope_warnings
from connector.serve.settings import ServeSettings
from rules.errors import ConfigError
from rules.explain import explain, render_text
from rules.lint import lint
from rules.model import Ticket
from rules.platforms import PLATFORMS
from rules.schema import PolicyModel
from rules.ticketio import read_tickets
from rules.tracking import parse_time


@click.command()
@config_option()
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors (exit 2), e.g. in CI.")
def validate(config_path: str, strict: bool) -> None:
    """Check a configuration offline: schema, references, templates, then lint warnings.

    Touches no network. Exits 0 if the policy is valid (warnings are printed but do not fail
    unless --strict), 2 with every problem listed if not.
    """
    config = load_config(config_path)
    policy = config.policy
    warnings = lint(policy) + scope_warnings(config)
    click.echo(
        f"{config_path}: valid (policy {policy.hash}: {len(policy.levels)} levels, "
        f"{len(policy.rules)} rules, {len(policy.slas)} SLA policies, "
        f"{len(config.instances)} instances)"
    )
    for warning in warnings:
        click.echo(f"warning: {warning}")
    if warnings and strict:
        raise ConfigError(f"{len(warnings)} lint warning(s) and --strict was given")


@click.command(name="explain")
@config_option()
@click.option(
    "--ticket",
    "ticket_path",
    type=click.Path(),
    help='A ticket JSON file (docs/tickets.md): one ticket, a list, or {"tickets": [...]}.',
)
@click.option(
    "--instance",
    "instance",
    metavar="NAME",
    help="Read TICKET live from this instance instead of a file (read-only).",
)
@click.argument("ticket_id", metavar="[TICKET]", required=False)
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    help="With --instance: also write the ticket as read, as ticket JSON (mode 0600), to replay"
    " it offline with --ticket.",
)
@click.option("--now", "now_text", help="Evaluate at this instant (ISO 8601; default: now).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def explain_command(
    config_path: str,
    ticket_path: str | None,
    instance: str | None,
    ticket_id: str | None,
    save: str | None,
    now_text: str | None,
    fmt: str,
) -> None:
    """Show, rule by rule, what the policy would do to a ticket and why.

    Reads the ticket from a ticket JSON file (--ticket FILE), or live from an instance
    (--instance NAME TICKET: the same reads a run makes for one ticket, history included;
    nothing is written). Prints each rule's trigger tree with what was measured, the SLA clock
    accounting (working minutes, paused spans, holidays, DST changes), the resulting change
    exactly as a run would write it, and when the next trigger would fire.
    """
    config = load_config(config_path)
    policy = config.policy
    now = _now(now_text)
    if (ticket_path is None) == (instance is None) or (instance is None) != (ticket_id is None):
        raise click.UsageError("give either --ticket FILE, or --instance NAME and a TICKET id")
    if ticket_path is not None:
        tickets = read_tickets(read_text(ticket_path), ticket_path, policy)
    else:
        assert instance is not None and ticket_id is not None
        from connector.commands.live import read_one  # noqa: PLC0415 (the platforms' clients)

        tickets = [read_one(config, instance, ticket_id, save)]
    reports = [explain(policy, ticket, now) for ticket in tickets]
    search = _search_note(config, instance, tickets[0]) if instance is not None else None
    if fmt == "json":
        if search is not None:
            reports[0]["search"] = search
        payload: Any = reports[0] if len(reports) == 1 else reports
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo("\n".join(render_text(r) for r in reports), nl=False)
        if search is not None:
            click.echo(f"search: {search}")


def _search_note(config: Config, instance: str, ticket: Ticket) -> str | None:
    """What the instance's runs search, where it is narrowed (`connector.scopes.narrowed`),
    and whether that leaves this ticket out."""
    _, why = narrowed(config, instance)
    if why is None:
        return None
    if ticket.status_category.done:
        return f"runs on {instance} do not read this ticket ({ticket.status}): {why}"
    return f"runs on {instance}: {why}"


@click.command()
def schema() -> None:
    """Print the JSON Schema of the configuration file (for editor completion).

    Covers the policy, each platform's instance settings (chosen by `platform`) and the `run`
    and `serve` sections. Point your editor's YAML language server at it, e.g. with a first line
    `# yaml-language-server: $schema=policy.schema.json`.
    """
    click.echo(json.dumps(config_schema(), indent=2))


def config_schema() -> dict[str, Any]:
    platforms = [settings_model(p) for p in PLATFORMS]
    models: list[type[BaseModel]] = [PolicyModel, *platforms, RunSettings, ServeSettings]
    refs, top = models_json_schema([(m, "validation") for m in models], by_alias=True)
    doc: dict[str, Any] = dict(top["$defs"].pop("PolicyModel"))
    doc["$defs"] = top["$defs"]
    doc["title"] = "escalation-connector configuration"
    props = doc["properties"]
    props["instances"] = {
        "type": "object",
        "description": "Connected instances by name (docs/adapters.md).",
        "additionalProperties": {"anyOf": [refs[(m, "validation")] for m in platforms]},
    }
    props["run"] = refs[(RunSettings, "validation")]
    props["serve"] = refs[(ServeSettings, "validation")]
    return doc


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    value = parse_time(text)
    if value is None:
        raise click.BadParameter(
            f"expected an ISO 8601 time such as 2026-11-20T10:00:00Z, got {text!r}",
            param_hint="--now",
        )
    return value
