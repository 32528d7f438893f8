"""`escalate doctor` on Zendesk: every check, on a healthy account and on each kind of problem.

The emulator answers every request (validated against the OpenAPI document); nothing raises.
"""

from __future__ import annotations

from adapters.results import Check
from rules.policy import load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.zendesk_harness import ZendeskHarness

HEALTHY = {
    "credentials": "signed in as Escalation Bot <bot@acme.example>",
    "permissions": "admin: may run, and may create fields and the view",
    "fields": "6 fields found, each active and writable",
    "options": "no field the connector writes is a drop-down",
    "groups": "every owner group exists (2)",
    "assignees": "the policy names no assignee",
    "priorities": "mapped: urgent=P1, high=P2, normal=P3, low=P4",
    "scope": "search export accepts 'type:ticket status<solved'",
}


def doctor(h: ZendeskHarness, **settings: object) -> dict[str, Check]:
    checks = h.adapter(**settings).check()
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in checks}


def with_owners(h: ZendeskHarness, l2_owner: str) -> None:
    """The contract policy with another L2 owner (YAML flow mapping)."""
    text = CONTRACT_POLICY.replace("owner: {group: Support L2}", f"owner: {l2_owner}")
    h.custom_policy = load_policy(text, "owners.yaml")


def test_a_healthy_account_passes_every_check(zd: ZendeskHarness) -> None:
    checks = doctor(zd)
    assert {n: c.detail for n, c in checks.items() if n != "rate limit"} == HEALTHY
    assert all(c.ok for c in checks.values())
    requests = len(zd.emulator.log)
    # The doctor's own answers said how much of the limit is left: no extra request for it.
    assert checks["rate limit"].detail == f"{700 - requests} of 700 requests a minute left"


def test_a_refused_api_token_is_a_failed_credentials_check_with_the_fix(
    zd: ZendeskHarness,
) -> None:
    zd.emulator.api_tokens["bot@acme.example"] = "the-real-token"
    auth = {"type": "api_token", "email": "bot@acme.example"}
    auth["token"] = zd.secret_file("token", "an-old-token")  # type: ignore[assignment]
    (check,) = zd.adapter(auth=auth).check()
    assert check == Check(
        "credentials",
        False,
        "GET /api/v2/users/me.json answered 401: the credentials were refused: Couldn't"
        " authenticate you. Check the instance's auth settings and that the token has not"
        " expired or been revoked. Fix: check the e-mail, and make a new API token (Admin"
        " Center > Apps and integrations > APIs > API tokens).",
    )
    assert "an-old-token" not in check.detail


def test_an_agent_may_run_but_not_set_up(zd: ZendeskHarness) -> None:
    zd.emulator.clients["escalation-connector"] = ("client-secret-value", zd.emulator.agent)
    checks = doctor(zd)
    assert checks["permissions"] == Check(
        "permissions",
        True,
        "agent: may run; `escalate setup` (creating fields and the view) needs an admin",
    )


def test_an_end_user_account_fails_the_permissions_check(zd: ZendeskHarness) -> None:
    zd.emulator.users[zd.emulator.me]["role"] = "end-user"
    checks = doctor(zd)
    assert not checks["permissions"].ok
    assert checks["permissions"].detail == (
        "the account is a(n) end-user: the connector needs an agent (an admin for `escalate"
        " setup`). Fix: make it an agent in Admin Center > People > Team members."
    )


def test_a_missing_tracking_field_names_the_field_and_the_fix(zd: ZendeskHarness) -> None:
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    checks = doctor(zd)
    assert not checks["fields"].ok
    assert checks["fields"].detail == (
        "Zendesk instance zendesk-test: ticket fields are not usable:\n"
        "  - tracking field sla_due 'SLA due': missing\n"
        "Run `escalate setup` to create the missing tracking fields on zendesk-test."
    )
    assert checks["groups"].ok and checks["scope"].ok  # the other checks still ran


def test_a_missing_owner_group(zd: ZendeskHarness) -> None:
    zd.emulator.groups.pop(zd.emulator.group_id("Support L2"))
    checks = doctor(zd)
    assert checks["groups"] == Check(
        "groups",
        False,
        "no Zendesk group named 'Support L2'. Fix: create it in Admin Center > People >"
        " Groups, or correct the owner's group in the policy.",
    )


