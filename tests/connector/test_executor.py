"""The executor on the in-memory adapter: one result per change whatever happens to the others,
an instance-fatal error stops what has not started, and a bug in one write stays in its ticket."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from adapters.errors import AuthError
from adapters.memory.adapter import MemoryAdapter
from adapters.memory.store import Store
from adapters.protocol import Reevaluate
from adapters.results import WriteResult, WriteStatus
from connector.executor import execute
from rules.engine import evaluate_ticket
from rules.needs import needs
from rules.plan import TicketChange
from state import LockLost
from tests.adapters.contract import AdapterContract, contract_policy
from tests.adapters.fakes import FakeTime

NOW = AdapterContract.NOW


class Breaking(MemoryAdapter):
    """Raises `error` when asked to write `ticket` (a platform that stops, or a bug)."""

    def __init__(self, store: Store, ticket: str, error: Exception) -> None:
        super().__init__("memory", store, contract_policy(), sleep=FakeTime(0).sleep)
        self.ticket, self.error = ticket, error

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        for change in changes:
            if change.ticket == self.ticket:
                raise self.error
            yield from super().write([change], reevaluate)


def planned(adapter: MemoryAdapter) -> list[TicketChange]:
    policy = adapter.policy
    changes = [evaluate_ticket(policy, t, NOW).change for t in adapter.fetch(needs(policy), NOW)]
    return [c for c in changes if c is not None]


def run(adapter: MemoryAdapter, concurrency: int = 1) -> dict[str, WriteResult]:
    results: list[WriteResult] = []
    changes = planned(adapter)
    policy = adapter.policy
    execute(
        adapter,
        changes,
        lambda t: evaluate_ticket(policy, t, NOW).change,
        concurrency=concurrency,
        on_result=results.append,
    )
    assert sorted(r.ticket for r in results) == sorted(c.ticket for c in changes)
    return {r.ticket: r for r in results}


@pytest.fixture
def store() -> Store:
    return Store(FakeTime(NOW.timestamp() - 3600).clock)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_one_result_per_change_whatever_happens_to_the_others(
    store: Store, concurrency: int
) -> None:
    ids = [store.add(priority="P1") for _ in range(6)]
    store.fail("refuse", ticket=ids[1])
    adapter = MemoryAdapter("memory", store, contract_policy(), sleep=FakeTime(0).sleep)
    changes = planned(adapter)
    store.delete(ids[2])
    results: list[WriteResult] = []
    execute(
        adapter,
        changes,
        lambda t: evaluate_ticket(adapter.policy, t, NOW).change,
        concurrency=concurrency,
        on_result=results.append,
    )
    by_ticket = {r.ticket: r.status for r in results}
    assert len(results) == len(by_ticket) == 6
    assert by_ticket[ids[1]] is WriteStatus.FAILED
    assert by_ticket[ids[2]] is WriteStatus.SKIPPED
    assert [by_ticket[t] for t in (ids[0], *ids[3:])] == [WriteStatus.APPLIED] * 4


def test_a_fatal_error_stops_what_has_not_started_and_is_raised(store: Store) -> None:
    ids = [store.add(priority="P1") for _ in range(4)]
    adapter = Breaking(store, ids[1], AuthError("401: the credentials were refused"))
    with pytest.raises(AuthError):
        run(adapter)
    assert store.tickets[ids[0]].fields.get("level") == "L2"
    assert all(store.tickets[t].fields.get("level") is None for t in ids[1:])
    assert store.calls["PUT"] == 1


def test_a_bug_in_one_write_fails_that_ticket_only(store: Store) -> None:
    ids = [store.add(priority="P1") for _ in range(3)]
    results = run(Breaking(store, ids[1], KeyError("oops")))
    assert results[ids[1]].status is WriteStatus.FAILED
    assert "internal error: KeyError" in results[ids[1]].message
    assert results[ids[0]].status is results[ids[2]].status is WriteStatus.APPLIED


class Bulk(MemoryAdapter):
    """Writes every change in one call, as Zendesk's update_many does; records each call."""

    def __init__(self, store: Store) -> None:
        super().__init__("memory", store, contract_policy(), sleep=FakeTime(0).sleep)
        self.calls: list[int] = []

    def batch_size(self, count: int) -> int:
        return count

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        self.calls.append(len(changes))
        for change in changes:
            yield from super().write([change], reevaluate)


def test_a_lock_that_can_be_lost_is_asked_before_each_job_of_a_bulk_write(store: Store) -> None:
    """With a guard (the PostgreSQL lock), a bulk write goes 100 changes a call, the lock
    asked before each; once it is gone nothing more is sent."""
    for _ in range(250):
        store.add(priority="P1")
    adapter = Bulk(store)
    changes, results = planned(adapter), []
    asked = []

    def guard() -> None:
        asked.append(1)
        if len(asked) == 3:
            raise LockLost("memory", "its connection to the state store dropped")

    with pytest.raises(LockLost):
        execute(
            adapter,
            changes,
            lambda t: None,
            concurrency=1,
            on_result=results.append,
            guard=guard,
        )
    assert adapter.calls == [100, 100] and len(asked) == 3
    assert sum(r.status is WriteStatus.APPLIED for r in results) == 200
    assert sum(r.status is WriteStatus.FAILED for r in results) == 50
