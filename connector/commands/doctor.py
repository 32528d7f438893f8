"""`escalate doctor`: the online checks (`escalate setup` is in `setup.py`)."""

from __future__ import annotations

import click

from connector.commands.common import runtime, select
from connector.commands.options import config_option, instance_option
from connector.config import load_config
from connector.errors import CHANGES_FAILED, OK
from connector.runner import open_adapter
from connector.serve import hookset


@click.command()
@config_option()
@instance_option
def doctor(config_path: str, instances: tuple[str, ...]) -> None:
    """Check each instance online, and say how to fix each problem.

    Checks that the credentials work, that the account may do every write the policy needs,
    that the tracking fields exist and can be written (on Jira: are on the edit screen), that
    the groups, users and priorities the policy names exist, that the scope query is valid,
    how much of the rate limit is left, and (for `escalate serve`) that the webhooks exist, point
    at serve.public_url and are active. Writes nothing. Exit status 0 all checks pass,
    1 some failed, 2 the configuration is invalid.
    """
    config = load_config(config_path)
    names = select(config, instances)
    rt = runtime()
    failed = 0
    for name in names:
        adapter = open_adapter(config, name, rt)
        try:
            checks = adapter.check() + hookset.checks(config, name, adapter)
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
