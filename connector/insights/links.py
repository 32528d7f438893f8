"""Where a ticket is on its platform, for `escalate report`'s links: the agent's view of a
Zendesk ticket (`<url>/agent/tickets/<id>`), a Jira issue's browse page (`<url>/browse/<key>`),
the same addresses the adapters give `Ticket.url`, built from the instance's configured `url`
so that tickets known only from the audit log link too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from connector.insights.collect import Key

#: Tickets listed per figure in the JSON (and linked on the page); the count says how many.
LISTED = 100


class Links:
    def __init__(self, instances: Mapping[str, tuple[str, str]], *, named: bool = True) -> None:
        """`instances`: name -> (platform, base url); `named`: the refs carry the instance
        name and the address (not in a per-client view)."""
        self.instances, self.named = instances, named

    def url(self, key: Key) -> str | None:
        found = self.instances.get(key[0])
        if found is None:
            return None
        platform, base = found
        ticket = quote(key[1], safe="")
        base = base.rstrip("/")
        return (
            f"{base}/agent/tickets/{ticket}" if platform == "zendesk" else f"{base}/browse/{ticket}"
        )

    def ref(self, key: Key) -> dict[str, Any]:
        if not self.named:
            return {"ticket": key[1]}
        return {"instance": key[0], "ticket": key[1], "url": self.url(key)}

    def refs(self, keys: Iterable[Key]) -> list[dict[str, Any]]:
        """The first LISTED tickets, in a stable order (instance, then ticket number)."""
        return [self.ref(k) for k in sorted(set(keys), key=_order)[:LISTED]]


def _order(key: Key) -> tuple[str, int, str]:
    digits = "".join(c for c in key[1].rsplit("-", 1)[-1] if c.isdigit())
    return (key[0], int(digits) if digits else 0, key[1])
