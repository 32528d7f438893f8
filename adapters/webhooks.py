"""The platforms' webhooks that tell `escalate serve` of changes: what `escalate setup` creates
and `escalate doctor` checks, per platform (`adapters/zendesk/hooks.py`,
`adapters/jira/hooks.py`). Both need an admin account.

The plan holds each request exactly as it will be sent, except the signing secret, shown as
`SECRET` and filled in when sent (a secret is never printed). A Zendesk webhook's secret is
made by Zendesk and read back once it exists (`Made.secret`); a Jira webhook's is the one the
connector gives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from adapters.results import Check
from adapters.setup import Done, Plan

NAME = "Escalation connector"
SECRET = "<signing secret: serve.webhooks.INSTANCE.secret>"


@dataclass
class Made:
    done: list[Done] = field(default_factory=list)
    #: The signing secret the platform made (Zendesk), to be kept where the config says.
    secret: str | None = None


@runtime_checkable
class Webhooks(Protocol):
    def webhook_plan(self, url: str) -> Plan:
        """What setup would send so that changes are delivered to `url`; sends nothing."""
        ...

    def webhook_apply(self, plan: Plan, secret: str | None) -> Made:
        """Send the plan (`secret`: what a Jira webhook signs with; Zendesk makes its own)."""
        ...

    def webhook_check(self, url: str, secret: str | None) -> list[Check]:
        """Doctor's lines: the webhook exists, points at `url`, is active (and, where the
        platform shows it, signs with `secret`)."""
        ...
