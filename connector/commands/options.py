"""The options several commands share, spelled once (click only: cheap to import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_HELP = "The configuration file: the policy and the instances (see config.example.yaml)."
#: The environment variable `-c/--config` falls back to (one config per shell or unit).
CONFIG_ENV = "ESCALATE_CONFIG"


def config_option(*, required: bool = True, help: str = CONFIG_HELP) -> Callable[[F], F]:
    """`-c/--config FILE`, passed as `config_path`; $ESCALATE_CONFIG when not given."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        required=required,
        type=click.Path(),
        envvar=CONFIG_ENV,
        show_envvar=True,
        metavar="FILE",
        help=help,
    )


instance_option = click.option(
    "--instance",
    "instances",
    multiple=True,
    metavar="NAME",
    help="Only this instance (repeat for several; default: every instance in the file).",
)

jobs_option = click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    metavar="N",
    help="Work on up to N instances at once, each under its own lock (default: the config's"
    " run.jobs, 1: one after the other). The summary keeps the instances' order.",
)


def format_option(json_help: str) -> Callable[[F], F]:
    """`--format text|json`, passed as `fmt`; `json_help` says what the JSON is."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=f"text for people, json for scripts: {json_help}.",
    )
