"""`escalate setup` on Zendesk: the "Escalated tickets" view and the read-only field inspection.

Every request is answered by the emulator and validated against the OpenAPI document (the
Create View body against the schema its description documents, see tests/specs/extract.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.results import FieldStatus, Queue
from adapters.setup import Request as Request_
from adapters.setup import fill
from adapters.zendesk.queue import view_body
from emulators.http import Request
from tests.adapters.zendesk_harness import BASE_URL, ZendeskHarness, policy_with

DEFINITION = (
    "status < solved AND 'Escalation level' is present AND 'Escalation level' is not 'L1';"
    " sorted by 'SLA due' ascending"
)


def ours(h: ZendeskHarness) -> list[dict[str, object]]:
    return [v for v in h.emulator.views.values() if v["title"] == "Escalated tickets"]


def test_without_create_a_missing_view_is_only_described(zd: ZendeskHarness) -> None:
    assert zd.adapter().queue() == Queue("view", "Escalated tickets", None, definition=DEFINITION)
    assert zd.count("POST", r"/views$") == 0


def test_the_view_is_created_once_and_then_found(zd: ZendeskHarness) -> None:
    made = zd.adapter().queue(create=True)
    (view,) = ours(zd)
    assert made == Queue(
        "view",
        "Escalated tickets",
        str(view["id"]),
        url=f"{BASE_URL}/agent/filters/{view['id']}",
        definition=DEFINITION,
        created=True,
    )
    level, sla = zd.emulator.field_id("Escalation level"), zd.emulator.field_id("SLA due")
    assert view["conditions"] == {
        "all": [
            {"field": "status", "operator": "less_than", "value": "solved"},
            {"field": f"custom_fields_{level}", "operator": "present"},
            {"field": f"custom_fields_{level}", "operator": "is_not", "value": "L1"},
        ],
        "any": [],
    }
    execution = view["execution"]
    assert isinstance(execution, dict)
    assert [c["id"] for c in execution["columns"]][-2:] == [level, sla]
    assert execution["sort"] == {
        "id": sla,
        "title": "SLA due",
        "type": "text",
        "url": f"{BASE_URL}/api/v2/ticket_fields/{sla}.json",
        "order": "asc",
    }
    assert view["restriction"] is None  # every agent sees it

    again = zd.adapter().queue(create=True)
    assert again == Queue(
        "view",
        "Escalated tickets",
        made.id,
        url=made.url,
        definition=f"status less_than solved AND custom_fields_{level} present AND"
        f" custom_fields_{level} is_not L1",
        created=False,
    )
    assert len(ours(zd)) == 1 and zd.count("POST", r"/views$") == 1


def test_an_existing_view_is_found_among_many_and_left_alone(zd: ZendeskHarness) -> None:
    for i in range(150):  # two pages of views
        zd.emulator.views[10_000 + i] = {"id": 10_000 + i, "title": f"View {i}", "active": True}
    zd.emulator.views[20_000] = {"id": 20_000, "title": "Escalated tickets", "active": True}
    found = zd.adapter().queue(create=True)
    assert (found.id, found.created, found.problem) == ("20000", False, "")
    assert found.url == f"{BASE_URL}/agent/filters/20000"
    assert zd.count("GET", r"/views$") == 2 and zd.count("POST", r"/views$") == 0


def test_an_inactive_view_is_reported_not_duplicated(zd: ZendeskHarness) -> None:
    zd.emulator.views[20_000] = {"id": 20_000, "title": "Escalated tickets", "active": False}
    found = zd.adapter().queue(create=True)
    assert found.id == "20000"
    assert found.problem == (
        "the view is inactive: activate it in Admin Center > Workspaces > Agent tools > Views"
    )
    assert zd.count("POST", r"/views$") == 0


def test_an_agent_gets_the_fix_instead_of_a_403_error(zd: ZendeskHarness) -> None:
    zd.emulator.clients["escalation-connector"] = ("client-secret-value", zd.emulator.agent)
    queue = zd.adapter().queue(create=True)
    assert queue == Queue(
        "view",
        "Escalated tickets",
        None,
        definition=DEFINITION,
        problem="POST /api/v2/views answered 403: only an admin (or an agent whose role may"
        " manage shared views) can list and create shared views. Run `escalate setup` with an"
        " admin's credentials, or create the view by hand in Admin Center > Workspaces > Agent"
        f" tools > Views: {DEFINITION}",
    )
    assert not ours(zd)


def test_the_view_waits_for_the_tracking_fields(zd: ZendeskHarness) -> None:
    zd.emulator.fields.pop(zd.emulator.field_id("Escalation level"))
    queue = zd.adapter().queue(create=True)
    assert queue.id is None and queue.problem == (
        "the tracking field 'Escalation level' is not usable yet: create the tracking fields"
        " first (escalate setup does)"
    )
    assert zd.count("POST", r"/views$") == 0


def test_a_create_that_timed_out_after_landing_is_found_not_repeated(zd: ZendeskHarness) -> None:
    zd.emulator.timeout_after_landing("POST", r"/views$")
    queue = zd.adapter().queue(create=True)
    assert queue.created and queue.id == str(ours(zd)[0]["id"])
    assert len(ours(zd)) == 1 and zd.count("POST", r"/views$") == 1


@pytest.mark.parametrize(
    ("change", "description"),
    [
        (lambda v: v["all"].pop(0), "View must test for at least one of the following"),
        (lambda v: v["output"].update(sort_by="description"), "is not a sortable column"),
        (lambda v: v["output"]["columns"].extend(range(5)), "is not a ticket field"),
        (lambda v: v["all"][1].update(operator="less_than"), "operator 'less_than'"),
    ],
)
def test_the_emulator_refuses_views_zendesk_would_refuse(
    zd: ZendeskHarness, change: object, description: str
) -> None:
    body = view_body(zd.emulator.field_id("Escalation level"), "L1", None)
    change(body["view"])  # type: ignore[operator]
    zd.emulator.bearer["t"] = (zd.emulator.me, None)  # an admin's OAuth token
    status, _, raw = zd.emulator.handle(
        Request(
            "POST", "/api/v2/views", {}, {"Authorization": "Bearer t"}, json.dumps(body).encode()
        )
    )
    assert status == 422 and description in raw.decode()
    assert not zd.emulator.views


def test_inspect_fields_reports_each_problem_and_writes_nothing(zd: ZendeskHarness) -> None:
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    zd.emulator.fields[zd.emulator.field_id("Escalated at")]["type"] = "date"
    zd.emulator.fields[zd.emulator.field_id("Escalation rule")]["active"] = False
    statuses = {s.name: s for s in zd.adapter().inspect_fields()}
    assert statuses["sla_due"] == FieldStatus("sla_due", "SLA due", None, "missing")
    assert statuses["escalated_at"].problem == (
        "it is a date field (date fields hold days only); the connector needs a text field"
    )
    assert statuses["rule"].problem == (
        "the field is inactive: activate it in Admin Center > Objects and rules > Fields"
    )
    assert statuses["level"].id and not statuses["level"].problem
    assert {m for m, _ in zd.emulator.log} == {"GET", "POST"}  # POST: the OAuth token only
    assert zd.count("POST", r"/ticket_fields$") == 0


POLICY_RULES = (
    "  - name: asks\n    when: {customer_request: {field: Escalate to a manager}}\n"
    "    then: {add_tags: [asked]}\n"
    "  - name: score\n    when: {custom: {Area: network}}\n    then: {set_fields: {Score: 2}}\n"
)


def test_policy_fields_are_created_with_the_type_the_policy_implies(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(POLICY_RULES)
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    plan = zd.adapter().setup_plan()
    kinds = {s.title: s.summary for s in plan.steps if s.what == "field"}
    assert kinds == {
        "SLA due": "text",
        "Area": "text",
        "Escalate to a manager": "checkbox",  # a customer's yes/no
        "Score": "decimal",  # the policy writes a number
    }
    (view,) = [s for s in plan.steps if s.what == "view"]
    assert view.needs == ("SLA due",)
    assert view.request.body["view"]["output"]["sort_by"] == "<id of SLA due>"
    assert zd.count("POST", r"/ticket_fields$") == 0, "a plan sends nothing"

    done = zd.adapter().setup_apply(plan)
    assert all(d.id and not d.problem for d in done)
    sla = int(next(d.id for d in done if d.step.title == "SLA due"))
    assert done[-1].sent == Request_(
        "POST", "/api/v2/views", fill(view.request.body, {"SLA due": sla})
    )
    (made,) = ours(zd)
    assert made["execution"]["sort"]["id"] == sla  # type: ignore[index]
    types = {f["title"]: f["type"] for f in zd.emulator.fields.values()}
    assert (types["Area"], types["Escalate to a manager"], types["Score"]) == (
        "text",
        "checkbox",
        "decimal",
    )


def test_an_agent_is_told_that_fields_need_an_admin(zd: ZendeskHarness) -> None:
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    zd.emulator.clients["escalation-connector"] = ("client-secret-value", zd.emulator.agent)
    adapter = zd.adapter()
    field, view = adapter.setup_apply(adapter.setup_plan())
    assert field.id is None
    assert field.problem.startswith(
        "POST /api/v2/ticket_fields answered 403: the connector's account lacks an admin role"
    )
    assert field.problem.endswith(
        "Or create it by hand (a text field, Admin Center > Objects and rules > Fields)."
    )
    assert view.problem == "not sent: it needs field 'SLA due', not created"
    assert "SLA due" not in {f["title"] for f in zd.emulator.fields.values()}


def test_recent_tickets_tell_whose_values_a_tracking_field_holds(zd: ZendeskHarness) -> None:
    (theirs,) = zd.seed(1)
    zd.emulator.update(
        int(theirs),
        {"custom_fields": [{"id": zd.emulator.field_id("Escalation rule"), "value": "x"}]},
        zd.emulator.agent,
        queued=None,
    )
    adapter = zd.adapter()
    plan = adapter.setup_plan()
    held = {a.status.name: a.in_use for a in plan.adopted if a.in_use}
    assert held == {
        "rule": "1 of the 1 most recently updated tickets hold a value in it the connector did"
        f" not write (e.g. #{theirs})"
    }
    searched = [p for m, p in zd.emulator.log if m == "GET" and p.endswith("/search")]
    assert len(searched) == 1


def test_the_emulator_refuses_a_dropdown_without_options(zd: ZendeskHarness) -> None:
    zd.emulator.bearer["t"] = (zd.emulator.me, None)
    body = {"ticket_field": {"type": "tagger", "title": "Area"}}
    status, _, raw = zd.emulator.handle(
        Request(
            "POST",
            "/api/v2/ticket_fields",
            {},
            {"Authorization": "Bearer t"},
            json.dumps(body).encode(),
        )
    )
    assert status == 422 and "Field options: must have at least one option" in raw.decode()


def test_the_emulated_search_sorts_by_update_and_refuses_what_it_cannot_sort(
    zd: ZendeskHarness,
) -> None:
    first, second = zd.seed(2)
    zd.time.now += 60
    zd.emulator.agent_edit(int(first), {"priority": "high"}, zd.emulator.agent)
    zd.emulator.bearer["t"] = (zd.emulator.me, None)

    def search(**q: str) -> tuple[int, Any]:
        query = {"query": ["type:ticket"], **{k: [v] for k, v in q.items()}}
        status, _, raw = zd.emulator.handle(
            Request("GET", "/api/v2/search", query, {"Authorization": "Bearer t"}, None)
        )
        return status, json.loads(raw)

    _, newest = search(sort_by="updated_at", sort_order="desc")
    assert [str(t["id"]) for t in newest["results"]] == [first, second]
    status, _ = search(sort_by="priority")
    assert status == 400
