"""`escalate doctor` for Jira: each check says what it found or how to fix it; never raises.

The checks, in order: connection, credentials, scope (the JQL, run for one small page, whose
projects the later checks look at), permissions (only those the policy's writes need, per
project, each named with what lacking it blocks), fields, edit screens, priorities, groups (the
group field's options), options (every value the policy writes to a select list: level and rule
names, `set_fields` values), assignees, and the rate limit left, read from the headers of the
checks' own answers.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.doctor import (
    FREE_TRACKING,
    Checks,
    approvals_check,
    low,
    missing,
    owner_assignees,
    owner_groups,
    owners,
    quoted,
    sentence,
    set_values,
    sets_priority,
    tracking_values,
    unusable_policy_fields,
)
from adapters.errors import AdapterError, AuthError, NotFound, Rejected
from adapters.jira.approvals import group_members
from adapters.jira.body import ProjectMeta
from adapters.jira.client import RateLimit
from adapters.jira.fields import Field, screen_problems
from adapters.jira.lookups import Lookups
from adapters.jira.permissions import PERMISSIONS
from adapters.jira.settings import CloudAuth
from adapters.results import Check
from rules.errors import EscalationError
from rules.mapping import platform_priority
from rules.policy import Policy

PERMISSIONS_WHERE = "Project settings → Permissions (the project's permission scheme)"
SETUP = "ADMINISTER"  # creating custom fields (escalate setup)


def check(look: Lookups) -> list[Check]:
    try:
        flavour = look.client.flavour
    except AuthError as exc:
        reached = Check("connection", True, f"Jira answered at {look.settings.url}")
        return [reached, Check("credentials", False, f"{exc} {_auth_fix(look)}")]
    except (AdapterError, EscalationError) as exc:
        return [Check("connection", False, str(exc))]
    api = "REST API v3, ADF comments" if look.cloud else "REST API v2, wiki comments"
    version = ".".join(str(v) for v in look.client.version)
    out = [Check("connection", True, f"Jira {flavour.value} {version} ({api})")]
    try:
        me = look.client.get(f"{look.client.api}/myself") or {}
    except AdapterError as exc:
        fix = f" {_auth_fix(look)}" if isinstance(exc, AuthError) else ""
        return [*out, Check("credentials", False, f"{exc}{fix}")]
    out.append(Check("credentials", True, f"signed in as {me.get('displayName', '?')}"))

    checks = Checks(out)
    step = checks.step
    scoped = step("scope", lambda: _scope(look))
    step("permissions", lambda: _permissions(look) if scoped else None)
    fields = step("fields", lambda: _fields(look))
    for needed in ("state", "level"):
        if needed not in look.titles:
            detail = f"no field mapped for {needed}: map it under platforms.jira.fields"
            checks.add(Check(f"tracking.{needed}", False, detail))
    metas: dict[str, ProjectMeta] = {}
    if scoped and fields:
        step("edit screens", lambda: _screens(look, metas))
    step("priorities", lambda: _priorities(look, metas))
    if fields:
        step("groups", lambda: _groups(look, metas))
        step("options", lambda: _options(look, metas))
    step("assignees", lambda: _assignees(look))
    step("approvals", lambda: approvals_check(look.policy, look.titles, _members(look), "jira"))
    checks.add(rate_check(look.client.rate, look.cloud))
    return checks.found


def _members(look: Lookups) -> Callable[[str], int | None]:
    def count(group: str) -> int | None:
        try:
            return len(group_members(look.client, group))
        except NotFound:
            return None

    return count


def _auth_fix(look: Lookups) -> str:
    if isinstance(look.settings.auth, CloudAuth):
        return (
            "Fix: make a new API token (id.atlassian.com → Security → API tokens) for the"
            f" account {look.settings.auth.email} and store it where"
            f" instances.{look.instance}.auth.api_token points."
        )
    return (
        "Fix: make a new personal access token (your Jira profile → Personal Access Tokens)"
        f" and store it where instances.{look.instance}.auth.personal_access_token points."
    )


def _scope(look: Lookups) -> Check:
    try:
        projects = sorted(look.sample())
    except Rejected as exc:
        fix = f"Fix: correct the JQL in instances.{look.instance}.scope."
        return Check("scope", False, f"{sentence(exc)} {fix}")
    found = f"its first page has tickets in {', '.join(projects)}" if projects else ""
    return Check("scope", True, f"valid JQL: {look.settings.jql!r}; {found or 'no ticket now'}")


def needed_permissions(policy: Policy, instance: str) -> list[str]:
    """Only what the policy's writes need (a new owner also unassigns, so ASSIGN_ISSUES)."""
    keys = ["BROWSE_PROJECTS", "EDIT_ISSUES"]
    if any(rule.actions.note or rule.actions.reply for rule in policy.rules):
        keys.append("ADD_COMMENTS")
    if owners(policy, instance):
        keys.append("ASSIGN_ISSUES")
    return keys


