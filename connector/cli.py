"""The `escalate` command line. Results go to stdout, diagnostics to stderr.

Exit codes: 0 ok, 1 some ticket changes failed, 2 config or usage error, 3 a bug.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import click
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.registry import settings_model
from connector.commands.backtest import backtest_command
from connector.commands.doctor import doctor, setup
from connector.commands.matrix import matrix_command
from connector.commands.report import report_command
from connector.commands.run import apply_command, plan, run
from connector.config import RunSettings, load_config, read_text
from connector.demo import demo_command
from connector.errors import BUG, USAGE, exit_code
from connector.runner import Runtime
from connector.sandbox.cli import sandbox_group
from rules.errors import ConfigError
from rules.explain import explain, render_text
from rules.lint import lint
from rules.platforms import PLATFORMS
from rules.schema import PolicyModel
from rules.ticketio import read_tickets
from rules.tracking import parse_time

CONFIG_HELP = "The configuration file: the policy and the instances (see config.example.yaml)."


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="escalation-connector")
def cli() -> None:
    """Multi-level escalation for Jira and Zendesk, driven by one YAML policy.

    \b
    Try it:        escalate demo            (local emulated platforms, no account)
    Write policy:  escalate validate / explain   (offline; config.example.yaml)
    Connect:       escalate doctor, then escalate setup
    Go live:       escalate plan, run --dry-run, then schedule escalate run

    Docs: docs/operations.md (running, scheduling), docs/policy.md (the policy).
    """


@cli.command()
@click.option("-c", "--config", "config_path", required=True, type=click.Path(), help=CONFIG_HELP)
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors (exit 2), e.g. in CI.")
def validate(config_path: str, strict: bool) -> None:
    """Check a configuration offline: schema, references, templates, then lint warnings.

    Touches no network. Exits 0 if the policy is valid (warnings are printed but do not fail
    unless --strict), 2 with every problem listed if not.
    """
    config = load_config(config_path)
    policy = config.policy
    warnings = lint(policy)
    click.echo(
        f"{config_path}: valid (policy {policy.hash}: {len(policy.levels)} levels, "
        f"{len(policy.rules)} rules, {len(policy.slas)} SLA policies, "
        f"{len(config.instances)} instances)"
    )
    for warning in warnings:
        click.echo(f"warning: {warning}")
    if warnings and strict:
        raise ConfigError(f"{len(warnings)} lint warning(s) and --strict was given")


@cli.command(name="explain")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(), help=CONFIG_HELP)
@click.option(
    "--ticket",
    "ticket_path",
    required=True,
    type=click.Path(),
    help='A ticket JSON file (docs/tickets.md): one ticket, a list, or {"tickets": [...]}.',
)
@click.option("--now", "now_text", help="Evaluate at this instant (ISO 8601; default: now).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def explain_command(config_path: str, ticket_path: str, now_text: str | None, fmt: str) -> None:
    """Show, rule by rule, what the policy would do to a ticket and why.

    Prints each rule's trigger tree with what was measured, the SLA clock accounting (working
    minutes, paused spans, holidays, DST changes), the resulting change exactly as a run would
    write it, and when the next trigger would fire. Offline: nothing is written anywhere.
    """
    policy = load_config(config_path).policy
    now = _now(now_text)
    tickets = read_tickets(read_text(ticket_path), ticket_path, policy)
    reports = [explain(policy, ticket, now) for ticket in tickets]
    if fmt == "json":
        payload: Any = reports[0] if len(reports) == 1 else reports
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo("\n".join(render_text(r) for r in reports), nl=False)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the configuration file (for editor completion).

    Covers the policy, each platform's instance settings (chosen by `platform`) and the `run`
    section. Point your editor's YAML language server at it, e.g. with a first line
    `# yaml-language-server: $schema=policy.schema.json`.
    """
    click.echo(json.dumps(config_schema(), indent=2))


def config_schema() -> dict[str, Any]:
    platforms = [settings_model(p) for p in PLATFORMS]
    models: list[type[BaseModel]] = [PolicyModel, *platforms, RunSettings]
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
    return doc


cli.add_command(demo_command)
cli.add_command(run)
cli.add_command(plan)
cli.add_command(apply_command)
cli.add_command(doctor)
cli.add_command(setup)
cli.add_command(sandbox_group)
cli.add_command(matrix_command)
cli.add_command(backtest_command)
cli.add_command(report_command)


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


def main(argv: list[str] | None = None, *, runtime: Runtime | None = None) -> None:
    """Entry point: one place maps errors to exit codes (see connector/errors.py). `runtime`
    injects the clock, sleeper and progress display (tests)."""
    try:
        # Without standalone mode, click returns a command's `Exit(code)` instead of exiting.
        code = cli.main(args=argv, prog_name="escalate", standalone_mode=False, obj=runtime)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(USAGE)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE)
    except Exception as exc:
        code = exit_code(exc)
        if code == BUG:
            traceback.print_exc()
            click.echo(
                "internal error: this is a bug in escalation-connector; please report it "
                "with the traceback above",
                err=True,
            )
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
