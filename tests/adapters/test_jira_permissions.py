"""Jira write failures predicted by `doctor`, and refusals named by the permission they need.

On Cloud and Data Center: a select-list tracking or `set_fields` field without an option for a
value the policy writes, a missing permission, and each way Jira refuses a write for want of a
permission (a 400 for comments and for fields an account may not edit, a 403 elsewhere).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.errors import AuthError, PermissionDenied, Rejected, SetupError
from adapters.jira.adapter import JiraAdapter
from adapters.jira.permissions import need
from adapters.results import Check, WriteResult, WriteStatus
from emulators.http import Request
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.jira_harness import JiraHarness, Make

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BOTH = pytest.mark.parametrize("flavour", ["cloud", "dc"])
#: The contract policy with a third level: its first ticket to get there writes "Management".
THREE_LEVELS = CONTRACT_POLICY.replace(
    "    owner: {group: Support L2}\n",
    "    owner: {group: Support L2}\n  - name: Management\n",
).replace("escalate: next", "escalate: Management")


def select_level(h: JiraHarness, options: list[str]) -> str:
    """Make the level tracking field a select list with these options (an admin's choice)."""
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "Escalation level"]
    return h.emulator.add_field("Escalation level", "select", options=options)


def doctor(h: JiraHarness, policy: Policy) -> dict[str, Check]:
    return {c.name: c for c in h.adapter(policy).check()}


def run(h: JiraHarness, policy: Policy, adapter: JiraAdapter | None = None) -> WriteResult:
    adapter = adapter or h.adapter(policy)
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]
    (result,) = adapter.write(changes, lambda t: evaluate_ticket(policy, t, NOW).change)
    return result


# --- options ------------------------------------------------------------------------------------


@BOTH
def test_doctor_fails_on_a_level_select_list_without_an_option_for_a_policy_level(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    fid = select_level(h, ["L1", "L2"])
    h.seed(1, priority="P1")
    policy = load_policy(THREE_LEVELS, "p.yaml")
    checks = doctor(h, policy)
    where = (
        "Settings → Work items → Fields → the field → Contexts and default value → Edit options"
        if flavour == "cloud"
        else "Administration → Issues → Custom fields → the field → Configure → Edit Options"
    )
    assert checks["options"] == Check(
        "options",
        False,
        f"field 'Escalation level' ({fid}) has no option 'Management' in project SUP"
        f" (options: L1, L2). Fix: add the missing options to the field's context for those"
        f" projects ({where}), or change the policy's level names, rule names or set_fields"
        " values to existing options.",
    )
    assert not all(c.ok for c in checks.values())

    h.emulator.options[fid].append("Management")
    assert doctor(h, policy)["options"] == Check(
        "options", True, f"every value written is an option of 'Escalation level' ({fid}) in SUP"
    )


@BOTH
def test_a_set_fields_value_that_is_not_an_option_fails_doctor(make: Make, flavour: str) -> None:
    h = make(flavour)
    fid = h.emulator.add_field("Impact", "select", options=["Low", "High"])
    h.seed(1, priority="P1")
    text = CONTRACT_POLICY.replace(
        "      add_tags: [escalated]\n", "      set_fields: {Impact: Severe}\n"
    )
    check = doctor(h, load_policy(text, "p.yaml"))["options"]
    assert not check.ok
    assert check.detail.startswith(
        f"field 'Impact' ({fid}) has no option 'Severe' in project SUP (options: Low, High). Fix:"
    )
    h.emulator.options[fid].append("Severe")
    assert doctor(h, load_policy(text, "p.yaml"))["options"].ok


def test_a_select_list_for_a_time_field_fails_doctor(make: Make) -> None:
    h = make("cloud")
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "SLA due"]
    fid = h.emulator.add_field("SLA due", "select", options=["soon"])
    h.seed(1)
    check = doctor(h, h.policy())["options"]
    assert check.detail.startswith(
        f"tracking field sla_due 'SLA due' ({fid}) is a select list, but the connector writes"
        " times, counts or bookkeeping text there: map a text field instead."
    )


