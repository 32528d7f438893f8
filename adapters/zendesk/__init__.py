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

from adapters.package import Builder, Package
from adapters.zendesk.settings import Settings

__all__ = ["PLATFORM", "Settings"]


def _builder() -> Builder[Settings]:
    from adapters.zendesk.adapter import build  # noqa: PLC0415  (zenpy, on use)

    return build


PLATFORM = Package("zendesk", Settings, _builder)
