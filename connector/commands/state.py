"""`escalate state`: the state store the config names (`state:`, docs/operations.md "State")."""

from __future__ import annotations

import json
import os

import click

from connector.commands.options import config_option, instance_option
from connector.config import load_config, read_text
from connector.store import open_store
from rules.errors import ConfigError
from state.errors import Locked, StoreError
from state.migrations import latest
from state.transfer import export, import_


@click.group("state")
def state_group() -> None:
    """The state store (lock, owed comments, history cache, notices): migrate, export, import.

    `migrate` creates or updates the PostgreSQL tables; `export` and `import` move the rows
    from one store to another (e.g. from a state directory into PostgreSQL)."""


@state_group.command("migrate")
@config_option()
def migrate(config_path: str) -> None:
    """Create or bring up to date the PostgreSQL tables (`state.url`). Runs also do it on first
    use; this does it ahead, e.g. from a deploy step. Safe to run from many hosts at once."""
    config = load_config(config_path)
    if not config.state.url:
        click.echo(
            f"{config_path}: no state.url: the state directory needs no migration"
            f" ({config.state_dir})"
        )
        return
    from state.postgres import PostgresStore  # noqa: PLC0415 (psycopg only here)

    store = open_store(config)
    assert isinstance(store, PostgresStore)
    applied = store.migrate()
    done = f"applied {', '.join(map(str, applied))}" if applied else "nothing to apply"
    click.echo(f"{store.where}: schema version {latest()} ({done})")


@state_group.command("export")
@config_option()
@instance_option
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
def export_command(config_path: str, instances: tuple[str, ...], out: str | None) -> None:
    """Write the owed comments, kept histories and notices of the config's store as JSON
    lines, each instance read under its lock (not the due index: a new store starts with a
    full sweep). With `state import`, moves a state directory into PostgreSQL without losing
    an owed comment or sending a notice twice."""
    config = load_config(config_path)
    names = list(dict.fromkeys(instances)) or list(config.instances)
    store = open_store(config)
    try:
        lines = [json.dumps(line) + "\n" for line in export(store, names)]
    except Locked as exc:
        raise StoreError(f"{exc} Stop the schedule, then export.") from None
    finally:
        store.close()
    if out is None:
        click.echo("".join(lines), nl=False)
    else:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # ticket text inside
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(lines))
    click.echo(f"exported {len(lines)} rows from {store.where}", err=True)


@state_group.command("import")
@config_option()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
def import_command(config_path: str, source: str) -> None:
    """Write rows `state export` wrote into the config's store (each instance under its
    lock; a table kept for another account is replaced)."""
    config = load_config(config_path)
    try:
        lines = [json.loads(line) for line in read_text(source).splitlines() if line.strip()]
    except ValueError as exc:
        raise ConfigError(f"{source}: not JSON lines ({exc})") from None
    store = open_store(config)
    try:
        done = import_(store, lines)
    except Locked as exc:
        raise StoreError(f"{exc} Stop the schedule, then import.") from None
    finally:
        store.close()
    for (instance, table), count in sorted(done.items()):
        click.echo(f"{instance}: {count} {table} rows into {store.where}")
