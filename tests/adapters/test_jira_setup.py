"""`escalate setup` on Jira: the "Escalated tickets" filter, field creation and inspection.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

import json

import pytest

from adapters.results import FieldStatus, Queue
from emulators.http import Request
from emulators.jira.jql import query
from tests.adapters.jira_harness import JiraHarness, Make
from tests.adapters.zendesk_harness import policy_with

JQL = (
    '(statusCategory != Done) AND "Escalation level" is not EMPTY AND "Escalation level" !~'
    ' "L1" ORDER BY "SLA due" ASC'
)


def escalated(h: JiraHarness, level: str | None, due: str | None) -> str:
    values = {"Escalation level": level, "SLA due": due}
    return h.emulator.create_issue(values={k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_the_filter_is_created_once_shared_with_the_scope_projects(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    h.seed(1)
    assert h.adapter().queue() == Queue("filter", "Escalated tickets", None, definition=JQL)
    assert not h.sent("POST", "/filter")

    made = h.adapter().queue(create=True)
    (saved,) = h.emulator.filters.values()
    assert made == Queue(
        "filter",
        "Escalated tickets",
        saved["id"],
        url=f"{h.url}/issues/?filter={saved['id']}",
        definition=JQL,
        created=True,
    )
    assert saved["jql"] == JQL and saved["favourite"]
    assert saved["sharePermissions"] == [{"type": "project", "project": {"id": "10000"}}]

    again = h.adapter().queue(create=True)
    assert again == Queue("filter", "Escalated tickets", made.id, made.url, JQL)
    assert len(h.emulator.filters) == 1 and len(h.sent("POST", "/filter")) == 1


def test_the_filter_shows_escalated_tickets_soonest_due_first(make: Make) -> None:
    h = make("cloud")
    never = escalated(h, None, None)
    first_level = escalated(h, "L1", "2026-03-02T09:00:00Z")
    late = escalated(h, "L2", "2026-03-02T12:00:00Z")
    soon = escalated(h, "L3", "2026-03-02T10:00:00Z")
    undated = escalated(h, "L2", None)
    done = escalated(h, "L2", "2026-03-01T10:00:00Z")
    h.emulator.edit(done, status="Done")
    h.adapter().queue(create=True)
    (saved,) = h.emulator.filters.values()
    shown = query(h.emulator.issues, saved["jql"], bounded=True, fields=h.emulator.fields)
    assert shown == [soon, late, undated]
    assert never not in shown and first_level not in shown
    # Jira's text searcher takes no `!=`: the operator follows the field's type.
    with pytest.raises(ValueError, match="The operator '!=' is not supported"):
        query(
            h.emulator.issues,
            saved["jql"].replace("!~", "!="),
            bounded=True,
            fields=h.emulator.fields,
        )


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_the_filter_is_shared_with_each_project_of_the_scope_once(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1)
    h.emulator.create_issue("NET")
    h.adapter().queue(create=True)
    (saved,) = h.emulator.filters.values()
    ids = [share["project"]["id"] for share in saved["sharePermissions"]]
    assert sorted(ids) == sorted(h.emulator.project_ids[k] for k in ("SUP", "NET"))
    assert len(set(ids)) == 2


def test_a_select_list_level_field_is_excluded_with_not_equals(make: Make) -> None:
    h = make("dc")
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "Escalation level"]
    h.emulator.add_field("Escalation level", "select", options=["L1", "L2"])
    h.emulator.add_project("SUP")
    h.seed(1)
    queue = h.adapter(scope="project = SUP ORDER BY created DESC").queue(create=True)
    assert queue.definition == (
        '(project = SUP) AND statusCategory != Done AND "Escalation level" is not EMPTY AND'
        ' "Escalation level" != "L1" ORDER BY "SLA due" ASC'
    )
    assert queue.created and not queue.problem


def test_an_existing_filter_is_found_and_never_duplicated(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.filters["500"] = {
        "id": "500",
        "name": "Escalated tickets",
        "description": "",
        "jql": "project = SUP",
        "owner": h.emulator.agent,
        "favourite": False,
        "sharePermissions": [],
    }
    found = h.adapter().queue(create=True)
    assert (found.id, found.created, found.definition) == ("500", False, "project = SUP")
    assert not h.sent("POST", "/filter")


def test_data_center_finds_its_filter_among_the_favourites_only(make: Make) -> None:
    h = make("dc")
    h.seed(1)
    made = h.adapter().queue(create=True)
    h.emulator.filters[str(made.id)]["favourite"] = False  # someone unstarred it
    lost = h.adapter().queue(create=True)
    assert lost.id is None and lost.problem.startswith(
        "POST /rest/api/2/filter answered 400: the platform refused the request: filterName:"
        " Filter with same name already exists. A filter called 'Escalated tickets' exists but"
        " is not among the connector account's favourite filters, where Data Center lets it"
        " look: star it, or create the filter by hand"
    )
    assert len(h.emulator.filters) == 1


def test_no_right_to_share_is_a_problem_with_the_fix(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.permissions.discard("CREATE_SHARED_OBJECTS")
    queue = h.adapter().queue(create=True)
    assert queue == Queue(
        "filter",
        "Escalated tickets",
        None,
        definition=JQL,
        problem="POST /rest/api/3/filter answered 400: the platform refused the request:"
        " sharePermissions: You do not have permission to share filters. Fix: give the"
        " connector's account the global permission 'Share dashboards and filters' and run"
        " `escalate setup` again, or create the filter by hand (Filters → Create filter) with"
        f" this JQL: {JQL}",
    )
    assert not h.emulator.filters


def test_a_403_is_reported_not_raised(make: Make) -> None:
    h = make("dc")
    h.seed(1)
    h.emulator.fail(lambda r: r.method == "POST" and r.path.endswith("/filter"), 403)
    queue = h.adapter().queue(create=True)
    assert queue.id is None and queue.problem == (
        "POST /rest/api/2/filter answered 403: the connector's account lacks the global"
        " permission Share dashboards and filters (CREATE_SHARED_OBJECTS) (emulated 403). Fix:"
        " grant it to the account (or a group it is in) in Jira settings → System → Global"
        " permissions. Then run `escalate setup` again, or create the filter by hand (Filters"
        f" → Create filter) with this JQL: {JQL}"
    )


def test_without_tickets_in_scope_the_filter_is_shared_with_nobody_and_says_so(
    make: Make,
) -> None:
    h = make("cloud")
    queue = h.adapter().queue(create=True)
    assert queue.created and queue.problem == (
        "shared with nobody yet (no ticket in scope to learn the projects from): share it in"
        " Jira (Filters → Escalated tickets → Details → Edit permissions)"
    )


def test_a_create_that_timed_out_after_landing_is_found_not_repeated(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.timeout_after_landing(lambda r: r.method == "POST" and r.path.endswith("/filter"))
    queue = h.adapter().queue(create=True)
    assert queue.created and queue.id == next(iter(h.emulator.filters))
    assert len(h.emulator.filters) == 1 and len(h.sent("POST", "/filter")) == 1


def test_a_field_created_before_its_answer_was_lost_is_not_created_twice(make: Make) -> None:
    h = make("dc")
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "Escalation state"]
    h.emulator.timeout_after_landing(lambda r: r.method == "POST" and r.path.endswith("/field"))
    statuses = {s.name: s for s in h.adapter().fields(create=True)}
    assert statuses["state"].created and statuses["state"].id
    assert [f["name"] for f in h.emulator.fields].count("Escalation state") == 1


def test_inspect_fields_reports_each_problem_and_writes_nothing(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "SLA due"]
    h.emulator.screens["SUP"].discard(h.emulator.field_id("Escalation rule"))
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "Escalated at"]
    h.emulator.add_field("Escalated at", "group")
    statuses = {s.name: s for s in h.adapter().inspect_fields()}
    assert statuses["sla_due"] == FieldStatus("sla_due", "SLA due", None, "missing")
    assert statuses["escalated_at"].problem == (
        "it has type group; the connector needs a text or number field"
    )
    assert statuses["rule"].problem == (
        "not on the edit screen of SUP: add it in Project settings → Screens (the Edit screen"
        " of each issue type)"
    )
    assert not statuses["level"].problem and statuses["level"].id
    assert {r.method for r in h.emulator.log} <= {"GET", "POST"}
    assert [r.path for r in h.emulator.log if r.method == "POST"] == ["/rest/api/3/search/jql"]


POLICY_RULES = (
    "  - name: asks\n    when: {customer_request: {field: Escalate to a manager}}\n"
    "    then: {add_tags: [asked]}\n"
    "  - name: score\n    when: {custom: {Area: network}}\n    then: {set_fields: {Score: 2}}\n"
)


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_the_plan_creates_policy_fields_with_the_type_the_policy_implies(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    plan = h.adapter(policy_with(POLICY_RULES)).setup_plan()
    steps = {s.title: s for s in plan.steps}
    assert sorted(steps) == ["Area", "Escalate to a manager", "Escalated tickets", "Score"]
    assert steps["Score"].summary == "float" and steps["Area"].summary == "textfield"
    assert steps["Escalate to a manager"].summary == "textfield"  # Jira has no yes/no field
    assert steps["Score"].role == "policy field, read by rule 'score'"
    assert steps["Score"].request.body["searcherKey"].endswith(":numberrange")
    assert not h.sent("POST", "/field"), "a plan sends nothing"

    done = h.adapter(policy_with(POLICY_RULES)).setup_apply(plan)
    assert [d.sent for d in done] == [s.request for s in plan.steps]  # exactly as planned
    assert all(d.id and not d.problem for d in done)
    made = {f["name"]: f["schema"].get("custom", "").rsplit(":", 1)[-1] for f in h.emulator.fields}
    assert (made["Score"], made["Area"], made["Escalate to a manager"]) == (
        "float",
        "textfield",
        "textfield",
    )


def test_left_out_policy_fields_name_what_they_switch_off(make: Make) -> None:
    h = make("cloud")
    plan = h.adapter(policy_with(POLICY_RULES)).setup_plan(policy_fields=False)
    assert [s.title for s in plan.steps] == ["Escalated tickets"]
    assert [(s.title, parts) for s, parts in plan.skipped] == [
        ("Area", "rule 'score'"),
        ("Escalate to a manager", "rule 'asks'"),
        ("Score", "rule 'score'"),
    ]


def test_creating_a_field_needs_a_jira_administrator(make: Make) -> None:
    h = make("dc")
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "SLA due"]
    h.emulator.permissions.discard("ADMINISTER")
    adapter = h.adapter()
    (done, queue) = adapter.setup_apply(adapter.setup_plan())
    assert done.id is None and done.problem == (
        "POST /rest/api/2/field answered 403: only Jira administrators may create fields. Fix:"
        " run `escalate setup` with an administrator's account, or create it by hand (a"
        " textfield field, Settings → Work items → Fields)"
    )
    assert queue.id is None and queue.problem == "not sent: it needs field 'SLA due', not created"
    assert not h.emulator.filters


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "X", "type": "textfield", "searcherKey": "numberrange"}, "is not valid for"),
        ({"name": "X", "type": "nosuchtype"}, "Unknown type"),
        ({"type": "textfield"}, "The name is required"),
        ({"name": "X", "type": "textfield", "options": ["a"]}, "Unrecognized field 'options'"),
    ],
)
def test_the_emulator_refuses_fields_jira_would_refuse(
    make: Make, body: dict[str, str], error: str
) -> None:
    h = make("cloud")
    cf = "com.atlassian.jira.plugin.system.customfieldtypes:"
    full = {k: cf + v if k in ("type", "searcherKey") else v for k, v in body.items()}
    status, _, raw = h.emulator.handle(
        Request(
            "POST",
            "/rest/api/3/field",
            {},
            {"Authorization": "Basic eDp5"},
            json.dumps(full).encode(),
        )
    )
    assert status == 400 and error in raw.decode()
    assert [f["name"] for f in h.emulator.fields].count("X") == 0


def test_a_field_created_without_a_searcher_cannot_be_searched(make: Make) -> None:
    h = make("cloud")
    cf = "com.atlassian.jira.plugin.system.customfieldtypes:"
    h.adapter().client.post(
        "/rest/api/3/field", {"name": "Quiet", "type": cf + "textfield"}, may_repeat=False
    )
    with pytest.raises(ValueError, match="'Quiet' is not searchable"):
        query(h.emulator.issues, '"Quiet" is EMPTY', bounded=True, fields=h.emulator.fields)


def test_jql_takes_dates_relative_to_now(make: Make) -> None:
    h = make("cloud")
    old = h.emulator.create_issue(status="Done")
    h.time.now += 8 * 86400
    new = h.emulator.create_issue(status="Done")
    open_ = h.emulator.create_issue()
    jql = "statusCategory != Done OR updated >= -7d"
    found = query(h.emulator.issues, jql, bounded=True, fields=h.emulator.fields, now=h.time.now)
    assert found == [new, open_] and old not in found
    assert query(h.emulator.issues, 'updated >= "-1w 1d"', bounded=True, now=h.time.now) == [
        old,
        new,
        open_,
    ]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_only_values_the_connector_did_not_write_are_warned_of(make: Make, flavour: str) -> None:
    h = make(flavour)
    ours = h.emulator.create_issue(
        values={"Escalation level": "L2", "Escalation state": "v1 c=0 w=ht2ws"}
    )
    plan = h.adapter().setup_plan()
    assert not plan.in_use, f"{ours} carries the connector's state"
    theirs = h.emulator.create_issue(values={"Escalation state": "owned by another tool"})
    held = {a.status.name: a.in_use for a in h.adapter().setup_plan().in_use}
    assert held == {
        "state": f"issue {theirs} (and maybe more) holds a value the connector did not write"
    }
