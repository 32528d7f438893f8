"""The pure translation: Zendesk JSON -> neutral tickets, engine changes -> update bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.errors import Rejected
from adapters.zendesk.body import job_item, reply_body, update_body, whole_tags
from adapters.zendesk.fields import FieldMap
from adapters.zendesk.mapping import (
    Context,
    People,
    events_from_audits,
    summary_from_metrics,
    to_ticket,
)
from rules.engine import evaluate_ticket
from rules.model import Actor, EventKind, StatusCategory, Ticket
from rules.plan import Diff, TicketChange
from rules.policy import Policy, load_policy
from tests.adapters.contract import contract_policy
from tests.adapters.zendesk_harness import policy_with

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BASE = "https://acme.zendesk.com"
ME, AGENT, CUSTOMER, CC = 900, 901, 902, 903


def people() -> People:
    return People(
        groups={11: "Support L1", 12: "Support L2"},
        users={
            ME: {"id": ME, "name": "Bot", "email": "bot@acme.example", "role": "admin"},
            AGENT: {"id": AGENT, "name": "Ann", "email": "ann@acme.example", "role": "agent"},
            CUSTOMER: {
                "id": CUSTOMER,
                "name": "Cy",
                "email": "cy@bank.example",
                "role": "end-user",
            },
            CC: {"id": CC, "name": "Cc", "email": "cc@bank.example", "role": "end-user"},
        },
        organizations={77: {"id": 77, "name": "Big Bank", "tags": ["vip"]}},
        me=ME,
    )


def context(policy: Policy | None = None) -> Context:
    tracking = {"level": 501, "count": 502, "state": 503, "escalated_at": 504, "rule": 505}
    return Context("zd", BASE, policy or contract_policy(), people(), tracking, {"Product": 601})


FIELDS = FieldMap(
    tracking={"level": 501, "count": 502, "state": 503, "escalated_at": 504, "rule": 505},
    custom={"Product": 601},
    types={501: "text", 502: "integer", 503: "text", 504: "text", 505: "text", 601: "text"},
)


def raw(**overrides: Any) -> dict[str, Any]:
    """A ticket as the API returns it (fields from the OpenAPI TicketObject)."""
    data: dict[str, Any] = {
        "id": 35436,
        "url": f"{BASE}/api/v2/tickets/35436.json",
        "subject": "Help, my printer is on fire!",
        "raw_subject": "Help, my printer is on fire!",
        "status": "open",
        "priority": "urgent",
        "type": "incident",
        "requester_id": CUSTOMER,
        "submitter_id": CUSTOMER,
        "assignee_id": AGENT,
        "organization_id": 77,
        "group_id": 11,
        "tags": ["enterprise", "other_tag"],
        "custom_fields": [
            {"id": 501, "value": None},
            {"id": 502, "value": None},
            {"id": 601, "value": "billing"},
        ],
        "created_at": "2026-03-02T08:00:00Z",
        "updated_at": "2026-03-02T09:00:00Z",
        "via": {"channel": "web"},
    }
    data.update(overrides)
    return data


def ticket(policy: Policy | None = None, **overrides: Any) -> Ticket:
    return to_ticket(raw(**overrides), context(policy))


def change(policy: Policy, **overrides: Any) -> TicketChange:
    made = evaluate_ticket(policy, ticket(policy, **overrides), NOW).change
    assert made is not None
    return made


def body(policy: Policy, made: TicketChange, users: dict[str, int] | None = None) -> dict[str, Any]:
    return update_body(
        made,
        policy=policy,
        fields=FIELDS,
        people=people(),
        users=users or {},
        tags=made.tags_read,
    )


# --- reading -------------------------------------------------------------------------------------


def test_a_ticket_maps_to_the_neutral_model() -> None:
    t = ticket()
    assert (t.id, t.platform, t.instance) == ("35436", "zendesk", "zd")
    assert t.url == f"{BASE}/agent/tickets/35436"
    assert t.title == "Help, my printer is on fire!"
    assert (t.priority, t.priority_rank, t.priority_raw) == ("P1", 1, "urgent")
    assert t.status_category is StatusCategory.OPEN and t.type == "incident"
    assert t.group == "Support L1" and t.assignee == "ann@acme.example"
    assert t.requester is not None and t.requester.domain == "bank.example"
    assert t.organization is not None and t.organization.tags == {"vip"}
    assert t.tags == {"enterprise", "other_tag"}
    assert t.custom == {"Product": "billing"}
    assert t.updated_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "priority", "category"),
    [
        ({"priority": None}, None, StatusCategory.OPEN),
        ({"priority": "whatever"}, None, StatusCategory.OPEN),
        ({"status": "hold"}, "P1", StatusCategory.HOLD),
        ({"status": "solved"}, "P1", StatusCategory.SOLVED),
    ],
)
def test_odd_values_degrade(
    overrides: dict[str, Any], priority: str | None, category: StatusCategory
) -> None:
    t = ticket(**overrides)
    assert t.priority == priority and t.status_category is category


def test_unknown_people_and_groups_keep_their_ids() -> None:
    t = ticket(assignee_id=4242, group_id=999, organization_id=None)
    assert t.assignee == "4242" and t.group is None and t.organization is None


def test_a_metric_set_gives_the_summary() -> None:
    created = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    metrics = {
        "reopens": 2,
        "status_updated_at": "2026-03-02T09:30:00Z",
        "reply_time_in_minutes": {"calendar": 45, "business": 30},
        "requester_updated_at": "2026-03-02T09:40:00Z",
        "assignee_updated_at": "2026-03-02T09:00:00Z",
    }
    out = summary_from_metrics(metrics, created, datetime(2026, 3, 2, 9, 45, tzinfo=UTC))
    assert out["reopens"] == 2
    assert out["status_since"] == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert out["first_response_at"] == datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
    assert out["awaiting_reply_since"] == datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
    answered = {**metrics, "assignee_updated_at": "2026-03-02T09:50:00Z"}
    assert "awaiting_reply_since" not in summary_from_metrics(answered, created, created)


def test_audits_become_events_with_who_did_them() -> None:
    audits = [
        {
            "created_at": "2026-03-02T08:00:00Z",
            "author_id": CUSTOMER,
            "events": [
                {"type": "Create", "field_name": "status", "value": "new"},
                {"type": "Comment", "author_id": CUSTOMER, "body": "Fire!", "public": True},
            ],
        },
        {
            "created_at": "2026-03-02T08:10:00Z",
            "author_id": AGENT,
            "events": [
                {
                    "type": "Change",
                    "field_name": "status",
                    "value": "solved",
                    "previous_value": "new",
                    "via": {"channel": "rule", "source": {"rel": "trigger"}},
                },
                {"type": "Comment", "author_id": CC, "body": "me too", "public": True},
            ],
        },
        {
            "created_at": "2026-03-02T08:20:00Z",
            "author_id": ME,
            "events": [
                {"type": "Change", "field_name": "group_id", "value": 12, "previous_value": 11},
                {"type": "Comment", "author_id": ME, "body": "Escalated", "public": False},
                {"type": "Notification", "body": "sent"},
            ],
        },
        {
            "created_at": "2026-03-02T08:30:00Z",
            "author_id": -1,
            "events": [
                {
                    "type": "Change",
                    "field_name": "status",
                    "value": "open",
                    "previous_value": "solved",
                }
            ],
        },
    ]
    events = events_from_audits(audits, contract_policy(), people(), CUSTOMER)
    kinds = [(e.kind, e.actor, e.value) for e in events]
    assert kinds == [
        (EventKind.STATUS, Actor.CUSTOMER, "new"),
        (EventKind.COMMENT, Actor.CUSTOMER, None),
        (EventKind.STATUS, Actor.SYSTEM, "solved"),
        (EventKind.COMMENT, Actor.CUSTOMER, None),
        (EventKind.GROUP, Actor.CONNECTOR, "Support L2"),  # by name, as the ticket's group
        (EventKind.COMMENT, Actor.CONNECTOR, None),
        (EventKind.STATUS, Actor.SYSTEM, "open"),
    ]
    assert events[2].category is StatusCategory.SOLVED
    assert not events[5].public and events[5].text == "Escalated"
    with_history = to_ticket(raw(), context(), audits=audits)
    assert with_history.reopens == 1 and with_history.customer_replies == 1
    assert with_history.last_customer_comment == "me too"


def test_audit_groups_and_assignees_are_named_as_the_ticket_names_them() -> None:
    """The audits hold ids; a backtest replays the group and assignee from these events, and
    compares them with the policy's group names and people (e-mail): ids there never matched."""
    audits = [
        {
            "created_at": "2026-03-02T08:00:00Z",
            "author_id": AGENT,
            "events": [
                {"type": "Change", "field_name": "group_id", "value": 11, "previous_value": 12},
                {"type": "Change", "field_name": "assignee_id", "value": AGENT},
                {"type": "Change", "field_name": "group_id", "value": 99},  # deleted since
                {"type": "Change", "field_name": "assignee_id", "value": None},
            ],
        }
    ]
    events = events_from_audits(audits, contract_policy(), people(), CUSTOMER)
    assert [(e.kind, e.value) for e in events] == [
        (EventKind.GROUP, "Support L1"),
        (EventKind.ASSIGNEE, "ann@acme.example"),
        (EventKind.GROUP, "99"),
        (EventKind.ASSIGNEE, None),
    ]


