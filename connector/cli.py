"""The `escalate` command line. Results go to stdout, diagnostics to stderr.

Commands are imported when they run, not before: `escalate --help` and `escalate --version`
load click alone, and `escalate validate` no platform client library. `COMMANDS` names each
command's module and its one-line help (tests/connector/test_cli_start.py keeps the two true).
Logging is configured here, once, for the command that runs.

Exit codes (connector/errors.py): 0 ok, 1 some ticket changes failed, 2 config or usage error,
3 a bug.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import TYPE_CHECKING

import click

from connector.errors import BUG, INTERRUPTED, USAGE, code_for, detailed
from rules.errors import ConfigError

if TYPE_CHECKING:
    from connector.runner import Runtime

#: name -> (module, attribute, one-line help), in the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "connector.demo",
        "demo_command",
        "Run the example policy end to end on local emulated Zendesk and Jira (no account needed).",
    ),
    "validate": (
        "connector.commands.offline",
        "validate",
        "Check a configuration offline: schema, references, templates, then lint warnings.",
    ),
    "explain": (
        "connector.commands.offline",
        "explain_command",
        "Show, rule by rule, what the policy would do to a ticket and why.",
    ),
    "matrix": (
        "connector.commands.matrix",
        "matrix_command",
        "Show the escalation matrix as people draw it, generated from the policy (offline).",
    ),
    "schema": (
        "connector.commands.offline",
        "schema",
        "Print the JSON Schema of the configuration file (for editor completion).",
    ),
    "doctor": (
        "connector.commands.doctor",
        "doctor",
        "Check each instance online, and say how to fix each problem.",
    ),
    "setup": (
        "connector.commands.setup",
        "setup",
        'Create the missing tracking and policy fields and the "Escalated tickets" queue.',
    ),
    "plan": (
        "connector.commands.run",
        "plan",
        "Show what a run would do, ticket by ticket, and write nothing.",
    ),
    "run": (
        "connector.commands.run",
        "run",
        "Fetch, evaluate and write every instance: the command to schedule.",
    ),
    "serve": (
        "connector.serve.command",
        "serve_command",
        "Run as a service: scheduled and webhook cycles; /healthz, /readyz, /metrics.",
    ),
    "apply": (
        "connector.commands.run",
        "apply_command",
        "Write exactly the changes of a saved plan (`escalate plan --out PLAN.json`).",
    ),
    "backtest": (
        "connector.commands.backtest",
        "backtest_command",
        "Replay the policy on past tickets: what it would have done, when, and to whom.",
    ),
    "report": (
        "connector.commands.report",
        "report_command",
        "Escalation figures for a window: how much escalates, how fast, and whether SLAs hold.",
    ),
    "state": (
        "connector.commands.state",
        "state_group",
        "The state store (lock, owed comments, history cache, notices): migrate, export, import.",
    ),
    "sandbox": (
        "connector.sandbox.cli",
        "sandbox_group",
        "Local emulated Zendesk, Jira Cloud and Jira Data Center, seeded with tickets.",
    ),
}
#: Commands whose own output says what happens: only warnings are logged.
QUIET = frozenset({"demo"})


class Commands(click.Group):
    """A group whose commands are imported on first use; `--help` lists them without that."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = COMMANDS.get(name)
        if found is None:
            return None
        module, attribute, _ = found
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, _, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="escalation-connector")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Multi-level escalation for Jira and Zendesk, driven by one YAML policy.

    \b
    Try it:        escalate demo            (local emulated platforms, no account)
    Write policy:  escalate validate / explain   (offline; config.example.yaml)
    Connect:       escalate doctor, then escalate setup
    Go live:       escalate plan, run --dry-run, then schedule escalate run
                   (or run escalate serve: a service, with webhooks)
    Look back:     escalate report, escalate backtest

    Every command that reads a configuration takes -c FILE, or ESCALATE_CONFIG=FILE from the
    environment when -c is not given.

    Docs: docs/operations.md (running, scheduling), docs/policy.md (the policy),
    docs/notices.md (Slack, Teams, e-mail, on-call), docs/cli.md (commands, exit codes).
    """
    from connector.logs import configure  # noqa: PLC0415  (structlog, for commands only)

    configure(quiet=ctx.invoked_subcommand in QUIET)


def main(argv: list[str] | None = None, *, runtime: Runtime | None = None) -> None:
    """Entry point: one place maps errors to exit codes (connector/errors.py). `runtime`
    injects the clock, sleeper, progress display and platforms (tests)."""
    args = sys.argv[1:] if argv is None else argv
    # plan --detailed-exitcode: 2 means "changes pending", so no error may exit 2 (or 3).
    fail = detailed if args[:1] == ["plan"] and "--detailed-exitcode" in args else int
    try:
        # Without standalone mode, click returns a command's `Exit(code)` instead of exiting.
        code = cli.main(args=args, prog_name="escalate", standalone_mode=False, obj=runtime)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(INTERRUPTED)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(fail(USAGE))
    except click.ClickException as exc:
        exc.show()
        sys.exit(fail(USAGE))
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(fail(USAGE))
    except Exception as exc:
        sys.exit(fail(_failed(exc)))


def _failed(exc: Exception) -> int:
    """Say what went wrong (a bug: with its traceback) and give its exit code."""
    code = code_for(exc)
    if code == BUG:
        traceback.print_exc()
        click.echo(
            "internal error: this is a bug in escalation-connector; please report it "
            "with the traceback above",
            err=True,
        )
    else:
        click.echo(f"error: {exc}", err=True)
    return code


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