@BOTH
def test_a_level_the_select_list_lacks_is_refused_before_any_write(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    select_level(h, ["L1", "L2"])
    (key,) = h.seed(1, priority="P1")
    result = run(h, load_policy(THREE_LEVELS, "p.yaml"))
    assert result.status is WriteStatus.FAILED and isinstance(result.error, Rejected)
    assert "'Management' is not an option of field 'Escalation level'" in result.message
    assert h.sent("PUT", f"/issue/{key}") == []


@BOTH
def test_jiras_own_refusal_of_an_option_names_the_field_and_the_fix(
    make: Make, flavour: str
) -> None:
    """An option removed after the run read the edit screen: Jira's 400, made readable."""
    h = make(flavour)
    fid = select_level(h, ["L1", "L2", "Management"])
    first, second = h.seed(2, priority="P1")
    policy = load_policy(THREE_LEVELS, "p.yaml")
    adapter = h.adapter(policy)
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]

    def again(t: Ticket) -> TicketChange | None:
        return evaluate_ticket(policy, t, NOW).change

    (done,) = adapter.write(changes[:1], again)
    assert done.status is WriteStatus.APPLIED
    h.emulator.options[fid].remove("Management")
    (refused,) = adapter.write(changes[1:], again)
    assert refused.status is WriteStatus.FAILED and isinstance(refused.error, Rejected)
    path = f"/rest/api/{'3' if flavour == 'cloud' else '2'}/issue/{second}"
    assert refused.message == (
        f"PUT {path} answered 400: field 'Escalation level' ({fid}): Option value 'Management'"
        " is not valid. Fix: add the option to the field's context for this project (the"
        " field's settings → Contexts → Edit options), or change the policy's value;"
        " `escalate doctor` lists every missing option"
    )
    assert h.view(first).tracking["level"] == "Management"


# --- permissions --------------------------------------------------------------------------------


@BOTH
def test_doctor_names_a_permission_missing_in_one_project(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1)
    h.emulator.create_issue("NET")
    h.emulator.denied["NET"] = {"EDIT_ISSUES"}
    checks = doctor(h, h.policy())
    assert checks["permissions"] == Check(
        "permissions",
        False,
        "the connector's account lacks Edit Issues (EDIT_ISSUES) in NET, which blocks every"
        " write (tracking fields, group, priority; Jira refuses each field as 'not on the"
        " appropriate screen'). Fix: grant them to the account (or a group or role it is in)"
        " in Project settings → Permissions (the project's permission scheme).",
    )
    assert checks["edit screens"].detail == (
        "Jira lists no editable field for issues of project NET: the connector's account lacks"
        " Edit Issues (EDIT_ISSUES) in project NET (or the issue's workflow status is not"
        " editable). Fix: grant it in Project settings → Permissions"
    )


@BOTH
def test_doctor_says_setup_needs_administer_jira(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1)
    h.emulator.permissions.discard("ADMINISTER")
    check = doctor(h, h.policy())["permissions"]
    assert check == Check(
        "permissions",
        True,
        "BROWSE_PROJECTS, EDIT_ISSUES, ADD_COMMENTS, ASSIGN_ISSUES in SUP; `escalate setup`"
        " needs Administer Jira (ADMINISTER) (a global permission) to create fields",
    )


def test_mypermissions_is_filtered_on_cloud_and_whole_on_data_center(make: Make) -> None:
    """Cloud requires `permissions` and answers those keys; DC ignores the filter (8.20.7)."""
    for flavour, api in (("cloud", "3"), ("dc", "2")):
        h = make(flavour)
        auth = {"Authorization": "Basic eDp5" if flavour == "cloud" else "Bearer t"}
        path = f"/rest/api/{api}/mypermissions"
        status, _, body = h.emulator.handle(
            Request("GET", path, {"permissions": ["EDIT_ISSUES"]}, auth, None)
        )
        keys = set(json.loads(body)["permissions"])
        assert status == 200
        assert keys == {"EDIT_ISSUES"} if flavour == "cloud" else len(keys) > 1
        status, _, _ = h.emulator.handle(Request("GET", path, {}, auth, None))
        assert status == (400 if flavour == "cloud" else 200)


@BOTH
def test_a_comment_refused_for_want_of_add_comments_names_the_permission(
    make: Make, flavour: str
) -> None:
    """Jira answers 400, not 403: the edit goes in, the note is refused and named."""
    h = make(flavour)
    (key,) = h.seed(1, priority="P1")
    h.emulator.denied["SUP"] = {"ADD_COMMENTS"}
    policy = load_policy(CONTRACT_POLICY.replace("      reply: customer\n", ""), "p.yaml")
    result = run(h, policy)
    api = "3" if flavour == "cloud" else "2"
    assert result.status is WriteStatus.APPLIED and result.comment_dropped
    assert result.message == (
        "the change went in but the note did not: POST"
        f" /rest/api/{api}/issue/{key}/comment answered 403: the connector's account lacks"
        " Add Comments (ADD_COMMENTS) in project SUP (Escalation Bot, you do not have the"
        " permission to comment on this issue). Fix: grant it to the account (or a group or"
        " project role it is in) in the permission scheme of project SUP (Project settings →"
        " Permissions); if the account has it, the site may be read-only."
    )
    assert h.view(key).tracking["level"] == "L2"