# --- writing -------------------------------------------------------------------------------------


def test_an_escalation_becomes_one_update_body() -> None:
    policy = contract_policy()
    made = change(policy, assignee_id=None)
    out = body(policy, made)
    assert out["group_id"] == 12
    # the whole list, as read plus the addition: a single update ignores `additional_tags`
    assert made.tags_read == {"enterprise", "other_tag"}
    assert out["tags"] == ["enterprise", "escalated", "other_tag"]
    assert "additional_tags" not in out and "remove_tags" not in out
    item = job_item(out, made)  # an update_many item edits the tags instead
    assert item["additional_tags"] == ["escalated"] and "tags" not in item
    assert out["comment"] == {"body": "Escalated Help, my printer is on fire\\!", "public": False}
    values = {f["id"]: f["value"] for f in out["custom_fields"]}
    assert values[501] == "L2" and values[502] == 1 and values[505] == "p1-to-l2"
    assert out["safe_update"] is True and out["updated_stamp"] == "2026-03-02T09:00:00Z"
    assert reply_body(made) == {"comment": {"body": "We are on it", "public": True}}


def test_whole_tags_swap_a_drop_down_fields_option_tag() -> None:
    fields = FieldMap(custom={"Area": 701, "Team": 702}, types={701: "tagger", 702: "text"})
    made = TicketChange(
        instance="z",
        ticket="1",
        platform="zendesk",
        url="",
        ticket_updated_at=NOW,
        level_from="L1",
        level_to="L1",
        add_tags=("escalated",),
        remove_tags=("triage",),
        fields={"Area": Diff("area_billing", "area_checkout"), "Team": Diff("a", "b")},
    )
    read = ["area_billing", "triage", "vip", "a"]
    assert whole_tags(made, read, fields) == ["a", "area_checkout", "escalated", "vip"]
    with pytest.raises(ValueError, match="tags are needed"):
        update_body(made, policy=contract_policy(), fields=fields, people=people(), users={})


