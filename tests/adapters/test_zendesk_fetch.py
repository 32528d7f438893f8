"""Reading from Zendesk: cursor pages past 1,000, lookups without N+1, history only as needed.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import structlog

from adapters.errors import AdapterError
from rules.model import Actor, EventKind, Ticket
from rules.needs import needs
from tests.adapters.zendesk_harness import ZendeskHarness, policy_with

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EXPORT = r"^/api/v2/search/export$"


def fetch(zd: ZendeskHarness, **settings: object) -> dict[str, Ticket]:
    adapter = zd.adapter(**settings)
    out: dict[str, Ticket] = {}
    for ticket in adapter.fetch(needs(zd.policy()), NOW):
        assert ticket.id not in out
        out[ticket.id] = ticket
    return out


def test_2500_tickets_come_in_three_export_pages_of_1000(zd: ZendeskHarness) -> None:
    ids = zd.seed(2500)
    zd.seed_closed(3)
    tickets = fetch(zd, page_size=1000)
    assert set(tickets) == set(ids)
    assert zd.count("GET", EXPORT) == 3
    # once per run: the OAuth token, users/me, ticket fields, groups; nothing per ticket
    assert zd.requests() == 3 + 4
    assert zd.count("GET", r"^/api/v2/search$") == 0, "the 1,000-capped plain search is not used"


def test_the_export_query_has_no_type_term_and_filters_on_ticket(zd: ZendeskHarness) -> None:
    zd.seed(2)
    fetch(zd, scope="type:ticket status<solved tags:vip")
    export = [c.request for c in zd.rsps.calls if "/search/export" in str(c.request.url)]
    assert export
    url = str(export[0].url)
    assert "filter%5Btype%5D=ticket" in url
    assert "type%3Aticket" not in url and "tags%3Avip" in url


def test_a_scope_selects_candidates(zd: ZendeskHarness) -> None:
    vip = zd.seed(2, tags=["vip"])
    zd.seed(3)
    assert set(fetch(zd, scope="status<solved tags:vip")) == set(vip)


def test_a_page_that_keeps_failing_fails_the_fetch_after_retries(zd: ZendeskHarness) -> None:
    zd.seed(120)
    zd.fail("page_error", times=1000)
    with pytest.raises(AdapterError, match="500"):
        fetch(zd)
    assert zd.count("GET", EXPORT) == 1 + 5  # the first page, then 5 attempts at the second


def test_a_page_without_meta_is_not_taken_for_the_last_one(zd: ZendeskHarness) -> None:
    """A 200 that is not a whole export page (a proxy, a changed API) fails the fetch rather
    than passing the tickets read so far off as every ticket in scope."""
    zd.seed(120)
    zd.emulator.fail(
        "GET", EXPORT, 200, body={"results": []}, when=lambda q: "page[after]" in q, times=99
    )
    with pytest.raises(AdapterError, match=r"without meta\.has_more"):
        fetch(zd, page_size=100)


def test_a_page_that_fails_once_is_retried(zd: ZendeskHarness) -> None:
    ids = zd.seed(120)
    zd.fail("page_error", times=1)
    assert set(fetch(zd)) == set(ids)
    assert zd.slept == [1.0]


def test_people_and_organisations_are_looked_up_in_batches_not_per_ticket(
    zd: ZendeskHarness,
) -> None:
    zd.custom_policy = policy_with(
        "  - name: bigbank\n    when: {requester_domain: [bigbank.example]}\n"
        "    then: {add_tags: [bigbank]}\n"
        "  - name: vip\n    when: {organization_tag: [vip]}\n    then: {add_tags: [vip]}\n"
    )
    emu = zd.emulator
    agents = [emu.add_user(f"Agent {i}", f"agent{i}@acme.example", "agent") for i in range(3)]
    orgs = [emu.add_organization("Big Bank", ["vip"]), emu.add_organization("Small Shop")]
    for i in range(300):
        emu.add_ticket(assignee=agents[i % 3], organization=orgs[i % 2])
    tickets = fetch(zd, page_size=100)
    assert len(tickets) == 300
    # 3 pages; per page the 100 new requesters (+ the 3 agents on page 1) in batches of 100
    assert zd.count("GET", EXPORT) == 3
    assert zd.count("GET", r"^/api/v2/users/show_many$") == 2 + 1 + 1
    assert zd.count("GET", r"^/api/v2/organizations/show_many$") == 1
    assert zd.count("GET", r"^/api/v2/(users|organizations|groups)/\d+$") == 0
    sample = next(t for t in tickets.values() if t.organization and t.organization.tags)
    assert sample.organization is not None and sample.organization.name == "Big Bank"
    assert sample.requester is not None and sample.requester.email
    assert sample.requester.email.endswith("@example.com")
    assert sample.assignee in {f"agent{i}@acme.example" for i in range(3)}
    assert sample.group is None


def test_without_requester_rules_only_assignees_are_looked_up(zd: ZendeskHarness) -> None:
    agent = zd.emulator.add_user("Agent", "agent@acme.example", "agent")
    for _ in range(250):
        zd.emulator.add_ticket(assignee=agent, group="Support L2")
    tickets = fetch(zd, page_size=100)
    assert zd.count("GET", r"^/api/v2/users/show_many$") == 1
    assert zd.count("GET", r"^/api/v2/organizations/show_many$") == 0
    sample = next(iter(tickets.values()))
    assert sample.assignee == "agent@acme.example" and sample.group == "Support L2"
    assert sample.requester is not None and sample.requester.email is None


def test_tracking_and_policy_fields_are_mapped(zd: ZendeskHarness) -> None:
    zd.emulator.add_field("Product", "text")
    zd.custom_policy = policy_with(
        "  - name: billing\n    when: {custom: {Product: [billing]}}\n    then: {add_tags: [b]}\n"
    )
    tid = zd.emulator.add_ticket(
        priority="high",
        fields={
            "Product": "billing",
            "Escalation level": "L2",
            "Escalation count": "2",
            "Escalated at": "2026-03-01T08:00:00Z",
        },
    )
    ticket = fetch(zd)[str(tid)]
    assert ticket.custom == {"Product": "billing"}
    assert ticket.tracking.level == "L2" and ticket.tracking.count == 2
    assert ticket.tracking.escalated_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert (ticket.priority, ticket.priority_rank, ticket.priority_raw) == ("P2", 2, "high")
    assert ticket.url == f"https://acme.zendesk.com/agent/tickets/{tid}"
    assert ticket.history is None


def test_summary_history_comes_in_bulk_from_metric_sets(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(
        "  - name: reopened\n    when: {reopens: {at_least: 1}}\n    then: {escalate: next}\n"
    )
    ids = zd.seed(250)
    reopened = int(ids[7])
    zd.emulator.agent_edit(reopened, {"status": "solved"})
    zd.time.now += 60
    zd.emulator.agent_edit(reopened, {"status": "open"})
    tickets = fetch(zd, page_size=100)
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 3  # 100 + 100 + 50
    assert zd.count("GET", r"/audits$") == 0
    assert tickets[str(reopened)].reopens == 1
    assert tickets[str(reopened)].status_since is not None
    assert tickets[ids[0]].reopens == 0 and tickets[ids[0]].history is None


def test_metric_sets_stripped_from_the_sideload_are_warned_of_once(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(
        "  - name: reopened\n    when: {reopens: {at_least: 1}}\n    then: {escalate: next}\n"
    )
    ids = zd.seed(250)
    zd.emulator.strip_sideloads = True
    with structlog.testing.capture_logs() as logs:
        tickets = fetch(zd, page_size=100)
    assert set(tickets) == set(ids)  # the run goes on, degraded
    warned = [e for e in logs if e["event"] == "metric_sets_missing"]
    assert len(warned) == 1 and warned[0]["log_level"] == "warning"
    assert warned[0]["tickets"] == 100 and "SLA pauses" in warned[0]["effect"]


def test_events_are_read_only_for_tickets_a_history_rule_could_fire_on(
    zd: ZendeskHarness,
) -> None:
    zd.custom_policy = policy_with(
        "  - name: chasing\n    when: {all: [{priority: P1}, {customer_replies: 2}]}\n"
        "    then: {escalate: next}\n"
    )
    zd.seed(40)
    urgent = [int(t) for t in zd.seed(3, priority="P1")]
    emu = zd.emulator
    requester = emu.tickets[urgent[0]]["requester_id"]
    for text in ("still broken", "hello?"):
        zd.time.now += 60
        emu.agent_edit(urgent[0], {"comment": {"body": text, "public": True}}, author=requester)
    tickets = fetch(zd)
    assert zd.count("GET", r"/audits$") == 3, "one audit page per P1 ticket, none for the rest"
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 1  # metric sets for all 43
    chased = tickets[str(urgent[0])]
    assert chased.history is not None
    assert chased.customer_replies == 2
    assert chased.last_customer_comment == "hello?"
    assert tickets[str(urgent[1])].history is not None
    assert all(tickets[t].history is None for t in tickets if int(t) not in urgent)


def test_the_connectors_own_comments_are_marked_connector(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(
        "  - name: chasing\n    when: {customer_replies: 1}\n    then: {add_tags: [c]}\n"
    )
    (tid,) = (int(t) for t in zd.seed(1))
    emu = zd.emulator
    zd.time.now += 60
    emu.agent_edit(tid, {"comment": {"body": "Escalated", "public": False}}, author=emu.me)
    zd.time.now += 60
    emu.agent_edit(tid, {"comment": {"body": "Looking", "public": True}}, author=emu.agent)
    ticket = fetch(zd)[str(tid)]
    assert ticket.history is not None
    comments = [e for e in ticket.history if e.kind is EventKind.COMMENT]
    assert [e.actor for e in comments] == [Actor.CUSTOMER, Actor.CONNECTOR, Actor.AGENT]
    assert ticket.first_response_at is not None  # the agent's public reply
    assert ticket.last_activity_at == ticket.first_response_at
