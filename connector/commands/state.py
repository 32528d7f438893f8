"""`escalate state`: the state store the config names (`state:`, docs/operations.md "State")."""

from __future__ import annotations

import click

from connector.commands.options import config_option
from connector.config import load_config
from state.migrations import latest


@click.group("state")
def state_group() -> None:
    """The state store: the lock, the owed-comment journal and the history cache."""


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
    from connector.store import open_store  # noqa: PLC0415 (psycopg only here)
    from state.postgres import PostgresStore  # noqa: PLC0415

    store = open_store(config)
    assert isinstance(store, PostgresStore)
    applied = store.migrate()
    done = f"applied {', '.join(map(str, applied))}" if applied else "nothing to apply"
    click.echo(f"{store.where}: schema version {latest()} ({done})")
