"""The PostgreSQL schema, as numbered steps applied once each, in order (plain SQL).

`migrate(connection)` applies what a database lacks inside one transaction, under a
transaction-level advisory lock, so hosts starting together apply each step once; a database
already up to date costs two queries and needs no right to create anything. Never edit a
released step: add the next one.
"""

from __future__ import annotations

from typing import Any

#: An advisory lock key of the migrations' own (any constant not used for instances' locks).
MIGRATION_LOCK = 0x65736361  # "esca"

STEPS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE escalate_identity (
            instance text NOT NULL, kind text NOT NULL, value text NOT NULL,
            PRIMARY KEY (instance, kind)
        );
        CREATE TABLE escalate_owed (
            instance text NOT NULL, ticket text NOT NULL, state text NOT NULL,
            kind text NOT NULL, body text NOT NULL, text text NOT NULL, who text NOT NULL,
            at double precision NOT NULL, confirmed boolean NOT NULL, old text NOT NULL,
            sent text NOT NULL, PRIMARY KEY (instance, ticket, state)
        );
        CREATE TABLE escalate_history (
            instance text NOT NULL, ticket text NOT NULL, updated_at text NOT NULL,
            events text NOT NULL, PRIMARY KEY (instance, ticket)
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE escalate_audit (
            id bigserial PRIMARY KEY, at double precision NOT NULL, run text NOT NULL,
            instance text, event text NOT NULL, line jsonb NOT NULL
        );
        CREATE INDEX escalate_audit_at ON escalate_audit (at);
        CREATE VIEW escalate_runs AS
            SELECT run, instance, to_timestamp(min(at)) AS started,
                   to_timestamp(max(at)) AS ended,
                   max(line ->> 'outcome') FILTER (WHERE event = 'instance_finished') AS outcome,
                   count(*) FILTER (WHERE event = 'write') AS writes,
                   count(*) FILTER (WHERE event = 'write' AND line ->> 'status' = 'failed')
                       AS failed,
                   max((line ->> 'requests')::bigint) FILTER (WHERE event = 'instance_finished')
                       AS requests
            FROM escalate_audit GROUP BY run, instance;
        """,
    ),
    (
        3,
        """
        CREATE TABLE escalate_due (
            instance text NOT NULL, ticket text NOT NULL, next_at double precision,
            stamp text NOT NULL, policy text NOT NULL, PRIMARY KEY (instance, ticket)
        );
        CREATE INDEX escalate_due_next ON escalate_due (instance, next_at);
        CREATE TABLE escalate_due_mark (
            instance text PRIMARY KEY, high_water double precision NOT NULL,
            swept_at double precision NOT NULL, policy text NOT NULL
        );
        """,
    ),
    (
        4,
        """
        CREATE TABLE escalate_notices (
            instance text NOT NULL, id text NOT NULL, ticket text NOT NULL,
            channel text NOT NULL, key text NOT NULL, event text NOT NULL,
            due double precision NOT NULL, status text NOT NULL, attempts integer NOT NULL,
            notice text NOT NULL, error text NOT NULL, created double precision NOT NULL,
            updated double precision NOT NULL, PRIMARY KEY (instance, id)
        );
        CREATE INDEX escalate_notices_open ON escalate_notices (instance, status, due);
        """,
    ),
)


def schema_version(connection: Any) -> int:
    """The database's schema version (0: none yet), read without creating anything, so an
    account that may only read and write rows can run once the tables exist."""
    found = connection.execute("SELECT to_regclass('escalate_schema')").fetchone()
    if not found or found[0] is None:
        return 0
    row = connection.execute("SELECT coalesce(max(version), 0) FROM escalate_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(connection: Any) -> list[int]:
    """Apply the steps `connection`'s database lacks; the versions applied (maybe none)."""
    if schema_version(connection) >= latest():
        return []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS escalate_schema ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = connection.execute("SELECT coalesce(max(version), 0) FROM escalate_schema").fetchone()
        current = int(row[0]) if row else 0
        applied = []
        for version, sql in STEPS:
            if version > current:
                connection.execute(sql)
                connection.execute("INSERT INTO escalate_schema (version) VALUES (%s)", (version,))
                applied.append(version)
        return applied


def latest() -> int:
    return STEPS[-1][0]