@BOTH
def test_a_reply_in_the_edit_refused_for_want_of_add_comments(make: Make, flavour: str) -> None:
    h = make(flavour)
    (key,) = h.seed(1, priority="P1")
    h.emulator.denied["SUP"] = {"ADD_COMMENTS"}
    policy = load_policy(CONTRACT_POLICY.replace("      note: handoff\n", ""), "p.yaml")
    result = run(h, policy)
    assert result.status is WriteStatus.FAILED and isinstance(result.error, PermissionDenied)
    assert "lacks Add Comments (ADD_COMMENTS) in project SUP" in result.message
    assert h.view(key).tracking["level"] is None


@BOTH
def test_without_edit_issues_the_run_stops_naming_the_permission(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1, priority="P1")
    h.emulator.permissions.discard("EDIT_ISSUES")
    with pytest.raises(SetupError, match=r"lacks Edit Issues \(EDIT_ISSUES\) in project SUP"):
        run(h, h.policy())
    assert h.sent("PUT", "/issue/") == []


@BOTH
def test_an_assignee_refused_for_want_of_assign_issues_says_so(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1, priority="P1")
    h.emulator.denied["SUP"] = {"ASSIGN_ISSUES"}
    text = CONTRACT_POLICY.replace(
        "owner: {group: Support L2}", "owner: {group: Support L2, assignee: agent}"
    )
    with pytest.raises(SetupError) as err:
        run(h, load_policy(text, "p.yaml"), h.adapter(load_policy(text, "p.yaml")))
    assert "Jira refused to set 'Assignee' (assignee)" in str(err.value)
    assert "lacks Assign Issues (ASSIGN_ISSUES)" in str(err.value)


@BOTH
def test_a_403_on_a_write_names_the_permission_the_endpoint_needs(make: Make, flavour: str) -> None:
    """Jira answers 403 to an edit when, say, the site is read-only: the message names what
    the edit needs, and says what else it can mean."""
    h = make(flavour)
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(lambda r: r.method == "PUT" and r.path.endswith(f"/issue/{key}"), 403)
    result = run(h, h.policy())
    api = "3" if flavour == "cloud" else "2"
    assert result.status is WriteStatus.FAILED and isinstance(result.error, PermissionDenied)
    assert result.message == (
        f"PUT /rest/api/{api}/issue/{key} answered 403: the connector's account lacks Edit"
        " Issues (EDIT_ISSUES) in project SUP (emulated 403). Fix: grant it to the account (or"
        " a group or project role it is in) in the permission scheme of project SUP (Project"
        " settings → Permissions); if the account has it, the site may be read-only."
    )


def test_a_403_for_a_throttled_login_is_an_auth_error(make: Make) -> None:
    h = make("dc")
    h.seed(1, priority="P1")
    h.emulator.fail(
        lambda r: r.method == "PUT",
        403,
        headers={"X-Authentication-Denied-Reason": "CAPTCHA_CHALLENGE; login-url=/login.jsp"},
    )
    with pytest.raises(AuthError, match=r"CAPTCHA_CHALLENGE.*sign in to Jira once in a browser"):
        run(h, h.policy())


def test_the_emulator_answers_403_on_the_assignee_endpoint_and_field_creation(
    make: Make,
) -> None:
    h = make("cloud")
    (key,) = h.seed(1)
    h.emulator.permissions -= {"ASSIGN_ISSUES", "ADMINISTER"}
    auth = {"Authorization": "Basic eDp5", "Content-Type": "application/json"}
    put = Request("PUT", f"/rest/api/3/issue/{key}/assignee", {}, auth, b'{"accountId": "agent"}')
    post = Request("POST", "/rest/api/3/field", {}, auth, b'{"name": "x", "type": "t"}')
    assert h.emulator.handle(put)[0] == 403 and h.emulator.handle(post)[0] == 403


@pytest.mark.parametrize(
    ("what", "permission"),
    [
        ("PUT /rest/api/3/issue/SUP-1", "Edit Issues (EDIT_ISSUES) in project SUP"),
        ("POST /rest/api/2/issue/OPS-12/comment", "Add Comments (ADD_COMMENTS) in project OPS"),
        ("PUT /rest/api/2/issue/10001/assignee", "Assign Issues (ASSIGN_ISSUES) in the issue's"),
        ("GET /rest/api/3/issue/SUP-1/editmeta", "Browse Projects (BROWSE_PROJECTS) in project"),
        ("POST /rest/api/3/search/jql", "Browse Projects (BROWSE_PROJECTS) in the projects"),
        ("POST /rest/api/2/field", "the global permission Administer Jira (ADMINISTER)"),
        ("GET /rest/api/3/user", "the global permission Browse users and groups (USER_PICKER)"),
    ],
)
def test_each_endpoint_names_its_permission(what: str, permission: str) -> None:
    found = need(what)
    assert found is not None and found.permission.startswith(permission)


def test_an_endpoint_that_needs_nothing_in_particular_is_not_named() -> None:
    assert need("GET /rest/api/3/myself") is None
