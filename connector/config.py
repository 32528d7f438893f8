"""Reading the configuration file: the policy plus the connected instances."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict

from adapters.base import InstanceSettings
from adapters.registry import settings_model
from rules.errors import ConfigError
from rules.loader import Problems, check, load_yaml
from rules.policy import Policy, compile_policy
from rules.schema import Model


class _Platform(Model):
    """First pass: which adapter's settings model checks the rest of the instance."""

    model_config = ConfigDict(extra="allow", frozen=True)

    platform: Literal["jira", "zendesk"]


@dataclass(frozen=True)
class Config:
    path: str
    policy: Policy
    instances: dict[str, InstanceSettings]


def read_text(path: str | Path) -> str:
    """A file's text, or a ConfigError that says why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Load and check the whole file offline; raises ConfigError listing every problem."""
    doc = load_yaml(read_text(path), str(path))
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping of top-level keys (levels, rules, ...)")
    policy = compile_policy(doc)
    problems = Problems(doc)
    instances: dict[str, InstanceSettings] = {}
    names = list(doc.data.get("instances") or {})
    for name in names:
        at = ("instances", name)
        head = check(_Platform, doc, at, problems)
        if head is not None:
            settings = check(settings_model(head.platform), doc, at, problems)
            if settings is not None:
                instances[name] = settings
    _check_owner_instances(policy, set(names), problems)
    problems.raise_if_any()
    return Config(str(path), policy, instances)


def _check_owner_instances(policy: Policy, names: set[str], problems: Problems) -> None:
    """Per-instance owner overrides must name a configured instance."""
    known = ", ".join(sorted(names)) or "none configured"
    for level in policy.levels:
        owner = level.model.owner
        for name in owner.instances if owner else ():
            if name not in names:
                problems.add(
                    ("levels", level.index, "owner", "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
    for rule in policy.rules:
        assign = rule.actions.assign
        for name in assign.instances if assign else ():
            if name not in names:
                problems.add(
                    ("rules", rule.index, "then", "assign", "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
    for (function, level_name), owner in policy.matrix.items():
        for name in owner.instances:
            if name not in names:
                problems.add(
                    ("matrix", function, level_name, "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