def test_an_unknown_group_is_refused_by_name() -> None:
    policy = policy_with(
        "  - name: p1\n    when: {priority: P1}\n    then: {assign: {group: Nowhere}}\n"
    )
    with pytest.raises(Rejected, match="no Zendesk group named 'Nowhere'"):
        body(policy, change(policy))


def test_an_unknown_assignee_is_refused_with_how_to_fix_it() -> None:
    policy = policy_with(
        "  - name: p1\n    when: {priority: P1}\n    then: {assign: {assignee: Kim}}\n"
    )
    with pytest.raises(Rejected, match="users"):
        body(policy, change(policy))
    assert body(policy, change(policy), users={"kim": 7})["assignee_id"] == 7


def test_an_assignee_email_not_seen_yet_goes_as_assignee_email() -> None:
    policy = policy_with(
        "  - name: p1\n    when: {priority: P1}\n    then: {assign: {assignee: kim@acme.example}}\n"
    )
    assert body(policy, change(policy))["assignee_email"] == "kim@acme.example"


def test_a_priority_zendesk_does_not_have_is_refused() -> None:
    odd = load_policy(
        "levels: [{name: L1}]\n"
        "rules: [{name: up, when: {priority: P2}, then: {priority: {at_least: P1}}}]\n"
        "platforms: {zendesk: {priorities: {critical: P1, high: P2, normal: P3, low: P4},"
        " fields: {level: Escalation level, state: Escalation state}}}\n",
        "odd.yaml",
    )
    with pytest.raises(Rejected, match="'critical'"):
        body(odd, change(odd, priority="high"))


def test_notify_adds_followers_and_names_everyone_in_the_note() -> None:
    policy = policy_with(
        "  - name: p1\n    when: {priority: P1}\n"
        "    then: {note: handoff, notify: [ann@acme.example, boss@acme.example, managers]}\n"
    )
    out = body(policy, change(policy))
    assert out["followers"] == [
        {"user_id": str(AGENT), "action": "put"},
        {"user_email": "boss@acme.example", "action": "put"},
    ]
    assert out["comment"]["body"].endswith(
        "Notify: ann@acme\\.example, boss@acme\\.example, managers"
    )
