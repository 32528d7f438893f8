"""The Zendesk adapter (docs/zendesk.md).

Modules, each one role (the Jira adapter has the same names for the same roles): `settings`
(instance config), `session` (the one HTTP session: credentials, errors, zenpy's URLs),
`client` (every call, retried), `lookups` (what a run looks up once: who we are, fields,
groups, people), `read` (tickets by search export, history in bulk), `mapping` (JSON -> Ticket,
pure), `fields` (field discovery and creation), `body` (change -> request body), `write` (its
part of the write protocol), `jobs` (update_many), `replies` (the second comment), `doctor`,
`queue` (the view `escalate setup` makes), `past` (backtests), `adapter` (the Adapter and
`build`).

Importing this package loads the settings model only; zenpy is imported when an instance is
built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from adapters.settings import InstanceSettings
from adapters.zendesk.settings import Settings

if TYPE_CHECKING:  # the types only: importing them would load requests
    from requests.adapters import BaseAdapter

    from adapters.http import Clock, Sleeper
    from adapters.protocol import Adapter
    from rules.policy import Policy

__all__ = ["PLATFORM", "Settings"]


class ZendeskPlatform:
    name = "zendesk"

    def settings_model(self) -> type[InstanceSettings]:
        return Settings

    def build(
        self,
        instance: str,
        settings: InstanceSettings,
        policy: Policy,
        *,
        clock: Clock,
        sleep: Sleeper,
        state_dir: Path | None = None,
        transport: BaseAdapter | None = None,
    ) -> Adapter:
        from adapters.zendesk.adapter import build  # noqa: PLC0415  (zenpy, on use)

        assert isinstance(settings, Settings)
        return build(
            instance,
            settings,
            policy,
            clock=clock,
            sleep=sleep,
            state_dir=state_dir,
            transport=transport,
        )


PLATFORM = ZendeskPlatform()
