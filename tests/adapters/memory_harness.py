"""The contract suite's `Harness` for the in-memory adapter: a `Store` on an injected clock, the
contract policy, and faults the store injects itself (no HTTP anywhere)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.memory.adapter import MemoryAdapter
from adapters.memory.store import Store
from adapters.protocol import Adapter
from rules.model import Actor
from rules.policy import Policy
from tests.adapters.contract import View, contract_policy
from tests.adapters.fakes import FakeTime

NOW = 1772445600.0  # 2026-03-02T10:00:00Z, the contract's NOW


class MemoryHarness:
    platform = "memory"
    page_size = 5

    def __init__(self, comments_per_update: int | None = None) -> None:
        self.time = FakeTime(NOW - 7200)
        self.store = Store(self.time.clock, comments_per_update=comments_per_update)
        self._policy = contract_policy()

    @property
    def slept(self) -> list[float]:
        return self.time.slept

    def policy(self) -> Policy:
        return self._policy

    def use_approvals(self, policy: Policy) -> None:
        self._policy = policy  # the store keeps every tracking field, approved_by included

    def approve(self, ticket_id: str, value: str, *, by: str) -> None:
        self.time.now = max(self.time.now, NOW + 60)  # after the contract's runs asked
        self.store.edit(ticket_id, Actor.AGENT, by=by, fields={"approved_by": value})

    def rename(self, person: str, name: str) -> None:
        """The store names people by e-mail only: a display name changes nothing."""

    def in_group(self, group: str, person: str) -> None:
        self.store.groups.setdefault(group, set()).add(person)

    def adapter(self, **settings: Any) -> Adapter:
        kw = {"page_size": self.page_size, **settings}
        return MemoryAdapter("memory", self.store, self._policy, sleep=self.time.sleep, **kw)

    def seed(
        self,
        count: int,
        *,
        priority: str = "P3",
        tags: Iterable[str] = (),
        group: str | None = "Support L1",
        title: str = "Printer on fire",
    ) -> list[str]:
        return [
            self.store.add(title, priority=priority, group=group, tags=tags) for _ in range(count)
        ]

    def seed_closed(self, count: int) -> list[str]:
        return [self.store.add(status="solved") for _ in range(count)]

    def agent_edit(
        self,
        ticket_id: str,
        *,
        priority: str | None = None,
        add_tags: Iterable[str] = (),
        group: str | None = None,
    ) -> None:
        changes: dict[str, Any] = {"add_tags": list(add_tags)}
        if priority is not None:
            changes["priority"] = priority
        if group is not None:
            changes["group"] = group
        self.store.edit(ticket_id, Actor.AGENT, **changes)

    def view(self, ticket_id: str) -> View:
        r = self.store.tickets[ticket_id]
        tracking = {n: None if v is None else str(v) for n, v in r.fields.items()}
        ours = [(public, text) for public, text, who in r.comments if who is Actor.CONNECTOR]
        return View(r.group, r.assignee, r.priority, frozenset(r.tags), tracking, ours)

    def delete(self, ticket_id: str) -> None:
        self.store.delete(ticket_id)

    def fail(self, mode: str, *, ticket_id: str | None = None, times: int = 1) -> None:
        if mode == "conflict":
            assert ticket_id is not None
            edit = lambda: self.agent_edit(ticket_id, add_tags=["conflict-edit"])  # noqa: E731
            self.store.fail("before_write", ticket=ticket_id, action=edit)
        else:
            self.store.fail(mode, ticket=ticket_id, times=times)

    def requests(self, method: str | None = None) -> int:
        calls = self.store.calls
        return sum(calls.values()) if method is None else calls[method]
