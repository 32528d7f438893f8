"""The Jira adapter (Cloud and Data Center; the flavour comes from serverInfo). See docs/jira.md.

Modules, each one role (the Zendesk adapter has the same names for the same roles):
`settings` (instance config), `client` (the jira client, our transport, retries, error
mapping), `search` (paged search, bulk changelogs, comments), `lookups` (what a run looks up
once: fields, our account, statuses, edit screens, users), `read` (issues as tickets),
`mapping` (JSON -> Ticket, pure), `fields` (field discovery and value formats), `markup` (ADF
and wiki), `jql` (literals, ORDER BY), `body` (change -> request bodies), `write` (its part of
the write protocol), `doctor`, `queue` (the saved filter `escalate setup` makes), `past`
(backtests), `adapter` (the Adapter and `build`).

Importing this package loads the settings model only; the jira library is imported when an
instance is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from adapters.jira.settings import Settings
from adapters.settings import InstanceSettings

if TYPE_CHECKING:  # the types only: importing them would load requests
    from requests.adapters import BaseAdapter

    from adapters.http import Clock, Sleeper
    from adapters.protocol import Adapter
    from rules.policy import Policy

__all__ = ["PLATFORM", "Settings"]


class JiraPlatform:
    name = "jira"

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
        from adapters.jira.adapter import build  # noqa: PLC0415  (the jira library, on use)

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


PLATFORM = JiraPlatform()
