"""`escalate doctor` on Jira Cloud and Data Center: every check, healthy and broken.

The emulator answers every request (validated against the OpenAPI document); nothing raises.
"""

from __future__ import annotations

import pytest

from adapters.results import Check
from emulators.http import Request
from rules.policy import load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.jira_harness import JiraHarness, Make

TOKEN = "s3cret-token-value"  # what the harness signs in with


def doctor(h: JiraHarness, policy_text: str | None = None, **settings: object) -> dict[str, Check]:
    policy = load_policy(policy_text, "p.yaml") if policy_text else None
    checks = h.adapter(policy, **settings).check()
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in checks}


def healthy(flavour: str, group_field: str) -> dict[str, str]:
    return {
        "connection": "Jira cloud 1001.0.0 (REST API v3, ADF comments)"
        if flavour == "cloud"
        else "Jira datacenter 9.12.2 (REST API v2, wiki comments)",
        "credentials": "signed in as Escalation Bot",
        "scope": "valid JQL: 'statusCategory != Done'; its first page has tickets in SUP",
        "permissions": "BROWSE_PROJECTS, EDIT_ISSUES, ADD_COMMENTS, ASSIGN_ISSUES in SUP",
        "fields": "6 tracking fields and the group field 'Support team', each with a writable type",
        "edit screens": "every field we write is editable in SUP",
        "priorities": "Highest, High, Medium, Low exist",
        "groups": f"every owner group is an option of 'Support team' ({group_field})",
        "options": "no field the connector writes is a select list",
        "assignees": "the policy names no assignee",
        "rate limit": "not reported (Jira Cloud reports it only near the limit)"
        if flavour == "cloud"
        else "not reported (no limit configured)",
    }


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_a_healthy_site_passes_every_check(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(2)
    checks = h.adapter().check()
    expected = healthy(flavour, h.emulator.field_id("Support team"))
    assert [c.name for c in checks] == list(expected)
    assert {c.name: c.detail for c in checks} == expected
    assert all(c.ok for c in checks)
    (asked,) = h.sent("GET", "/mypermissions")
    assert asked.query == {
        "permissions": ["BROWSE_PROJECTS,EDIT_ISSUES,ADD_COMMENTS,ASSIGN_ISSUES,ADMINISTER"],
        "projectKey": ["SUP"],
    }


def test_only_the_permissions_the_policy_needs_are_asked_for(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    text = CONTRACT_POLICY.replace("    owner: {group: Support L1}\n", "").replace(
        "    owner: {group: Support L2}\n", ""
    )
    text = text.replace("      note: handoff\n      reply: customer\n", "")
    checks = doctor(h, text)
    assert checks["permissions"] == Check(
        "permissions", True, "BROWSE_PROJECTS, EDIT_ISSUES in SUP"
    )


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_a_missing_permission_is_named_with_the_fix(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1)
    h.emulator.permissions -= {"ASSIGN_ISSUES", "ADD_COMMENTS"}
    assert doctor(h)["permissions"] == Check(
        "permissions",
        False,
        "the connector's account lacks Add Comments (ADD_COMMENTS) in SUP, which blocks the"
        " handoff notes and customer replies; Assign Issues (ASSIGN_ISSUES) in SUP, which"
        " blocks reassigning (Jira refuses the assignee as 'not on the appropriate screen')."
        " Fix: grant them to the account (or a group or role it is in) in Project settings →"
        " Permissions (the project's permission scheme).",
    )


def test_an_empty_scope_asks_for_permissions_in_the_global_context(make: Make) -> None:
    h = make("cloud")
    checks = doctor(h)
    assert checks["scope"].detail == "valid JQL: 'statusCategory != Done'; no ticket now"
    assert checks["edit screens"].detail == "no ticket in scope to check the edit screens with"
    (asked,) = h.sent("GET", "/mypermissions")
    assert "projectKey" not in asked.query


def test_a_bad_api_token_fails_the_credentials_check_with_the_fix(make: Make) -> None:
    h = make("cloud")
    h.emulator.api_tokens["bot@example.com"] = "a-newer-token"
    checks = h.adapter().check()
    assert checks == [
        Check("connection", True, "Jira answered at https://acme.atlassian.net"),
        Check(
            "credentials",
            False,
            "GET /rest/api/2/serverInfo answered 401: the credentials were refused: You are not"
            " authenticated. Authentication required. Check the instance's auth settings and"
            " that the token has not expired or been revoked. Fix: make a new API token"
            " (id.atlassian.com → Security → API tokens) for the account bot@example.com and"
            " store it where instances.contract.auth.api_token points.",
        ),
    ]
    assert TOKEN not in repr(checks)


def test_a_revoked_personal_access_token_fails_the_credentials_check(make: Make) -> None:
    h = make("dc")
    h.emulator.pats = {"another-token"}
    connection, credentials = h.adapter().check()
    assert connection.ok and not credentials.ok
    assert credentials.detail.endswith(
        "Fix: make a new personal access token (your Jira profile → Personal Access Tokens)"
        " and store it where instances.contract.auth.personal_access_token points."
    )
    h.emulator.pats = {TOKEN}
    assert all(c.ok for c in h.adapter().check())


def test_a_missing_tracking_field(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.fields = [f for f in h.emulator.fields if f["name"] != "SLA due"]
    checks = doctor(h)
    assert checks["fields"] == Check(
        "fields",
        False,
        "instance contract: Jira fields are not usable: tracking field sla_due 'SLA due':"
        " missing. Create the missing ones (escalate setup creates missing tracking fields) or"
        " fix the names in the policy's platforms.jira.fields / the instance's fields and"
        " group_field.",
    )
    assert "edit screens" not in checks and "groups" not in checks
    assert checks["permissions"].ok and checks["priorities"].ok


def test_a_field_not_on_the_edit_screen(make: Make) -> None:
    h = make("dc")
    h.seed(1)
    level = h.emulator.field_id("Escalation level")
    h.emulator.screens["SUP"].discard(level)
    assert doctor(h)["edit screens"] == Check(
        "edit screens",
        False,
        f"field 'Escalation level' ({level}) is not on the edit screen of project SUP: add it"
        " in Project settings → Screens → (the Edit screen of each issue type) → add field",
    )


def test_a_missing_owner_group_option(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    team = h.emulator.field_id("Support team")
    h.emulator.options[team] = ["Support L1", "Network"]
    assert doctor(h)["groups"] == Check(
        "groups",
        False,
        f"'Support L2' is not an option of field 'Support team' ({team}) in project SUP"
        f" (options: Support L1, Network). Fix: add the options to 'Support team' ({team})"
        " (Settings → Work items → Fields).",
    )


def test_priorities_must_exist_and_be_allowed_in_each_project(make: Make) -> None:
    h = make("cloud")
    h.emulator.add_project("NET", priorities=["High", "Medium", "Low"])
    h.emulator.create_issue("NET")
    text = CONTRACT_POLICY.replace("{Highest: P1,", "{Blocker: P1, Highest: P1,")
    assert doctor(h, text, scope="project = NET")["priorities"] == Check(
        "priorities",
        False,
        "Jira has no priority 'Blocker'; priority 'Blocker' is not allowed in project NET"
        " (allowed: High, Medium, Low); map the policy's priority to one of them under"
        " platforms.jira.priorities. Fix: map the site's priorities under"
        " platforms.jira.priorities.",
    )


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_assignees_resolve_by_the_users_map_or_an_exact_lookup(make: Make, flavour: str) -> None:
    h = make(flavour)
    h.seed(1)
    text = CONTRACT_POLICY.replace(
        "owner: {group: Support L2}", "owner: {group: Support L2, assignee: agent}"
    )
    assert doctor(h, text)["assignees"] == Check(
        "assignees", True, "every owner assignee resolves (1)"
    )
    bad = text.replace("assignee: agent", "assignee: ann@example.com")
    detail = doctor(h, bad)["assignees"].detail
    assert detail.startswith("assignee 'ann@example.com' is not in the instance's users map")
    assert doctor(h, bad, users={"ann@example.com": "agent"})["assignees"].ok
    assert not h.sent("GET", "/user/search")


def test_an_invalid_scope_fails_with_the_fix_and_skips_what_depends_on_it(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    checks = doctor(h, scope="project = SUP AND color = red")
    assert checks["scope"] == Check(
        "scope",
        False,
        "POST /rest/api/3/search/jql answered 400: the platform refused the request: Field"
        " 'color' does not exist or you do not have permission to view it. Fix: correct the"
        " JQL in instances.contract.scope.",
    )
    assert "permissions" not in checks and "edit screens" not in checks


def test_data_center_reports_the_rate_limit_left(make: Make) -> None:
    h = make("dc")
    h.seed(1)
    h.emulator.rate_limit = 100
    checks = doctor(h)
    left = 100 - len(h.emulator.log)  # as the doctor's last answer said
    assert checks["rate limit"] == Check("rate limit", True, f"{left} of 100 requests left")
    h.emulator.spend_rate_limit(90)
    checks = doctor(h)
    assert checks["rate limit"].ok is False
    assert checks["rate limit"].detail.endswith(
        "requests left. Fix: lower budget.requests_per_minute or run the connector less often."
    )


def test_jira_cloud_near_its_limit_warns(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.rate_limit = 100
    assert doctor(h)["rate limit"].ok
    h.emulator.spend_rate_limit(70)
    assert doctor(h)["rate limit"] == Check(
        "rate limit",
        False,
        "Jira says under 20% of the rate limit is left. Fix: lower budget.requests_per_minute"
        " or run the connector less often.",
    )


def test_an_enforced_cloud_limit_answers_429_with_jiras_headers(make: Make) -> None:
    h = make("cloud")
    h.emulator.rate_limit, h.emulator.enforce_rate_limit = 2, True
    auth = {"Authorization": "Basic eDp5"}
    answers = [
        h.emulator.handle(Request("GET", "/rest/api/3/myself", {}, auth, None)) for _ in range(3)
    ]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    assert answers[1][1]["X-RateLimit-NearLimit"] == "true"
    headers = answers[2][1]
    assert headers["Retry-After"] == "60" and headers["RateLimit-Reason"] == "jira-burst-based"
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("2", "0")
    assert headers["X-RateLimit-Reset"] == "2026-03-02T08:01Z"  # the harness clock: 08:00
