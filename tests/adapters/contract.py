"""The shared adapter contract: the same behaviours, checked for every adapter.

Each platform's test module subclasses `AdapterContract` and provides a `harness` fixture whose
object keeps the `Harness` protocol below, backed by that platform's emulator at the HTTP level.
The changes written here come from the real engine (`evaluate_ticket`) on `CONTRACT_POLICY`, so
the contract also checks that what the engine plans is what lands on the platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import pytest

from adapters.errors import AdapterError
from adapters.protocol import Adapter, Reevaluate
from adapters.results import WriteResult, WriteStatus
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy, load_policy

CONTRACT_POLICY = """
version: 1
priorities: [P1, P2, P3, P4]
defaults: {calendar: 24x7}
levels:
  - name: L1
    owner: {group: Support L1}
  - name: L2
    owner: {group: Support L2}
rules:
  - name: p1-to-l2
    when: {priority: P1}
    then:
      escalate: next
      priority: {at_least: P1}
      add_tags: [escalated]
      note: handoff
      reply: customer
templates:
  handoff: "Escalated {{ ticket.title }}"
  customer: "We are on it"
platforms:
  zendesk:
    priorities: {urgent: P1, high: P2, normal: P3, low: P4}
    fields: &fields
      level: Escalation level
      escalated_at: Escalated at
      rule: Escalation rule
      count: Escalation count
      sla_due: SLA due
      state: Escalation state
  jira:
    priorities: {Highest: P1, High: P2, Medium: P3, Low: P4}
    fields: *fields
