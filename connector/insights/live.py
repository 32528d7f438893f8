"""The live half of `escalate report`: each instance's tickets that were open at some time in
the window, read now (read-only, no lock) with their histories, tracking fields and SLA clocks.
The same read as `backtest --instance` (the history scope: `scope` without its status terms),
so tickets solved since count too: they are the escalation rate's denominator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from adapters.errors import AdapterError
from adapters.past import Window
from adapters.protocol import Adapter
from connector.config import Config
from connector.insights.collect import Collected
from connector.insights.story import PAUSED, Story, story
from connector.runner import Runtime, open_adapter
from rules.facts import Facts
from rules.policy import Policy
from rules.profile import profile

log = structlog.get_logger("connector.report")


Read = tuple[str, dict[str, Any], dict[str, Any], Story | None, dict[str, float]]


def read_live(
    config: Config, names: Sequence[str], runtime: Runtime, into: Collected, since: float
) -> None:
    """Fold every ticket open at some time since `since` into `into`. An instance that cannot
    be read is named in `into.live_errors`; the report goes on with the others and the audit
    log."""
    policy, now = config.policy, runtime.now()
    window = Window(datetime.fromtimestamp(since, tz=UTC), now)
    pause = pausing(policy)
    for name in names:
        adapter: Adapter | None = None
        read: list[Read] = []
        try:
            adapter = open_adapter(config, name, runtime)
            adapter.fields()
            for ticket in adapter.past(window):
                if not window.open_in(ticket):
                    continue
                try:
                    f = Facts(policy, ticket, now)
                    about = profile(f)
                except Exception as exc:  # odd data: the ticket is left out, as `run` does
                    log.warning("ticket_skipped", instance=name, ticket=ticket.id, reason=str(exc))
                    into.skipped += 1
                    continue
                at = ticket.tracking.escalated_at
                live = {
                    "open": not f.done,
                    "level": f.level,
                    "escalated_at": at.timestamp() if at is not None else None,
                    "count": ticket.tracking.count,
                    "rule": ticket.tracking.rule,
                }
                read.append((ticket.id, about, live, story(ticket, pause), decided(f)))
                runtime.progress.reading(name, len(read))
            # Only a whole scope counts (a part of it is not "the open tickets"): fold it now.
            for ticket_id, about, live, told, instants in read:
                seen = into.seen(name, ticket_id)
                seen.observe(now.timestamp(), about)
                seen.live, seen.story = live, told
                seen.sla_at |= instants
            into.live_instances.append(name)
        except AdapterError as exc:
            into.live_errors[name] = str(exc)
            log.error("report_fetch_failed", instance=name, error=str(exc))
        finally:
            runtime.progress.finish()
            if adapter is not None:
                adapter.close()


def pausing(policy: Policy) -> frozenset[str]:
    """The statuses that pause some SLA clock (raw names or categories, lower case), solved
    and closed left out; pending and on-hold when the policy has no SLA."""
    named = {s for sla in policy.slas for t in sla.targets.values() for s in t.pause}
    return frozenset(named - {"solved", "closed"}) or PAUSED


def decided(f: Facts) -> dict[str, float]:
    """When each SLA target was met or breached (a target still running has no instant)."""
    out: dict[str, float] = {}
    for name, target in f.targets.items():
        if (at := target.breached_at) is not None:
            out[name] = at
        elif target.fulfilled:
            met = f.ticket.first_response_at if name == "first_response" else None
            out[name] = met.timestamp() if met is not None else f.status_since_ts
    return out
