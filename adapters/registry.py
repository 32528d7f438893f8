"""Platform name -> adapter package, imported only when an instance of it is configured.

Each package (`adapters/zendesk`, `adapters/jira`) exports `Settings` (its instance settings
model, extending `adapters.base.InstanceSettings`) and `build(name, settings, policy, *, clock,
sleep) -> Adapter`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from adapters.base import InstanceSettings

PLATFORMS = ("zendesk", "jira")


def package(platform: str) -> ModuleType:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r} (expected one of: {', '.join(PLATFORMS)})")
    return importlib.import_module(f"adapters.{platform}")


def settings_model(platform: str) -> type[InstanceSettings]:
    model: type[InstanceSettings] = package(platform).Settings
    return model
