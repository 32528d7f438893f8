"""`escalate doctor`: the online checks (`escalate setup` is in `setup.py`)."""

from __future__ import annotations

from collections.abc import Callable

import click

from adapters.results import Check
from connector.commands.common import runtime, select
from connector.commands.options import config_option, format_option, instance_option
from connector.commands.outputs import doctor_json, dumps
from connector.config import Config, load_config
from connector.errors import CHANGES_FAILED, OK
from connector.kinds import plural
from connector.notices import channels_of
from connector.runner import open_adapter
from connector.serve import hookset
from notify import doctor as channel_doctor


def _channels(config: Config, say: Callable[[str], None]) -> int:
    """Each notice channel checked without sending (notify.doctor); the problems found."""
    failed = 0
    for name, channel in channels_of(config).items():
        model = config.policy.channels[name]
        hours = f", notices wait for {model.calendar} hours" if model.calendar else ""
        say(f"notice channel {name} ({channel.type}, {channel.describe()}{hours})")
        for found in channel_doctor.check(channel):
            say(f"  {'ok  ' if found.ok else 'FAIL'} {found.name}: {found.detail}")
            failed += not found.ok
    return failed


@click.command()
@config_option()
@instance_option
@format_option("one JSON object, every check of every instance (docs/cli.md)")
def doctor(config_path: str, instances: tuple[str, ...], fmt: str) -> None:
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
    say = click.echo if fmt == "text" else _silent
    found: dict[str, tuple[str, str, list[Check]]] = {}
    failed = 0
    for name in names:
        adapter = open_adapter(config, name, rt)
        try:
            checks = adapter.check() + hookset.checks(config, name, adapter)
        finally:
            adapter.close()
        url = config.instances[name].url
        found[name] = (adapter.platform, url, checks)
        say(f"{name} ({adapter.platform}, {url})")
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            say(f"  {mark} {check.name}: {check.detail}")
        failed += sum(1 for c in checks if not c.ok)
        if not checks:
            say("  FAIL no check could run")
            failed += 1
    failed += _channels(config, say)
    say(plural(failed, "problem") if failed else "all checks passed")
    code = CHANGES_FAILED if failed else OK
    if fmt == "json":
        click.echo(dumps(doctor_json(found, failed, code)), nl=False)
    raise click.exceptions.Exit(code)


def _silent(_: str) -> None:
    """Text output switched off (`--format json`)."""