def _permissions(look: Lookups) -> Check:
    """Each permission the writes need, per project of the scope's first page (reported by
    name, with what lacking it blocks); and whether `escalate setup` may create fields."""
    keys = needed_permissions(look.policy, look.instance)
    projects: list[str | None] = list(look.sample()) or [None]
    missing: dict[str, list[str]] = {}
    admin = True
    for project in projects:
        asked = ",".join([*keys, SETUP])
        params = {"permissions": asked} | ({"projectKey": project} if project else {})
        found = look.client.get(f"{look.client.api}/mypermissions", params) or {}
        held = found.get("permissions") or {}
        for key in keys:
            if not (held.get(key) or {}).get("havePermission"):
                missing.setdefault(key, []).append(project or "every project")
        admin = admin and bool((held.get(SETUP) or {}).get("havePermission"))
    where = ", ".join(p or "some project (no ticket in scope to check each)" for p in projects)
    if missing:
        lacks = "; ".join(
            f"{PERMISSIONS[k].label()} in {', '.join(ps)}, which blocks {PERMISSIONS[k].blocks}"
            for k, ps in missing.items()
        )
        return Check(
            "permissions",
            False,
            f"the connector's account lacks {lacks}. Fix: grant them to the account (or a"
            f" group or role it is in) in {PERMISSIONS_WHERE}.",
        )
    setup = "" if admin else f"; {_setup_note()}"
    return Check("permissions", True, f"{', '.join(keys)} in {where}{setup}")


def _setup_note() -> str:
    p = PERMISSIONS[SETUP]
    return f"`escalate setup` needs {p.label()} (a global permission) to create fields"


def _fields(look: Lookups) -> Check:
    statuses = look.fields()  # SetupError names every unusable tracking field and the fix
    if off := unusable_policy_fields(look.policy, statuses):
        return Check("fields", False, off)
    group = look.resolved.group
    extra = f" and the group field {group.name!r}" if group else ""
    detail = f"{len(look.resolved.tracking)} tracking fields{extra}, each with a writable type"
    return Check("fields", True, detail)


def _screens(look: Lookups, metas: dict[str, ProjectMeta]) -> Check:
    """The fields we write are on the edit screen: editmeta of one issue per project of the
    scope's first page (an approximation: screens can differ per issue type)."""
    r = look.resolved
    wanted = [*r.tracking.values(), *([r.group] if r.group else [])]
    problems: list[str] = []
    for project, (key, _) in sorted(look.sample().items()):
        metas[project] = look.project_meta(key, project, check=False)
        problems += screen_problems(metas[project].editable, wanted, project)
    if problems:
        return Check("edit screens", False, "; ".join(problems))
    if not metas:
        return Check("edit screens", True, "no ticket in scope to check the edit screens with")
    return Check("edit screens", True, f"every field we write is editable in {', '.join(metas)}")


def _priorities(look: Lookups, metas: dict[str, ProjectMeta]) -> Check:
    names = list(look.policy.platforms["jira"].priorities)
    have = {p.casefold() for p in _site_priorities(look)}
    problems = [f"Jira has no priority {n!r}" for n in names if n.casefold() not in have]
    if sets_priority(look.policy):
        written = dict.fromkeys(
            platform_priority(look.policy, "jira", p) for p in look.policy.priorities
        )
        for meta in metas.values():
            for name in written:
                try:
                    meta.priority(name)
                except Rejected as exc:
                    problems.append(str(exc))
    if problems:
        fix = "Fix: map the site's priorities under platforms.jira.priorities."
        return Check("priorities", False, "; ".join(problems) + f". {fix}")
    return Check("priorities", True, f"{', '.join(names)} exist")


def _site_priorities(look: Lookups) -> list[str]:
    if not look.cloud:
        return [str(p.get("name")) for p in look.client.get(f"{look.client.api}/priority") or []]
    names: list[str] = []
    for page in range(20):
        params = {"startAt": str(page * 50), "maxResults": "50"}
        found = look.client.get(f"{look.client.api}/priority/search", params) or {}
        names += [str(p.get("name")) for p in found.get("values") or []]
        if found.get("isLast", True):
            return names
    return names


