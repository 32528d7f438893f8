"""`escalate doctor` for Zendesk: each check says what it found or how to fix it; never raises.

The checks, in order: credentials, permissions (agent or admin; admin only for setup), fields,
groups, assignees, priorities, scope, and the rate limit left, read from the headers of the
checks' own answers (no extra request).
"""

from __future__ import annotations

from adapters.doctor import (
    Checks,
    low,
    owner_assignees,
    owner_groups,
    sentence,
    sets_priority,
    unusable_policy_fields,
)
from adapters.errors import AdapterError, Rejected
from adapters.results import Check
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import AGENT_ROLES, as_int
from adapters.zendesk.read import export_query
from adapters.zendesk.settings import ApiTokenAuth, ClientCredentialsAuth
from rules.mapping import platform_priority
from rules.policy import Policy

PRIORITIES = ("urgent", "high", "normal", "low")  # Zendesk's fixed priority values


def check(look: Lookups) -> list[Check]:
    try:
        me = look.whoami()
    except AdapterError as exc:
        return [Check("credentials", False, f"{exc} {_auth_fix(look)}")]
    checks = Checks(
        [Check("credentials", True, f"signed in as {me.get('name')} <{me.get('email')}>")]
    )
    checks.add(_role(str(me.get("role") or "end-user")))
    checks.step("fields", lambda: _fields(look))
    checks.step("groups", lambda: _groups(look))
    checks.step("assignees", lambda: _assignees(look))
    checks.add(_priorities(look.policy))
    checks.step("scope", lambda: _scope(look))
    checks.add(rate_check(look.client.session.rate_limit, look.settings.budget.requests_per_minute))
    return checks.found


def _auth_fix(look: Lookups) -> str:
    auth = look.settings.auth
    where = "Admin Center > Apps and integrations > APIs"
    if isinstance(auth, ClientCredentialsAuth):
        return f"Fix: check the OAuth client's id and secret ({where} > OAuth Clients)."
    if isinstance(auth, ApiTokenAuth):
        return f"Fix: check the e-mail, and make a new API token ({where} > API tokens)."
    return "Fix: get a new OAuth access token (this one is not renewed by the connector)."


def _role(role: str) -> Check:
    if role == "admin":
        return Check("permissions", True, "admin: may run, and may create fields and the view")
    if role == "agent":
        detail = "agent: may run; `escalate setup` (creating fields and the view) needs an admin"
        return Check("permissions", True, detail)
    return Check(
        "permissions",
        False,
        f"the account is a(n) {role}: the connector needs an agent (an admin for `escalate"
        " setup`). Fix: make it an agent in Admin Center > People > Team members.",
    )


def _fields(look: Lookups) -> Check:
    statuses = look.fields()  # SetupError names every unusable tracking field and the fix
    if off := unusable_policy_fields(look.policy, statuses):
        return Check("fields", False, off)
    return Check("fields", True, f"{len(statuses)} fields found, each active and writable")


def _groups(look: Lookups) -> Check:
    names = owner_groups(look.policy, look.instance)
    look.groups()
    missing = [g for g in names if look.people.group_id(g) is None]
    if missing:
        return Check(
            "groups",
            False,
            f"no Zendesk group named {', '.join(map(repr, missing))}. Fix: create it in Admin"
            " Center > People > Groups, or correct the owner's group in the policy.",
        )
    return Check("groups", True, f"every owner group exists ({len(names)})")


def _assignees(look: Lookups) -> Check:
    """Each assignee resolves through the `users` map or one exact e-mail lookup."""
    wanted = owner_assignees(look.policy, look.instance)
    if not wanted:
        return Check("assignees", True, "the policy names no assignee")
    users = {k.casefold(): v for k, v in look.settings.users.items()}
    ids = {who: users.get(who.casefold(), as_int(who)) for who in wanted}
    known = {as_int(u.get("id")): u for u in look.client.users(i for i in ids.values() if i)}
    problems = []
    for who, uid in ids.items():
        if uid is not None:
            user = known.get(uid)
            if user is None or user.get("role") not in AGENT_ROLES:
                problems.append(f"{who!r} (user {uid}) is not an agent of this account")
        elif "@" in who:
            if not any(u.get("role") in AGENT_ROLES for u in look.client.users_by_email(who)):
                problems.append(f"no agent has the e-mail {who!r}")
        else:
            problems.append(f"{who!r} is neither in the instance's users map nor an e-mail")
    if problems:
        fix = "Fix: add each to the instance's `users` map (name or e-mail -> Zendesk user id)."
        return Check("assignees", False, "; ".join(problems) + f". {fix}")
    return Check("assignees", True, f"every owner assignee is an agent ({len(wanted)})")


def _priorities(policy: Policy) -> Check:
    """The mapped names are Zendesk's, and every neutral priority written has one."""
    names = policy.platforms["zendesk"].priorities
    unknown = [n for n in names if n.lower() not in PRIORITIES]
    unmapped = []
    if sets_priority(policy):
        written = {p: platform_priority(policy, "zendesk", p) for p in policy.priorities}
        unmapped = [p for p, name in written.items() if name.lower() not in PRIORITIES]
    if unknown or unmapped:
        parts = [f"Zendesk has no priority {n!r}" for n in unknown]
        parts += [f"the policy's {p} maps to no Zendesk priority" for p in unmapped]
        return Check(
            "priorities",
            False,
            "; ".join(parts) + f". Fix: map {', '.join(PRIORITIES)} under"
            " platforms.zendesk.priorities.",
        )
    return Check("priorities", True, f"mapped: {', '.join(f'{k}={v}' for k, v in names.items())}")


def _scope(look: Lookups) -> Check:
    try:
        look.client.export_page(export_query(look.settings.scope), 1, None)
    except Rejected as exc:
        fix = f"Fix: correct instances.{look.instance}.scope (Zendesk search syntax)."
        return Check("scope", False, f"{sentence(exc)} {fix}")
    return Check("scope", True, f"search export accepts {look.settings.scope!r}")


def rate_check(seen: tuple[int, int] | None, budget: int) -> Check:
    """Passes unless under 10% of the per-minute limit is left, or our budget exceeds it."""
    if seen is None:
        return Check("rate limit", True, "not reported (no X-Rate-Limit header in the answers)")
    limit, remaining = seen
    detail = f"{remaining} of {limit} requests a minute left"
    if low(limit, remaining):
        return Check(
            "rate limit",
            False,
            f"{detail}: agents, apps and this connector share the limit. Fix: lower"
            " budget.requests_per_minute or run the connector less often.",
        )
    if budget > limit:
        return Check(
            "rate limit",
            False,
            f"{detail}, but budget.requests_per_minute is {budget}. Fix: set it well under"
            f" {limit}, so agents and other apps keep their share.",
        )
    return Check("rate limit", True, detail)
