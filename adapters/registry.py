"""The platforms the connector speaks, in one place: name -> a `Platform`, typed so mypy checks
every implementation and every `build` call. A platform package's `__init__` loads its settings
model only; its client library is imported by `build`, when an instance of it is used, so
`escalate validate` checks a configuration without importing zenpy or jira.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from adapters.jira import PLATFORM as JIRA
from adapters.settings import InstanceSettings
from adapters.zendesk import PLATFORM as ZENDESK
from rules.platforms import PLATFORMS

if TYPE_CHECKING:
    from adapters.package import Wiring
    from adapters.protocol import Adapter
    from rules.policy import Policy


class Platform(Protocol):
    name: str

    def settings_model(self) -> type[InstanceSettings]:
        """The pydantic model of one instance's settings (extends InstanceSettings)."""
        ...

    def build(
        self, instance: str, settings: InstanceSettings, policy: Policy, wiring: Wiring
    ) -> Adapter:
        """The adapter for one instance of this platform (`settings` from its own model),
        wired to its surroundings (`adapters.package.Wiring`). No request is sent until it is
        used."""
        ...


_BY_NAME: dict[str, Platform] = {p.name: p for p in (ZENDESK, JIRA)}
REGISTRY: dict[str, Platform] = {name: _BY_NAME[name] for name in PLATFORMS}


def platform(name: str) -> Platform:
    found = REGISTRY.get(name)
    if found is None:
        raise ValueError(f"unknown platform {name!r} (expected one of: {', '.join(REGISTRY)})")
    return found


def settings_model(name: str) -> type[InstanceSettings]:
    return platform(name).settings_model()