def _groups(look: Lookups, metas: dict[str, ProjectMeta]) -> Check | None:
    """Owner groups are options of the group field (where it is a select list)."""
    fd = look.resolved.group
    groups = owner_groups(look.policy, look.instance)
    if fd is None or not groups:
        return None
    if fd.kind not in ("option", "options"):
        return Check("groups", True, f"{fd.describe()} takes any group name ({fd.kind})")
    problems = []
    for meta in metas.values():
        for group in groups:
            try:
                meta.option(fd, group)
            except Rejected as exc:
                problems.append(str(exc))
    if problems:
        fix = f"Fix: add the options to {fd.describe()} (Settings → Work items → Fields)."
        return Check("groups", False, "; ".join(problems) + f". {fix}")
    return Check("groups", True, f"every owner group is an option of {fd.describe()}")


def _options(look: Lookups, metas: dict[str, ProjectMeta]) -> Check:
    """Every value the policy writes to a select list is one of its options in each project
    (editmeta's allowedValues): the tracking level and rule names, and `set_fields` values.
    Jira refuses any other with 400 "Option value 'X' is not valid"."""
    r = look.resolved
    problems = [
        f"tracking field {name} {fd.describe()} is a select list, but the connector writes"
        " times, counts or bookkeeping text there: map a text field instead"
        for name, fd in r.tracking.items()
        if fd.kind == "option" and name in FREE_TRACKING
    ]
    closed = tracking_values(look.policy)
    wanted = [
        (fd, closed[n]) for n, fd in r.tracking.items() if fd.kind == "option" and n in closed
    ]
    for name, values in set_values(look.policy).items():
        fd = r.custom.get(name)
        if fd is not None and fd.kind in ("option", "options"):
            wanted.append((fd, values))
    if not wanted and not problems:
        return Check("options", True, "no field the connector writes is a select list")
    for project, meta in sorted(metas.items()):
        for fd, values in wanted:
            options = _allowed(meta, fd)
            lacking = missing(values, options or []) if options is not None else []
            if lacking:
                problems.append(
                    f"field {fd.describe()} has no option {quoted(lacking)} in project {project}"
                    f" (options: {', '.join(options or []) or 'none'})"
                )
    names = ", ".join(dict.fromkeys(fd.describe() for fd, _ in wanted))
    if problems:
        return Check("options", False, "; ".join(problems) + f". Fix: {_options_fix(look)}.")
    if not metas:
        return Check("options", True, f"no ticket in scope to read the options of {names} with")
    where = ", ".join(sorted(metas))
    return Check("options", True, f"every value written is an option of {names} in {where}")


def _allowed(meta: ProjectMeta, fd: Field) -> list[str] | None:
    """The option values editmeta lists for `fd` (None: off the screen, or not listed)."""
    entry = meta.editable.get(fd.id)
    if not isinstance(entry, dict) or "allowedValues" not in entry:
        return None
    return [str(v.get("value")) for v in entry["allowedValues"] or () if isinstance(v, dict)]


def _options_fix(look: Lookups) -> str:
    where = (
        "Settings → Work items → Fields → the field → Contexts and default value → Edit options"
        if look.cloud
        else "Administration → Issues → Custom fields → the field → Configure → Edit Options"
    )
    return (
        f"add the missing options to the field's context for those projects ({where}), or"
        " change the policy's level names, rule names or set_fields values to existing options"
    )


def _assignees(look: Lookups) -> Check:
    wanted = owner_assignees(look.policy, look.instance)
    if not wanted:
        return Check("assignees", True, "the policy names no assignee")
    problems = []
    for who in wanted:
        try:
            look.user_ref(who)
        except Rejected as exc:
            problems.append(str(exc))
    if problems:
        return Check("assignees", False, "; ".join(problems))
    return Check("assignees", True, f"every owner assignee resolves ({len(wanted)})")


def rate_check(rate: RateLimit, cloud: bool) -> Check:
    """Passes unless under 10% of the limit is left (Cloud: unless it says it is near)."""
    fix = "Fix: lower budget.requests_per_minute or run the connector less often."
    if rate.limit is not None and rate.remaining is not None:
        detail = f"{rate.remaining} of {rate.limit} requests left"
        if low(rate.limit, rate.remaining):
            return Check("rate limit", False, f"{detail}. {fix}")
        return Check("rate limit", True, detail)
    if rate.near:
        return Check("rate limit", False, f"Jira says under 20% of the rate limit is left. {fix}")
    why = "Jira Cloud reports it only near the limit" if cloud else "no limit configured"
    return Check("rate limit", True, f"not reported ({why})")