"""

TRACKED = ("level", "escalated_at", "rule", "count", "sla_due", "state")


@dataclass
class View:
    """What the platform holds for one ticket, in neutral terms."""

    group: str | None
    assignee: str | None
    priority: str | None
    tags: frozenset[str]
    tracking: dict[str, str | None]
    comments: list[tuple[bool, str]] = field(default_factory=list)

    def notes(self) -> list[str]:
        return [body for public, body in self.comments if not public]

    def replies(self) -> list[str]:
        return [body for public, body in self.comments if public]


class Harness(Protocol):
    platform: str
    page_size: int
    slept: list[float]

    def policy(self) -> Policy: ...
    def adapter(self, **settings: Any) -> Adapter: ...
    def seed(
        self,
        count: int,
        *,
        priority: str = "P3",
        tags: Iterable[str] = (),
        group: str | None = "Support L1",
        title: str = "Printer on fire",
    ) -> list[str]: ...
    def seed_closed(self, count: int) -> list[str]: ...
    def agent_edit(
        self,
        ticket_id: str,
        *,
        priority: str | None = None,
        add_tags: Iterable[str] = (),
        group: str | None = None,
    ) -> None: ...
    def view(self, ticket_id: str) -> View: ...
    def delete(self, ticket_id: str) -> None: ...
    def fail(self, mode: str, *, ticket_id: str | None = None, times: int = 1) -> None:
        """Inject a fault.

        - "page_error": every fetch page after the first answers 500 (`times` times).
        - "rate_limited": the next request answers 429 with `Retry-After: 7`.
        - "timeout_after_landing": the next write to `ticket_id` lands, then the client sees a
          read timeout.
        - "conflict": just before our next write to `ticket_id` lands, an agent adds the tag
          `conflict-edit` (Zendesk then answers 409 to our safe_update; Jira has no
          compare-and-set, so the adapter's re-read before writing must see the edit).
        """
        ...

    def requests(self, method: str | None = None) -> int: ...


def contract_policy() -> Policy:
    return load_policy(CONTRACT_POLICY, "contract.yaml")


class AdapterContract:
    """Subclass with a `harness` fixture; every test runs against that platform's emulator."""

    NOW: ClassVar[datetime] = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    # --- helpers ------------------------------------------------------------------------------

    def fetch(self, adapter: Adapter, policy: Policy) -> dict[str, Ticket]:
        out: dict[str, Ticket] = {}
        for ticket in adapter.fetch(needs(policy), self.NOW):
            assert ticket.id not in out, f"ticket {ticket.id} fetched twice"
            out[ticket.id] = ticket
        return out

    def plan(self, policy: Policy, tickets: Iterable[Ticket]) -> list[TicketChange]:
        changes = []
        for ticket in tickets:
            change = evaluate_ticket(policy, ticket, self.NOW).change
            if change is not None:
                changes.append(change)
        return changes

    def reevaluate(self, policy: Policy, seen: list[Ticket] | None = None) -> Reevaluate:
        def again(ticket: Ticket) -> TicketChange | None:
            if seen is not None:
                seen.append(ticket)
            return evaluate_ticket(policy, ticket, self.NOW).change

        return again

    def write(
        self, adapter: Adapter, policy: Policy, changes: list[TicketChange]
    ) -> dict[str, WriteResult]:
        results = {r.ticket: r for r in adapter.write(changes, self.reevaluate(policy))}
        assert set(results) == {c.ticket for c in changes}, "one result per change"
        return results

    # --- reading ------------------------------------------------------------------------------

    def test_fetch_returns_every_open_ticket_once_across_pages(self, harness: Harness) -> None:
        open_ids = harness.seed(2 * harness.page_size + 3)
        harness.seed_closed(2)
        tickets = self.fetch(harness.adapter(), harness.policy())
        assert set(tickets) == set(open_ids)
        sample = tickets[open_ids[0]]
        assert sample.platform == harness.platform
        assert sample.priority == "P3" and sample.priority_rank == 3
        assert not sample.status_category.done
        assert sample.group == "Support L1"
        assert sample.title == "Printer on fire"
        assert sample.tracking.level is None
        assert sample.created_at.tzinfo is not None

    def test_fetch_reads_in_pages_not_per_ticket(self, harness: Harness) -> None:
        harness.seed(2 * harness.page_size + 3)
        before = harness.requests()
        self.fetch(harness.adapter(), harness.policy())
        # Three pages plus a constant (field definitions, groups, users, flavour...), however
        # many tickets there are.
        assert harness.requests() - before <= 3 + 8

    def test_a_failing_page_fails_the_whole_fetch(self, harness: Harness) -> None:
        harness.seed(2 * harness.page_size + 1)
        harness.fail("page_error", times=1000)
        with pytest.raises(AdapterError):
            self.fetch(harness.adapter(), harness.policy())

    def test_rate_limit_waits_exactly_retry_after(self, harness: Harness) -> None:
        ids = harness.seed(3)
        adapter = harness.adapter()
        harness.fail("rate_limited")
        tickets = self.fetch(adapter, harness.policy())
        assert set(tickets) == set(ids)
        assert 7.0 in harness.slept

    def test_reread_sees_an_agent_edit(self, harness: Harness) -> None:
        (tid,) = harness.seed(1)
        adapter = harness.adapter()
        self.fetch(adapter, harness.policy())
        harness.agent_edit(tid, priority="P2", add_tags=["agent-tag"])
        fresh = adapter.reread(tid)
        assert fresh.priority == "P2"
        assert "agent-tag" in fresh.tags

    def test_fields_resolves_every_tracking_field(self, harness: Harness) -> None:
        statuses = {s.name: s for s in harness.adapter().fields()}
        for name in TRACKED:
            assert statuses[name].id, f"{name} not resolved"
            assert not statuses[name].problem

    def test_check_passes_on_a_healthy_platform(self, harness: Harness) -> None:
        checks = harness.adapter().check()
        assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]

    # --- writing ------------------------------------------------------------------------------

    def test_escalation_lands_in_one_write_and_round_trips(self, harness: Harness) -> None:
        (tid,) = harness.seed(1, priority="P1", tags=["vip", "network"])
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        assert len(changes) == 1
        writes_before = harness.requests("PUT") + harness.requests("POST")
        result = self.write(adapter, policy, changes)[tid]
        assert result.status is WriteStatus.APPLIED, result.message
        assert harness.requests("PUT") + harness.requests("POST") - writes_before <= 2

        view = harness.view(tid)
        assert view.group == "Support L2"
        assert view.priority == "P1"
        assert view.tags >= {"vip", "network", "escalated"}
        assert view.tracking["level"] == "L2"
        assert view.tracking["rule"] == "p1-to-l2"
        assert view.tracking["count"] == "1"
        assert view.tracking["state"], "the state record is written with the change"
        assert view.notes() and "Escalated Printer on fire" in view.notes()[0]
        assert len(view.replies()) == 1 and "We are on it" in view.replies()[0]

        again = self.fetch(adapter, policy)[tid]
        assert again.tracking.level == "L2"
        assert evaluate_ticket(policy, again, self.NOW).change is None, "second run is a no-op"

    def test_tags_added_by_an_agent_meanwhile_survive(self, harness: Harness) -> None:
        (tid,) = harness.seed(1, priority="P1", tags=["vip"])
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        harness.agent_edit(tid, add_tags=["added-by-agent"])
        result = self.write(adapter, policy, changes)[tid]
        assert result.status is WriteStatus.APPLIED, result.message
        assert harness.view(tid).tags >= {"vip", "added-by-agent", "escalated"}

    def test_conflicting_edit_is_reread_and_kept(self, harness: Harness) -> None:
        (tid,) = harness.seed(1, priority="P1")
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        harness.fail("conflict", ticket_id=tid)
        seen: list[Ticket] = []
        results = {r.ticket: r for r in adapter.write(changes, self.reevaluate(policy, seen))}
        assert results[tid].status is WriteStatus.APPLIED, results[tid].message
        assert seen, "the ticket was re-read and re-evaluated"
        view = harness.view(tid)
        assert "conflict-edit" in view.tags, "the agent's edit survived"
        assert view.tracking["level"] == "L2"
        assert len(view.notes()) == 1

    def test_a_stale_plan_replayed_writes_nothing_twice(self, harness: Harness) -> None:
        (tid,) = harness.seed(1, priority="P1")
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        assert self.write(adapter, policy, changes)[tid].status is WriteStatus.APPLIED
        # An overlapping run that read the ticket before our write now writes the same plan.
        replay = self.write(harness.adapter(), policy, changes)[tid]
        assert replay.status is WriteStatus.UNCHANGED, replay.message
        view = harness.view(tid)
        assert len(view.notes()) == 1 and len(view.replies()) == 1
        assert view.tracking["count"] == "1"

    def test_a_write_that_landed_before_a_timeout_is_not_repeated(self, harness: Harness) -> None:
        (tid,) = harness.seed(1, priority="P1")
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        harness.fail("timeout_after_landing", ticket_id=tid)
        result = self.write(adapter, policy, changes)[tid]
        assert result.status in (WriteStatus.APPLIED, WriteStatus.UNCHANGED), result.message
        view = harness.view(tid)
        assert len(view.notes()) == 1, view.comments
        assert len(view.replies()) == 1, view.comments
        assert view.tracking["level"] == "L2"

    def test_a_deleted_ticket_is_skipped_and_the_others_written(self, harness: Harness) -> None:
        ids = harness.seed(3, priority="P1")
        policy, adapter = harness.policy(), harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        harness.delete(ids[1])
        results = self.write(adapter, policy, changes)
        assert results[ids[1]].status is WriteStatus.SKIPPED
        assert results[ids[0]].status is WriteStatus.APPLIED
        assert results[ids[2]].status is WriteStatus.APPLIED
        assert harness.view(ids[2]).tracking["level"] == "L2"
