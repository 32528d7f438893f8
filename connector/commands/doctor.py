"""`escalate doctor` (online checks) and `escalate setup` (create what is missing)."""

from __future__ import annotations

import sys

import click

from adapters.errors import AdapterError, AuthError
from adapters.protocol import Adapter
from adapters.results import FieldStatus, Queue
from connector.commands.common import runtime, select
from connector.commands.options import config_option, instance_option
from connector.config import load_config
from connector.errors import CHANGES_FAILED, OK, USAGE
from connector.runner import open_adapter
from rules.tracking import TRACKING_FIELDS


@click.command()
@config_option()
@instance_option
def doctor(config_path: str, instances: tuple[str, ...]) -> None:
    """Check each instance online, and say how to fix each problem.

    Checks that the credentials work, that the account may do every write the policy needs,
    that the tracking fields exist and can be written (on Jira: are on the edit screen), that
    the groups, users and priorities the policy names exist, that the scope query is valid,
    and how much of the rate limit is left. Writes nothing. Exit status 0 all checks pass,
    1 some failed, 2 the configuration is invalid.
    """
    config = load_config(config_path)
    names = select(config, instances)
    rt = runtime()
    failed = 0
    for name in names:
        adapter = open_adapter(config, name, rt)
        try:
            checks = adapter.check()
        finally:
            adapter.close()
        click.echo(f"{name} ({adapter.platform}, {config.instances[name].url})")
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            click.echo(f"  {mark} {check.name}: {check.detail}")
        failed += sum(1 for c in checks if not c.ok)
        if not checks:
            click.echo("  FAIL no check could run")
            failed += 1
    click.echo(f"{failed} problem(s)" if failed else "all checks passed")
    raise click.exceptions.Exit(CHANGES_FAILED if failed else OK)


@click.command()
@config_option()
@instance_option
@click.option("--yes", is_flag=True, help="Create without asking (for scripts).")
def setup(config_path: str, instances: tuple[str, ...], yes: bool) -> None:
    """Create the missing tracking fields and the "Escalated tickets" queue.

    Shows, per instance, the tracking fields that are missing and whether the queue exists
    (a Zendesk view sorted by SLA due, a Jira saved filter), asks, then creates them. Never
    changes or duplicates what exists. Needs an admin account. Policy fields (the ones rules
    read, such as a customer's "Escalate to a manager" field) are reported, not created:
    their type is yours to choose.
    """
    config = load_config(config_path)
    names = select(config, instances)
    rt = runtime()
    adapters = {name: open_adapter(config, name, rt) for name in names}
    try:
        todo = {name: _survey(name, adapter) for name, adapter in adapters.items()}
        if not any(fields or queue for fields, queue in todo.values()):
            click.echo("nothing to create")
            raise click.exceptions.Exit(OK)
        if not yes:
            if not sys.stdin.isatty():
                click.echo("not a terminal: re-run with --yes to create the above", err=True)
                raise click.exceptions.Exit(USAGE)
            click.confirm("Create them?", abort=True)
        problems = sum(_create(name, adapters[name]) for name, (f, q) in todo.items() if f or q)
    finally:
        for adapter in adapters.values():
            adapter.close()
    raise click.exceptions.Exit(CHANGES_FAILED if problems else OK)


def _survey(name: str, adapter: Adapter) -> tuple[list[FieldStatus], bool]:
    """Print what exists and what would be created; (fields to create, queue to create)."""
    click.echo(f"{name} ({adapter.platform})")
    statuses = adapter.inspect_fields()
    missing = [s for s in statuses if s.problem == "missing" and _tracking(s)]
    for status in statuses:
        if status.problem == "missing" and _tracking(status):
            click.echo(f"  create field   {status.title!r} (tracking: {status.name})")
        elif status.problem:
            click.echo(f"  cannot fix     {status.title or status.name!r}: {status.problem}")
        else:
            click.echo(f"  exists         {status.title!r} ({status.id})")
    queue = adapter.queue()
    if queue.id is None and not queue.problem:
        click.echo(f"  create {queue.kind:<8}{queue.title!r}: {queue.definition}")
    elif queue.problem:
        click.echo(f"  cannot check   {queue.kind} {queue.title!r}: {queue.problem}")
    else:
        click.echo(f"  exists         {queue.kind} {queue.title!r} ({queue.url or queue.id})")
    return missing, queue.id is None and not queue.problem


def _tracking(status: FieldStatus) -> bool:
    """A tracking field (setup creates those), not a field the policy's rules read."""
    return status.name in TRACKING_FIELDS


def _create(name: str, adapter: Adapter) -> int:
    """Create, print the outcome; the number of problems left."""
    problems = 0
    try:
        for status in adapter.fields(create=True):
            if status.created:
                note = f": {status.problem}" if status.problem else ""
                click.echo(f"{name}: created field {status.title!r} ({status.id}){note}")
    except AuthError:
        raise
    except AdapterError as exc:
        click.echo(f"{name}: {exc}", err=True)
        problems += 1
    queue: Queue = adapter.queue(create=True)
    if queue.created:
        click.echo(f"{name}: created {queue.kind} {queue.title!r}: {queue.url or queue.id}")
    elif queue.problem:
        click.echo(f"{name}: {queue.kind} {queue.title!r}: {queue.problem}", err=True)
        problems += 1
    return problems
