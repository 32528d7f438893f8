"""`escalate doctor`: the online checks (`escalate setup` is in `setup.py`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from adapters.results import Check
from connector.commands.common import runtime, select
from connector.commands.options import config_option, format_option, instance_option
from connector.commands.outputs import doctor_json, dumps
from connector.config import Config, check_secrets, load_config
from connector.errors import CHANGES_FAILED, OK
from connector.kinds import plural
from connector.runner import Runtime, open_adapter
from connector.serve import hookset
from notify import doctor as channel_doctor
from notify.channels import open_channel
from rules.errors import ConfigError


def _channels(
    config: Config, say: Callable[[str], None], found: dict[str, tuple[str, str, list[Check]]]
) -> int:
    """Each notice channel checked without sending (notify.doctor), said and kept in `found`
    (as "notice channel NAME"); a secret that cannot be read is a failed check. The problems
    found."""
    failed = 0
    settings = config.policy.model.notify
    base = Path(config.path).resolve().parent
    for name, model in config.policy.channels.items():
        hours = f", notices wait for {model.calendar} hours" if model.calendar else ""
        try:
            channel = open_channel(name, model, base, settings.timeout)
        except ConfigError as exc:
            say(f"notice channel {name} ({model.type}{hours})")
            checks, where = [Check("secret", False, str(exc))], ""
        else:
            where = channel.describe()
            say(f"notice channel {name} ({model.type}, {where}{hours})")
            checks = channel_doctor.check(channel)
        for check in checks:
            say(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
            failed += not check.ok
        found[f"notice channel {name}"] = (model.type, where, checks)
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
    names = select(config, instances, secrets=False)
    rt = runtime()
    say = click.echo if fmt == "text" else _silent
    found: dict[str, tuple[str, str, list[Check]]] = {}
    failed = 0
    for name in names:
        platform, url = config.instances[name].platform, config.instances[name].url
        checks = _instance_checks(config, name, rt)
        found[name] = (platform, url, checks)
        say(f"{name} ({platform}, {url})")
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            say(f"  {mark} {check.name}: {check.detail}")
        failed += sum(1 for c in checks if not c.ok)
        if not checks:
            say("  FAIL no check could run")
            failed += 1
    failed += _channels(config, say, found)
    say(plural(failed, "problem") if failed else "all checks passed")
    code = CHANGES_FAILED if failed else OK
    if fmt == "json":
        click.echo(dumps(doctor_json(found, failed, code)), nl=False)
    raise click.exceptions.Exit(code)


def _instance_checks(config: Config, name: str, rt: Runtime) -> list[Check]:
    """The instance's checks; a secret that cannot be read is a failed check (as a notice
    channel's is), and the other instances are still checked."""
    try:
        check_secrets(config, [name])
    except ConfigError as exc:
        return [Check("secret", False, f"{exc}: set it, or fix the instance's auth settings")]
    adapter = open_adapter(config, name, rt)
    try:
        return adapter.check() + hookset.checks(config, name, adapter)
    finally:
        adapter.close()


def _silent(_: str) -> None:
    """Text output switched off (`--format json`)."""
