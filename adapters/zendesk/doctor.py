"""`escalate doctor` for Zendesk: each check says what it found or how to fix it; never raises.

The checks, in order: connection (shown only when Zendesk cannot be reached or does not answer
like Zendesk: the message names the host and what to check, not the credentials), credentials,
permissions (agent or admin, admin only for setup; an agent's ticket restriction, and its
custom role's permissions against what the policy writes), fields, options (every
`set_fields` value written to a drop-down is an option's tag), groups, assignees, priorities,
scope, and the rate limit left, read from the headers of the checks' own answers (no extra
request).
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.doctor import (
    Checks,
    approvals_check,
    low,
    missing,
    owner_assignees,
    owner_groups,
    quoted,
    sentence,
    set_values,
    sets_priority,
    unusable_policy_fields,
)
from adapters.errors import (
    AdapterError,
    AuthError,
    PermissionDenied,
    Rejected,
    TransientError,
    Unreachable,
)
from adapters.results import Check
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import AGENT_ROLES, Json, as_int
from adapters.zendesk.permissions import MEMBERS, ROLES, role_problems
from adapters.zendesk.read import export_query
from adapters.zendesk.settings import ApiTokenAuth, ClientCredentialsAuth
from rules.mapping import platform_priority
from rules.policy import Policy

PRIORITIES = ("urgent", "high", "normal", "low")  # Zendesk's fixed priority values


def check(look: Lookups) -> list[Check]:
    try:
        me = look.whoami()
    except (AuthError, PermissionDenied) as exc:
        return [Check("credentials", False, f"{sentence(exc)} {_auth_fix(look)}")]
    except (Unreachable, TransientError) as exc:  # the message says what to check
        return [Check("connection", False, str(exc))]
    except AdapterError as exc:  # a 404 or a page that is not Zendesk's: not the credentials
        fix = "Fix: set the instance's url to the account's base URL"
        fix += " (https://SUBDOMAIN.zendesk.com)."
        return [Check("connection", False, f"{sentence(exc)} {fix}")]
    checks = Checks(
        [Check("credentials", True, f"signed in as {me.get('name')} <{me.get('email')}>")]
    )
    allowed = checks.step("permissions", lambda: _permissions(look, me))
    if not allowed and me.get("role") not in AGENT_ROLES:
        return checks.found  # an end user may not read the rest: its checks would mislead
    if checks.step("fields", lambda: _fields(look)):
        checks.step("options", lambda: _options(look))
    checks.step("groups", lambda: _groups(look))
    checks.step("assignees", lambda: _assignees(look))
    checks.step(
        "approvals", lambda: approvals_check(look.policy, look.titles, _members(look), "zendesk")
    )
    checks.add(_priorities(look.policy))
    checks.step("scope", lambda: _scope(look))
    checks.add(rate_check(look.client.session.rate_limit, look.settings.budget.requests_per_minute))
    return checks.found


def _members(look: Lookups) -> Callable[[str], int | None]:
    def count(group: str) -> int | None:
        look.groups()
        gid = look.people.group_id(group)
        return None if gid is None else len(look.client.group_members(gid))

    return count


def _auth_fix(look: Lookups) -> str:
    auth = look.settings.auth
    where = "Admin Center > Apps and integrations > APIs"
    if isinstance(auth, ClientCredentialsAuth):
        return f"Fix: check the OAuth client's id and secret ({where} > OAuth Clients)."
    if isinstance(auth, ApiTokenAuth):
        return f"Fix: check the e-mail, and make a new API token ({where} > API tokens)."
    return "Fix: get a new OAuth access token (this one is not renewed by the connector)."


def _permissions(look: Lookups, me: Json) -> Check:
    """The account's role (and, for an agent with a custom role, what the role may do) against
    what the policy writes."""
    role = str(me.get("role") or "end-user")
    if role == "admin":
        return Check("permissions", True, "admin: may run, and may create fields and the view")
    if role != "agent":
        return Check(
            "permissions",
            False,
            f"the account is a(n) {role}: the connector needs an agent (an admin for `escalate"
            f" setup`). Fix: make it an agent in {MEMBERS}.",
        )
    rid = as_int(me.get("custom_role_id"))
    found = _custom_role(look, rid) if rid is not None else None
    if rid is not None and found is None:
        return Check(
            "permissions",
            False,
            f"the account's custom role (id {rid}) is not among GET /api/v2/custom_roles. Fix:"
            f" check its role in {MEMBERS}.",
        )
    config = (found or {}).get("configuration")
    who = f"agent (custom role {found.get('name')!r})" if found else "agent"
    problems = role_problems(me, config if isinstance(config, dict) else None, look.policy)
    if problems:
        return Check(
            "permissions",
            False,
            f"the account is an {who}, but {'; '.join(problems)}. Fix: give it a role that may"
            f" edit all tickets ({ROLES}), or make it an admin.",
        )
    fields = isinstance(config, dict) and config.get("manage_ticket_fields")
    setup = (
        "may create fields; the shared view needs an admin"
        if fields
        else "`escalate setup` (creating fields and the view) needs an admin"
    )
    return Check("permissions", True, f"{who}: may run; {setup}")


def _custom_role(look: Lookups, rid: int) -> Json | None:
    return next((r for r in look.client.custom_roles() if as_int(r.get("id")) == rid), None)


def _fields(look: Lookups) -> Check:
    statuses = look.fields()  # SetupError names every unusable tracking field and the fix
    if off := unusable_policy_fields(look.policy, statuses):
        return Check("fields", False, off)
    return Check("fields", True, f"{len(statuses)} fields found, each active and writable")


def _options(look: Lookups) -> Check:
    """Every value the policy's `set_fields` writes to a drop-down (tagger, multiselect) is
    one of its options' tags. Zendesk takes any other with a 200 and silently drops it."""
    fmap = look.fieldmap()
    wanted = [
        (fid, values)
        for name, values in set_values(look.policy).items()
        if (fid := fmap.custom.get(name)) is not None and fid in fmap.options
    ]
    if not wanted:
        return Check("options", True, "no field the connector writes is a drop-down")
    problems = []
    for fid, values in wanted:
        tags = [tag for tag, _ in fmap.options[fid]]
        lacking = missing(values, tags)
        if lacking:
            problems.append(
                f"drop-down {fmap.titles[fid]!r} (id {fid}) has no option tagged"
                f" {quoted(lacking)} (tags: {', '.join(tags) or 'none'})"
                + _named(lacking, fmap.options[fid])
            )
    titles = ", ".join(repr(fmap.titles[fid]) for fid, _ in wanted)
    if problems:
        return Check(
            "options",
            False,
            "; ".join(problems) + ". Fix: add the options (Admin Center > Objects and rules >"
            " Tickets > Fields), or set the policy's set_fields to an option's tag. Zendesk"
            " accepts any other value and silently drops it.",
        )
    return Check("options", True, f"every value written is an option's tag of {titles}")


def _named(values: list[str], options: list[tuple[str, str]]) -> str:
    """A hint for values that are an option's name rather than its tag."""
    by_name = {name.casefold(): tag for tag, name in options}
    hints = [
        f"{v!r} is the name of {by_name[v.casefold()]!r}" for v in values if v.casefold() in by_name
    ]
    return f"; {', '.join(hints)}" if hints else ""


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
