"""Reading the in-memory platform: open tickets page by page, one ticket fresh; each mapped to the
neutral `Ticket` with its whole history (the store keeps it). Every call goes through the same
retry policy as the real platforms' (`adapters.http.Retrier`), on the injected sleeper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from adapters.http import RequestStats, Retrier
from adapters.memory.store import Record, Store
from adapters.outcomes import Fresh
from rules.history import with_history
from rules.model import Approval, StatusCategory, Ticket
from rules.policy import Policy
from rules.tracking import TRACKING_FIELDS, Tracking

T = TypeVar("T")
PLATFORM = "memory"


class Reader:
    def __init__(
        self, instance: str, store: Store, policy: Policy, retrier: Retrier, page_size: int
    ) -> None:
        self.instance, self.store, self.policy = instance, store, policy
        self.retrier, self.page_size = retrier, page_size
        self.stats = RequestStats()

    def call(self, method: str, fn: Callable[..., T], *args: Any) -> T:
        """One request, counted at each try, and retried where it cannot have landed."""

        def once() -> T:
            self.stats.record(method, "memory:/tickets")
            return fn(*args)

        return self.retrier.call(once, may_repeat=method == "GET")

    def fetch(self) -> Iterator[Ticket]:
        cursor: int | None = 0
        while cursor is not None:
            page, cursor = self.call("GET", self.store.page, cursor, self.page_size)
            yield from (self.ticket(record) for record in page)

    def fresh(self, ticket: str) -> Fresh:
        record = self.call("GET", self.store.get, ticket)
        return Fresh(asdict(record), self.ticket(record), str(record.updated))

    def ticket(self, r: Record) -> Ticket:
        tracking = {n: v for n, v in r.fields.items() if n in TRACKING_FIELDS}
        ticket = Ticket(
            id=r.id,
            instance=self.instance,
            platform=PLATFORM,
            title=r.title,
            status=r.status,
            status_category=StatusCategory(r.status),
            priority=r.priority,
            priority_rank=self.policy.priority_rank.get(r.priority or ""),
            priority_raw=r.priority,
            group=r.group,
            assignee=r.assignee,
            tags=frozenset(r.tags),
            custom={n: v for n, v in r.fields.items() if n not in TRACKING_FIELDS},
            created_at=datetime.fromtimestamp(r.created, UTC),
            updated_at=datetime.fromtimestamp(r.updated, UTC),
            tracking=Tracking.parse(tracking),
        )
        if ticket.tracking.approved_by:
            ticket = replace(ticket, approval=self.approval(r))
        return with_history(ticket, r.events)

    def approval(self, r: Record) -> Approval:
        """Who set the approval field, as the store recorded it (its groups read in place)."""
        who = r.setters.get("approved_by", "")
        groups = frozenset(g.lower() for g, people in self.store.groups.items() if who in people)
        return Approval(who, frozenset({who.lower()}) if who else frozenset(), groups)
