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

from adapters.jira.settings import Settings
from adapters.package import Builder, Package

__all__ = ["PLATFORM", "Settings"]


def _builder() -> Builder[Settings]:
    from adapters.jira.adapter import build  # noqa: PLC0415  (the jira library, on use)

    return build


PLATFORM = Package("jira", Settings, _builder)