def test_assignees_resolve_by_the_users_map_or_an_exact_email(zd: ZendeskHarness) -> None:
    with_owners(zd, "{group: Support L2, assignee: ann@acme.example}")
    assert doctor(zd)["assignees"] == Check(
        "assignees", True, "every owner assignee is an agent (1)"
    )
    with_owners(zd, "{group: Support L2, assignee: Ann}")
    checks = doctor(zd, users={"ann": zd.emulator.agent})
    assert checks["assignees"].ok

    zd.emulator.add_user("Carl Customer", "carl@example.com")
    with_owners(zd, "{group: Support L2, assignee: carl@example.com}")
    assert doctor(zd)["assignees"].detail == (
        "no agent has the e-mail 'carl@example.com'. Fix: add each to the instance's `users`"
        " map (name or e-mail -> Zendesk user id)."
    )
    with_owners(zd, "{group: Support L2, assignee: Ann Agent}")
    assert doctor(zd)["assignees"].detail.startswith(
        "'Ann Agent' is neither in the instance's users map nor an e-mail."
    )
    searches = [q for m, q in zd.emulator.log if q.endswith("/users/search")]
    assert len(searches) == 2  # one exact lookup per e-mail, never a search by name


def test_priorities_must_be_zendesk_priorities(zd: ZendeskHarness) -> None:
    text = CONTRACT_POLICY.replace("{urgent: P1, high: P2,", "{critical: P1, high: P2,")
    zd.custom_policy = load_policy(text, "priorities.yaml")
    assert doctor(zd)["priorities"] == Check(
        "priorities",
        False,
        "Zendesk has no priority 'critical'; the policy's P1 maps to no Zendesk priority."
        " Fix: map urgent, high, normal, low under platforms.zendesk.priorities.",
    )


def test_an_invalid_scope_fails_the_scope_check(zd: ZendeskHarness) -> None:
    checks = doctor(zd, scope="type:ticket status<solved")
    assert checks["scope"].ok
    checks = doctor(zd, scope="status<solved brand:acme")
    assert checks["scope"] == Check(
        "scope",
        False,
        "GET /api/v2/search/export answered 400: the platform refused the request: invalid;"
        " unsupported: brand:. Fix: correct instances.zendesk-test.scope (Zendesk search"
        " syntax).",
    )


def test_little_rate_limit_left_warns_with_the_fix(zd: ZendeskHarness) -> None:
    zd.emulator.spend_rate_limit(650)  # agents and other apps, this minute
    checks = doctor(zd)
    used = len(zd.emulator.log)
    assert checks["rate limit"] == Check(
        "rate limit",
        False,
        f"{50 - used} of 700 requests a minute left: agents, apps and this connector share the"
        " limit. Fix: lower budget.requests_per_minute or run the connector less often.",
    )


def test_a_budget_above_the_account_limit_warns(zd: ZendeskHarness) -> None:
    checks = doctor(zd, budget={"requests_per_minute": 1000})
    assert not checks["rate limit"].ok
    assert checks["rate limit"].detail.endswith(
        "but budget.requests_per_minute is 1000. Fix: set it well under 700, so agents and"
        " other apps keep their share."
    )


def test_the_window_is_a_minute_of_the_emulator_clock(zd: ZendeskHarness) -> None:
    doctor(zd)
    zd.time.now += 61
    checks = doctor(zd)
    assert checks["rate limit"].detail == (
        f"{700 - len(zd.emulator.log) // 2} of 700 requests a minute left"
    )


def test_an_enforced_limit_answers_429_and_the_doctor_waits_it_out(zd: ZendeskHarness) -> None:
    zd.emulator.rate_limit, zd.emulator.enforce_rate_limit = 3, True
    checks = doctor(zd)
    assert zd.slept == [60.0]  # Retry-After: the oldest request of the window leaves it
    assert all(c.ok for n, c in checks.items() if n != "rate limit")
    refused = [s for s in zd.rsps.calls if s.response.status_code == 429]
    assert len(refused) == 1
    assert refused[0].response.headers["X-Rate-Limit-Remaining"] == "0"
