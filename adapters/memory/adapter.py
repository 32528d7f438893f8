"""The in-memory adapter: the `Adapter` protocol over a `Store` (a small platform in plain
Python), through the same write protocol (`adapters.writer`) and retry policy as the real
platforms, and held to the same contract suite (tests/adapters/contract.py). The fast fake for
runner, executor and service tests: no HTTP, no client library."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.errors import SetupError
from adapters.http import Retrier, Sleeper
from adapters.memory.read import PLATFORM, Reader
from adapters.memory.store import Store
from adapters.memory.write import Backend
from adapters.owed import Journal
from adapters.past import Window
from adapters.payment import pay_all
from adapters.protocol import Adapter, Reevaluate
from adapters.results import Check, FieldStatus, Queue, WriteResult
from adapters.setup import Adoption, Done, Plan, Request, Step
from adapters.writer import write_one
from rules.model import Ticket
from rules.needs import Needs, needs
from rules.plan import TicketChange
from rules.policy import Policy
from rules.tracking import TRACKING_FIELDS

REQUIRED = ("level", "state")  # without these no run can tell what it already did


class MemoryAdapter:
    platform = PLATFORM

    def __init__(
        self,
        instance: str,
        store: Store,
        policy: Policy,
        *,
        sleep: Sleeper,
        page_size: int = 100,
        journal: Journal | None = None,
    ) -> None:
        self.instance, self.store, self.policy = instance, store, policy
        self.reader = Reader(instance, store, policy, Retrier(sleep), page_size)
        self.stats = self.reader.stats
        self.journal = journal or Journal(None, f"memory:{instance}", store.clock)
        self.backend = Backend(self.reader, self.journal)

    @property
    def approximate(self) -> dict[str, int]:
        return {}

    def inspect_fields(self) -> list[FieldStatus]:
        """The tracking fields the store has (level and state at least) and the policy's
        custom fields; a missing one says so."""
        have = self.store.fields
        wanted = [(n, "tracking") for n in TRACKING_FIELDS if n in have or n in REQUIRED]
        wanted += [(n, "policy") for n in sorted(needs(self.policy).custom_fields)]
        return [
            FieldStatus(n, n, n if n in have else None, "" if n in have else "missing", kind=k)
            for n, k in wanted
        ]

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        if create:
            self.setup_apply(self.setup_plan(policy_fields=False))
        bad = [s.name for s in self.inspect_fields() if s.problem and s.kind == "tracking"]
        if bad:
            raise SetupError(
                f"in-memory instance {self.instance}: fields missing: {', '.join(bad)}"
            )
        return self.inspect_fields()

    def setup_plan(self, *, policy_fields: bool = True) -> Plan:
        """The missing fields, each created by one (in-memory) request."""
        plan = Plan(self.instance, PLATFORM)
        for s in self.inspect_fields():
            if s.problem and (s.kind == "tracking" or policy_fields):
                request = Request("POST", "memory:fields", {"name": s.name})
                plan.steps.append(Step("field", s.title, s.kind, "text", request, s.name))
            elif not s.problem:
                plan.adopted.append(Adoption(s))
        return plan

    def setup_apply(self, plan: Plan) -> list[Done]:
        for step in plan.steps:
            self.store.fields.add(str(step.request.body["name"]))
        return [Done(step, step.name, step.request) for step in plan.steps]

    def check(self) -> list[Check]:
        try:
            found = self.fields()
        except SetupError as exc:
            return [Check("fields", False, str(exc))]
        return [Check("fields", True, f"{len(found)} fields")]

    def queue(self, *, create: bool = False) -> Queue:
        return Queue("view", "Escalated tickets", "escalated" if create else None)

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        return self.reader.fetch()

    def past(self, window: Window) -> Iterator[Ticket]:
        return (t for t in self.reader.fetch() if window.holds(t))

    def reread(self, ticket_id: str) -> Ticket:
        return self.reader.fresh(ticket_id).ticket

    def expect_writes(self, changes: Sequence[TicketChange]) -> None:
        """Its re-reads cost nothing: no read-ahead."""

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        for change in changes:
            yield write_one(self.backend, change, reevaluate)

    def send_owed(self) -> Iterator[WriteResult]:
        return pay_all(self.backend)

    def batch_size(self, pending: int) -> int:
        return 1

    def close(self) -> None:
        self.journal.close()


if TYPE_CHECKING:
    _: type[Adapter] = MemoryAdapter  # mypy checks that it keeps the whole protocol
