"""The pure translation: Jira JSON <-> neutral values, tested with plain dicts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.errors import Rejected, SetupError
from adapters.jira.context import Context, People, parse_time
from adapters.jira.events import is_public
from adapters.jira.fields import Catalog, Field, from_jira, text_of, to_jira
from adapters.jira.mapping import finish, stage, to_ticket
from rules.model import Actor, EventKind, StatusCategory
from rules.tracking import Tracking
from tests.adapters.contract import contract_policy

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
LEVEL = Field("customfield_1", "Escalation level", "string", CF + "textfield")
COUNT = Field("customfield_2", "Escalation count", "number", CF + "float")
DUE = Field("customfield_3", "SLA due", "datetime", CF + "datetime")
TEAM = Field("customfield_4", "Support team", "option", CF + "select")
NOTES = Field("customfield_5", "Notes", "string", CF + "textarea")
ME = {"accountId": "me", "accountType": "app", "displayName": "Bot"}
AGENT = {
    "accountId": "a1",
    "accountType": "atlassian",
    "displayName": "Ann",
    "emailAddress": "ann@example.com",
}
CUSTOMER = {"accountId": "c1", "accountType": "customer", "displayName": "Cy"}


def ctx(**kw: Any) -> Context:
    values: dict[str, Any] = {
        "instance": "jira",
        "base_url": "https://acme.atlassian.net",
        "policy": contract_policy(),
        "tracking": {"level": LEVEL, "count": COUNT, "sla_due": DUE},
        "group": TEAM,
        "people": People("me", {"ann": "a1"}),
    }
    return Context(**(values | kw))


def issue(**fields: Any) -> dict[str, Any]:
    base = {
        "summary": "Printer on fire",
        "status": {"name": "In Review", "statusCategory": {"key": "indeterminate"}},
        "priority": {"name": "Highest", "id": "1"},
        "labels": ["vip"],
        "assignee": AGENT,
        "reporter": CUSTOMER,
        "created": "2026-03-02T08:00:00.000+0100",
        "updated": "2026-03-02T09:30:00.000+0000",
        "statuscategorychangedate": "2026-03-02T09:00:00.000+0000",
        "customfield_1": "L2",
        "customfield_2": 3.0,
        "customfield_3": "2026-03-02T12:00:00.000+0000",
        "customfield_4": {"value": "Support L2", "id": "10101"},
    }
    return {"id": "10001", "key": "SUP-1", "fields": base | fields}


def test_an_issue_maps_to_a_neutral_ticket() -> None:
    t = to_ticket(issue(), ctx())
    assert (t.id, t.url) == ("SUP-1", "https://acme.atlassian.net/browse/SUP-1")
    assert (t.priority, t.priority_rank, t.priority_raw) == ("P1", 1, "Highest")
    assert t.status_category is StatusCategory.OPEN  # from Jira's category, unmapped name
    assert t.group == "Support L2" and t.assignee == "ann"  # as the users map names her
    assert t.requester is not None and t.requester.id == "c1"
    assert t.created_at == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert t.status_since == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert t.tracking.level == "L2" and t.tracking.count == 3
    assert t.tracking.sla_due == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert t.history is None


def test_tracking_fields_all_null_or_empty_read_as_never_escalated() -> None:
    """A never-escalated issue (its tracking fields null) shares the one empty value; an empty
    text or list reads the same; a zero is a value (parsed as before)."""
    empty = {"customfield_1": None, "customfield_2": None, "customfield_3": None}
    assert to_ticket(issue(**empty), ctx()).tracking == Tracking.parse({})
    blank = empty | {"customfield_1": "", "customfield_3": []}
    assert to_ticket(issue(**blank), ctx()).tracking == Tracking.parse({})
    zero = to_ticket(issue(**empty | {"customfield_2": 0.0}), ctx()).tracking
    assert zero == Tracking.parse({"count": "0"}) and zero.count == 0


def test_done_category_and_missing_values_degrade_quietly() -> None:
    raw = issue(
        status={"name": "Resolved", "statusCategory": {"key": "done"}},
        priority=None,
        assignee=None,
        customfield_4=None,
        created="garbage",
    )
    t = to_ticket(raw, ctx())
    assert t.status_category.done and t.priority is None and t.assignee is None
    assert t.group is None and t.created_at.tzinfo is not None


def test_history_marks_who_did_what() -> None:
    raw = issue(
        comment={
            "comments": [
                {
                    "id": "1",
                    "author": AGENT,
                    "body": {
                        "type": "doc",
                        "version": 1,
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "On it"}]}
                        ],
                    },
                    "created": "2026-03-02T08:10:00.000+0000",
                    "jsdPublic": True,
                },
                {
                    "id": "2",
                    "author": AGENT,
                    "body": "internal",
                    "jsdPublic": False,
                    "created": "2026-03-02T08:20:00.000+0000",
                },
                {
                    "id": "3",
                    "author": CUSTOMER,
                    "body": "Still broken",
                    "created": "2026-03-02T08:30:00.000+0000",
                },
            ],
            "total": 3,
        }
    )
    log = [
        {
            "author": ME,
            "created": "2026-03-02T08:05:00.000+0000",
            "items": [{"fieldId": "priority", "toString": "Highest"}],
        },
        {
            "author": AGENT,
            "created": "2026-03-02T08:06:00.000+0000",
            "items": [
                {"fieldId": "status", "to": "3", "toString": "Done"},
                {"fieldId": "customfield_4", "toString": "Support L2"},
            ],
        },
        {
            "author": CUSTOMER,
            "created": "2026-03-02T08:07:00.000+0000",
            "items": [{"field": "status", "to": "1", "toString": "Open"}],
        },
        {
            "created": "2026-03-02T08:08:00.000+0000",
            "items": [{"fieldId": "assignee", "toString": "Ann"}],
        },
    ]
    t = to_ticket(raw, ctx(people=People("me"), statuses={"3": "done", "1": "new"}), log)
    assert t.history is not None
    seen = [(e.kind, e.actor, e.public) for e in t.history]
    assert seen == [
        (EventKind.COMMENT, Actor.CUSTOMER, True),  # the opening message, at creation
        (EventKind.PRIORITY, Actor.CONNECTOR, True),  # ours, though our account is an app
        (EventKind.STATUS, Actor.AGENT, True),
        (EventKind.GROUP, Actor.AGENT, True),
        (EventKind.STATUS, Actor.CUSTOMER, True),
        (EventKind.ASSIGNEE, Actor.SYSTEM, True),  # no author: automation
        (EventKind.COMMENT, Actor.AGENT, True),
        (EventKind.COMMENT, Actor.AGENT, False),  # JSM internal
        (EventKind.COMMENT, Actor.CUSTOMER, True),
    ]
    assert t.reopens == 1 and t.first_response_at == datetime(2026, 3, 2, 8, 10, tzinfo=UTC)
    assert t.customer_replies == 1 and t.last_customer_comment == "Still broken"
    assert t.status_since == datetime(2026, 3, 2, 8, 7, tzinfo=UTC)
    # A sweep renders only the text the engine reads; the rest of the ticket is the same.
    swept = to_ticket(
        raw, ctx(people=People("me"), statuses={"3": "done", "1": "new"}), log, texts=False
    )
    assert swept.history is not None
    assert [e.text for e in swept.history if e.kind is EventKind.COMMENT] == [
        None,
        None,
        None,
        "Still broken",
    ]
    assert [e.text for e in t.history if e.kind is EventKind.COMMENT] == [
        None,  # no description
        "On it",
        "internal",
        "Still broken",
    ]
    assert replace(swept, history=None) == replace(t, history=None)


def test_a_staged_issue_finishes_as_the_issue_mapped_at_once() -> None:
    """A Cloud sweep maps each issue as its page comes and adds its changelog later (`stage`,
    `finish`): the ticket is the one `to_ticket` makes of the whole, events in the same order
    (ties too: a comment and a change at the description's instant), the same text read."""
    at = "2026-03-02T07:00:00.000+0000"  # the creation instant of `issue()`
    said = [
        {"id": "1", "author": CUSTOMER, "body": "Also this", "created": at},
        {"id": "2", "author": AGENT, "body": "On it", "created": "2026-03-02T08:10:00.000+0000"},
        {"id": "3", "author": CUSTOMER, "body": "Thanks", "created": at},
    ]
    raw = issue(description="It burns", comment={"comments": said, "total": 3})
    log = [
        {"author": AGENT, "created": at, "items": [{"fieldId": "status", "to": "1"}]},
        {"author": ME, "created": at, "items": [{"fieldId": "priority", "toString": "High"}]},
    ]
    c = ctx(people=People("me"), statuses={"1": "new"})
    whole = to_ticket(raw, c, log, texts=False)
    assert finish(stage(raw, c), log, c) == whole
    assert whole.history is not None and whole.last_customer_comment == "Thanks"
    assert [e.kind for e in whole.history if e.at == whole.created_at][:3] == [
        EventKind.COMMENT,  # the opening message
        EventKind.STATUS,
        EventKind.PRIORITY,
    ]
    bare = issue(comment={"comments": [], "total": 0}, created=None)
    assert finish(stage(bare, c), log, c) == to_ticket(bare, c, log, texts=False)


def test_history_starts_with_what_each_changed_field_held_at_creation() -> None:
    """A changelog item says what it replaced: the earliest one per field gives the value at
    creation, as a system event then (Zendesk's creation audit says the same), so a replay
    knows the priority before the first change instead of assuming the changed one."""
    log = [
        {
            "author": AGENT,
            "created": "2026-03-02T08:30:00.000+0000",
            "items": [
                {"fieldId": "priority", "fromString": "Highest", "toString": "High"},
                {
                    "fieldId": "status",
                    "from": "3",
                    "fromString": "Done",
                    "to": "1",
                    "toString": "Open",
                },
            ],
        },
        {
            "author": AGENT,
            "created": "2026-03-02T08:05:00.000+0000",  # earlier, though listed later
            "items": [
                {"fieldId": "priority", "fromString": "Medium", "toString": "Highest"},
                {"fieldId": "assignee", "fromString": None, "toString": "Ann"},
                {"fieldId": "status", "from": "1", "fromString": "Open", "to": "3"},
            ],
        },
    ]
    raw = issue(comment={"comments": [], "total": 0})
    t = to_ticket(raw, ctx(statuses={"3": "done", "1": "new"}), log, initial=True)
    live = to_ticket(raw, ctx(statuses={"3": "done", "1": "new"}), log)  # a run: none of them
    assert live.history is not None and all(e.actor is not Actor.SYSTEM for e in live.history)
    assert t.history is not None
    created = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    initial = {e.kind: e for e in t.history if e.at == created and e.actor is Actor.SYSTEM}
    assert initial[EventKind.PRIORITY].value == "Medium"
    assert initial[EventKind.ASSIGNEE].value is None  # unassigned at creation
    assert initial[EventKind.STATUS].value == "Open"
    assert initial[EventKind.STATUS].category is StatusCategory.OPEN  # Jira's "new" key
    assert t.reopens == 1  # Done -> Open at 08:30; the initial Open is not a reopen


@pytest.mark.parametrize(
    ("user", "actor"),
    [
        (ME, Actor.CONNECTOR),
        ({"accountId": "auto", "accountType": "app"}, Actor.SYSTEM),
        (CUSTOMER, Actor.CUSTOMER),
        ({"accountId": "r1", "accountType": "atlassian"}, Actor.CUSTOMER),  # the reporter
        (AGENT, Actor.AGENT),
        ({"name": "jdoe", "key": "JIRAUSER1"}, Actor.AGENT),  # Data Center
        (None, Actor.SYSTEM),
    ],
)
def test_actors(user: Any, actor: Actor) -> None:
    assert People("me").actor(user, reporter="r1") is actor


def test_comment_visibility() -> None:
    assert is_public({"body": "x"})
    assert not is_public({"jsdPublic": False})
    assert not is_public({"visibility": {"type": "role", "value": "Developers"}})
    assert not is_public(
        {"properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}
    )


@pytest.mark.parametrize(
    ("field", "value", "cloud", "expected"),
    [
        (LEVEL, "L2", True, "L2"),
        (COUNT, "3", True, 3),
        (COUNT, "2.5", False, 2.5),
        (DUE, "2026-03-02T08:00:00Z", True, "2026-03-02T08:00:00.000+0000"),
        (Field("d", "Due", "date"), "2026-03-02T23:30:00-05:00", True, "2026-03-03"),
        (TEAM, "Support L2", True, {"value": "Support L2"}),
        (Field("g", "Team", "group", CF + "grouppicker"), "l2", True, {"name": "l2"}),
        (Field("m", "Tags", "array", CF + "multiselect", "option"), ["a"], True, [{"value": "a"}]),
        (NOTES, "a note", False, "a note"),
        (LEVEL, None, True, None),
    ],
)
def test_values_are_written_in_the_fields_format(
    field: Field, value: Any, cloud: bool, expected: Any
) -> None:
    assert to_jira(field, value, cloud=cloud) == expected


def test_a_textarea_takes_adf_on_cloud_and_odd_types_are_refused() -> None:
    assert to_jira(NOTES, "a note", cloud=True)["type"] == "doc"
    with pytest.raises(Rejected, match="takes a number"):
        to_jira(COUNT, "many", cloud=True)
    with pytest.raises(Rejected, match="cannot write"):
        to_jira(Field("u", "Owner", "user"), "x", cloud=True)


def test_values_read_back_as_text() -> None:
    assert text_of(1.0) == "1" and text_of({"value": "L2"}) == "L2" and text_of(None) is None
    assert from_jira({"value": "A", "child": {"value": "B"}}) == "A - B"
    assert from_jira([{"name": "x"}, {"value": "y"}]) == ["x", "y"]
    assert parse_time("2026-03-02T08:00:00.000+0000") == datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_catalog_finds_by_name_and_refuses_ambiguity() -> None:
    catalog = Catalog(
        [
            {"id": "customfield_1", "name": "Escalation level", "schema": {"type": "string"}},
            {"id": "customfield_2", "name": "Team", "schema": {"type": "option"}},
            {"id": "customfield_3", "name": "team", "schema": {"type": "string"}},
        ]
    )
    found = catalog.find("escalation LEVEL")
    assert found is not None and found.id == "customfield_1"
    team = catalog.find("Team")
    assert team is not None and team.id == "customfield_2"  # the exact spelling wins
    assert catalog.find("Nope") is None
    with pytest.raises(SetupError, match="2 fields named 'TEAM'"):
        catalog.find("TEAM")


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        (People(users={"ann": "a1"}), "ann"),  # the users map names her
        (People(known=frozenset({"a1"})), "a1"),  # the policy uses her accountId
        (People(known=frozenset({"ann@example.com"})), "ann@example.com"),
        (People(), "ann@example.com"),  # Cloud, email visible
    ],
)
def test_an_assignee_reads_back_in_the_policys_vocabulary(people: People, expected: str) -> None:
    assert people.label(AGENT) == expected
    assert People().label({"accountId": "a2"}) == "a2"  # email hidden
    assert (
        People(known=frozenset({"j@x.org"})).label({"name": "jdoe", "emailAddress": "j@x.org"})
        == "j@x.org"
    )
    assert People().label({"name": "jdoe", "emailAddress": "j@x.org"}) == "jdoe"  # DC
