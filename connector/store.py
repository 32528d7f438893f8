"""The run's state store, from the config's `state:` section (`state` package): PostgreSQL
when `state.url` is set, else the files of `run.state_dir`."""

from __future__ import annotations

from connector.config import Config
from state import Store
from state.sqlite import SqliteStore


def open_store(config: Config) -> Store:
    """The store the config names; nothing is connected until it is used. A missing password
    is a ConfigError (exit 2) before anything is sent."""
    settings = config.state
    if not settings.url:
        return SqliteStore(config.state_dir)
    from state.postgres import PostgresStore  # noqa: PLC0415 (psycopg only when configured)

    password = settings.password.resolve("state.password") if settings.password else None
    secret = password.reveal() if password is not None else None
    return PostgresStore(settings.url, secret, pool_size=settings.pool_size)
