"""The live half of `escalate report`: each instance's tickets, read now (read-only, no lock),
with their tracking fields and SLA clocks. The same fetch as `run`, so the same scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import structlog

from adapters.errors import AdapterError
from adapters.protocol import Adapter
from connector.config import Config
from connector.insights.collect import Collected
from connector.runner import Runtime, open_adapter
from rules.facts import Facts
from rules.needs import needs
from rules.profile import profile

log = structlog.get_logger("connector.report")


def read_live(config: Config, names: Sequence[str], runtime: Runtime, into: Collected) -> None:
    """Fold every ticket in each instance's scope into `into`. An instance that cannot be read
    is named in `into.live_errors`; the report goes on with the others and the audit log."""
    policy, now = config.policy, runtime.now()
    wanted = needs(policy)  # as `run` reads, plus organisation names (the per-client view)
    wanted = replace(wanted, people=wanted.people | {"organization"})
    for name in names:
        adapter: Adapter | None = None
        read: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        try:
            adapter = open_adapter(config, name, runtime)
            adapter.fields()
            for ticket in adapter.fetch(wanted, now):
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
                read.append((ticket.id, about, live))
                runtime.progress.reading(name, len(read))
            # Only a whole scope counts (a part of it is not "the open tickets"): fold it now.
            for ticket_id, about, live in read:
                seen = into.seen(name, ticket_id)
                seen.observe(now.timestamp(), about)
                seen.live = live
            into.live_instances.append(name)
        except AdapterError as exc:
            into.live_errors[name] = str(exc)
            log.error("report_fetch_failed", instance=name, error=str(exc))
        finally:
            runtime.progress.finish()
            if adapter is not None:
                adapter.close()
