"""The Jira adapter (Cloud and Data Center): `Settings` and `build` for adapters.registry.

Modules: `settings` (instance config), `client` (the jira client, our transport, retries,
error mapping), `fetch` (paged search and bulk history), `mapping` (JSON -> Ticket, pure),
`fields` (field discovery and value formats), `markup` (ADF and wiki), `edit` (change ->
request bodies), `write` (the write protocol), `doctor` (`escalate doctor`'s checks), `queue`
(the saved filter `escalate setup` makes), `adapter` (the Adapter itself). See docs/jira.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from adapters.jira.adapter import JiraAdapter
from adapters.jira.client import JiraClient
from adapters.jira.settings import Settings
from adapters.owed import Journal, journal_path
from rules.policy import Policy

__all__ = ["JiraAdapter", "Settings", "build"]

if TYPE_CHECKING:
    from adapters.base import Adapter

    _keeps_the_protocol: type[Adapter] = JiraAdapter


def build(
    name: str,
    settings: Settings,
    policy: Policy,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
    state_dir: Path | None = None,
) -> JiraAdapter:
    """The adapter for one instance; no request is sent until it is used.

    `session` is accepted for the registry's common signature but not used: the jira client
    builds its own session, on which our transport is mounted (adapters.http.mount). With a
    `state_dir`, the comments a change still owes are kept there (`adapters.owed`); no history
    cache is kept, as Jira's search returns histories in bulk.
    """
    del session
    owed = journal_path(state_dir, name) if state_dir is not None else None
    client = JiraClient(settings, clock=clock, sleep=sleep)
    return JiraAdapter(name, settings, policy, client, Journal(owed, settings.url, clock))
