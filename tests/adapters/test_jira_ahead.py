"""The re-read before each Jira write, read ahead in bulk (`adapters.jira.ahead`): one request
per 100 announced changes (Cloud: issue bulkfetch; Data Center: a `key in` search), and the
re-read's purpose kept: a person's edit made after the plan was read is seen, a ticket gone
since is skipped, a copy gone stale is read again, a failed bulk read falls back to reading
one by one. Every request is checked against the OpenAPI document (the `make` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from adapters.jira.adapter import JiraAdapter
from adapters.jira.ahead import STALE_SECONDS
from adapters.results import WriteResult, WriteStatus
from emulators.jira import Call
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy
from tests.adapters.approval_contract import LEE, MARIA, approval_policy
from tests.adapters.jira_harness import JiraHarness, Make

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FLAVOURS = pytest.mark.parametrize("flavour", ["cloud", "dc"])


def again(policy: Policy) -> Callable[[Ticket], TicketChange | None]:
    return lambda t: evaluate_ticket(policy, t, NOW).change


def plan(h: JiraHarness, adapter: JiraAdapter) -> list[TicketChange]:
    policy = h.policy()
    return [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]


def write(
    h: JiraHarness, adapter: JiraAdapter, changes: list[TicketChange]
) -> dict[str, WriteResult]:
    adapter.expect_writes(changes)
    return {r.ticket: r for r in adapter.write(changes, again(h.policy()))}


def bulk_reads(h: JiraHarness) -> list[Call]:
    if h.flavour == "cloud":
        return h.sent("POST", "/issue/bulkfetch")
    return [r for r in h.sent("GET", "/search") if "key in" in r.query["jql"][0]]


def single_reads(h: JiraHarness) -> list[Call]:
    return [r for r in h.emulator.log if r.method == "GET" and r.path.count("/") == 5]


@FLAVOURS
def test_one_bulk_read_per_100_changes_and_no_single_read(make: Make, flavour: str) -> None:
    h = make(flavour, page_limit=100)
    keys = h.seed(150, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)
    results = write(h, adapter, changes)
    assert all(results[k].status is WriteStatus.APPLIED for k in keys)
    sent = bulk_reads(h)
    assert len(sent) == 2
    if flavour == "cloud":
        assert [len(r.body["issueIdsOrKeys"]) for r in sent] == [100, 50]
        assert "comment" in sent[0].body["fields"]
    else:
        assert sent[0].query["validateQuery"] == ["false"]
    assert single_reads(h) == []
    assert len(h.sent("PUT", "/issue/")) == 150


@FLAVOURS
def test_an_edit_after_the_plan_is_seen_by_the_bulk_reread(make: Make, flavour: str) -> None:
    h = make(flavour)
    first, second = h.seed(2, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)

    def person() -> None:  # between the search and the write
        h.agent_edit(first, priority="P3")
        h.agent_edit(second, add_tags=["vip"])

    h.emulator.conflict(first, person)
    results = write(h, adapter, changes)
    assert results[first].status is WriteStatus.UNCHANGED  # no longer P1: nothing to do
    assert h.sent("PUT", f"/issue/{first}") == []
    assert results[second].status is WriteStatus.APPLIED
    assert {"vip", "escalated"} <= h.view(second).tags
    assert len(bulk_reads(h)) == 1 and single_reads(h) == []


@FLAVOURS
def test_a_ticket_gone_since_the_plan_is_skipped_the_others_written(
    make: Make, flavour: str
) -> None:
    """Data Center's search would refuse the whole `key in` for one missing key, were the
    query validated; a gone issue is read alone, whose 404 skips it."""
    h = make(flavour)
    keys = h.seed(3, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)
    h.delete(keys[1])
    results = write(h, adapter, changes)
    assert results[keys[1]].status is WriteStatus.SKIPPED
    assert results[keys[0]].status is results[keys[2]].status is WriteStatus.APPLIED
    assert len(bulk_reads(h)) == 1
    assert [r.path.rsplit("/", 1)[1] for r in single_reads(h)] == [keys[1]]


def test_a_copy_older_than_the_limit_is_read_again(make: Make) -> None:
    h = make("cloud")
    keys = h.seed(3, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)
    adapter.expect_writes(changes)
    policy = h.policy()
    (done,) = adapter.write(changes[:1], again(policy))
    assert done.status is WriteStatus.APPLIED
    h.time.now += STALE_SECONDS + 1
    h.agent_edit(keys[2], priority="P3")  # seen: the copy read before it is not used
    results = {r.ticket: r for r in adapter.write(changes[1:], again(policy))}
    assert results[keys[1]].status is WriteStatus.APPLIED
    assert results[keys[2]].status is WriteStatus.UNCHANGED
    assert [len(r.body["issueIdsOrKeys"]) for r in bulk_reads(h)] == [3, 2]


@FLAVOURS
def test_a_failed_bulk_read_falls_back_to_single_reads(make: Make, flavour: str) -> None:
    h = make(flavour)
    keys = h.seed(2, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)
    h.emulator.fail(lambda r: r.path.endswith("/bulkfetch") or "key in" in str(r.query), 400)
    results = write(h, adapter, changes)
    assert all(results[k].status is WriteStatus.APPLIED for k in keys)
    assert len(single_reads(h)) == 2


def test_unannounced_writes_read_one_by_one(make: Make) -> None:
    h = make("dc")
    keys = h.seed(2, priority="P1")
    adapter = h.adapter()
    changes = plan(h, adapter)
    results = {r.ticket: r for r in adapter.write(changes, again(h.policy()))}
    assert all(results[k].status is WriteStatus.APPLIED for k in keys)
    assert bulk_reads(h) == [] and len(single_reads(h)) == 2


def test_cloud_reads_the_approvals_of_a_bulk_reread_in_one_request(make: Make) -> None:
    """An issue whose approval field holds a value is verified on its re-read (who set it):
    the approval field's changelogs come with the bulk re-read, one request for them all."""
    h = make("cloud")
    h.use_approvals(approval_policy())
    keys = h.seed(3, priority="P1")
    adapter = h.adapter()
    assert set(write(h, adapter, plan(h, adapter))) == set(keys)  # each asks for approval
    h.approve(keys[0], "approved", by=MARIA)
    h.approve(keys[1], "ok", by=MARIA)
    h.approve(keys[2], MARIA, by=LEE)  # typed by someone else: refused
    adapter = h.adapter()
    changes = plan(h, adapter)
    read = len(h.emulator.log)
    results = write(h, adapter, changes)
    assert {k: r.status for k, r in results.items()} == dict.fromkeys(keys, WriteStatus.APPLIED)
    assert h.view(keys[0]).tracking["level"] == h.view(keys[1]).tracking["level"] == "L2"
    assert h.view(keys[2]).tracking["level"] is None  # refused, still waiting
    sent = h.emulator.log[read:]
    assert [r for r in sent if r.path.endswith("/changelog") and r.method == "GET"] == []
    (bulk,) = [r for r in sent if r.path.endswith("/changelog/bulkfetch")]
    assert sorted(bulk.body["issueIdsOrKeys"]) == sorted(h.emulator.issues[k].id for k in keys)
    assert bulk.body["fieldIds"] == [h.emulator.field_id("Escalation approved by")]
