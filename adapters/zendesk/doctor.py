"""`escalate doctor` for Zendesk: each check says what it found or how to fix it; never raises.

The checks, in order: credentials, permissions (agent or admin; admin only for setup), fields,
groups, assignees, priorities, scope, and the rate limit left, read from the headers of the
checks' own answers (no extra request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.base import Check
from adapters.errors import AdapterError, Rejected
from adapters.zendesk.mapping import AGENT_ROLES, as_int
from adapters.zendesk.reader import export_query
from adapters.zendesk.settings import ApiTokenAuth, ClientCredentialsAuth
from rules.errors import EscalationError
from rules.mapping import platform_priority
from rules.policy import Policy
from rules.schema import OwnerBase

if TYPE_CHECKING:
    from adapters.zendesk.adapter import ZendeskAdapter

PRIORITIES = ("urgent", "high", "normal", "low")  # Zendesk's fixed priority values
LOW_RATE = 0.10  # warn below this share of the per-minute limit


def check(a: ZendeskAdapter) -> list[Check]:
    try:
        me = a.whoami()
    except AdapterError as exc:
        return [Check("credentials", False, f"{exc} {_auth_fix(a)}")]
    out = [Check("credentials", True, f"signed in as {me.get('name')} <{me.get('email')}>")]
    out.append(_role(str(me.get("role") or "end-user")))

    def step(name: str, fn: Callable[[], Check]) -> None:
        try:
            out.append(fn())
        except (AdapterError, EscalationError) as exc:
            out.append(Check(name, False, str(exc)))

    step("fields", lambda: _fields(a))
    step("groups", lambda: _groups(a))
    step("assignees", lambda: _assignees(a))
    out.append(_priorities(a.policy))
    step("scope", lambda: _scope(a))
    out.append(rate_check(a.client.session.rate_limit, a.settings.budget.requests_per_minute))
    return out


def _auth_fix(a: ZendeskAdapter) -> str:
    auth = a.settings.auth
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


def _fields(a: ZendeskAdapter) -> Check:
    statuses = a.fields()  # SetupError names every unusable field and the fix
    return Check("fields", True, f"{len(statuses)} fields found, each active and writable")


def owners(policy: Policy, instance: str) -> list[OwnerBase]:
    """Every owner the policy can assign on this instance (its per-instance override wins)."""
    found = [lv.model.owner for lv in policy.levels] + list(policy.matrix.values())
    found += [rule.actions.assign for rule in policy.rules]
    return [o.instances.get(instance, o) for o in found if o is not None]


def _groups(a: ZendeskAdapter) -> Check:
    a.load_groups()
    names = list(dict.fromkeys(o.group for o in owners(a.policy, a.instance) if o.group))
    missing = [g for g in names if a.directory.group_id(g) is None]
    if missing:
        return Check(
            "groups",
            False,
            f"no Zendesk group named {', '.join(map(repr, missing))}. Fix: create it in Admin"
            " Center > People > Groups, or correct the owner's group in the policy.",
        )
    return Check("groups", True, f"every owner group exists ({len(names)})")


def _assignees(a: ZendeskAdapter) -> Check:
    """Each assignee resolves through the `users` map or one exact e-mail lookup."""
    wanted = list(dict.fromkeys(o.assignee for o in owners(a.policy, a.instance) if o.assignee))
    if not wanted:
        return Check("assignees", True, "the policy names no assignee")
    users = {k.casefold(): v for k, v in a.settings.users.items()}
    ids = {who: users.get(who.casefold(), as_int(who)) for who in wanted}
    known = {as_int(u.get("id")): u for u in a.client.users(i for i in ids.values() if i)}
    problems = []
    for who, uid in ids.items():
        if uid is not None:
            user = known.get(uid)
            if user is None or user.get("role") not in AGENT_ROLES:
                problems.append(f"{who!r} (user {uid}) is not an agent of this account")
        elif "@" in who:
            if not any(u.get("role") in AGENT_ROLES for u in a.client.users_by_email(who)):
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
    if _sets_priority(policy):
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


def _sets_priority(policy: Policy) -> bool:
    rules = any(rule.actions.priority is not None for rule in policy.rules)
    return rules or any(lv.model.priority_at_least for lv in policy.levels)


def _scope(a: ZendeskAdapter) -> Check:
    try:
        a.client.export_page(export_query(a.settings.scope), 1, None)
    except Rejected as exc:
        fix = f"Fix: correct instances.{a.instance}.scope (Zendesk search syntax)."
        return Check("scope", False, f"{sentence(exc)} {fix}")
    return Check("scope", True, f"search export accepts {a.settings.scope!r}")


def rate_check(seen: tuple[int, int] | None, budget: int) -> Check:
    """Passes unless under 10% of the per-minute limit is left, or our budget exceeds it."""
    if seen is None:
        return Check("rate limit", True, "not reported (no X-Rate-Limit header in the answers)")
    limit, remaining = seen
    detail = f"{remaining} of {limit} requests a minute left"
    if limit and remaining < LOW_RATE * limit:
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


def sentence(text: object) -> str:
    """`text` ending with one full stop (platform messages often bring their own)."""
    out = str(text).rstrip()
    return out if out.endswith((".", "!", "?")) else out + "."
