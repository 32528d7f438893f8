"""What each Jira endpoint the connector calls needs of its account, by permission name.

`need(what)` answers for one request ("METHOD /rest/api/3/issue/SUP-1/comment"), so a 403 names
the permission (`adapters.http.error_for`), and `PERMISSIONS` says what each permission the
doctor asks `mypermissions` about is for, and what lacking it blocks.

How Jira refuses a missing permission is not always a 403 (measured on Data Center 8.20.7, and
as the Cloud API reference documents): an edit without Edit Issues is a 400 "Field ... cannot
be set. It is not on the appropriate screen" for every field (editmeta lists none), an assignee
without Assign Issues the same 400 for `assignee`, and a comment without Add Comments a 400
"..., you do not have the permission to comment on this issue". Only the assignee endpoint
(`PUT /issue/{key}/assignee`, which the connector does not use) answers 403 for its permission;
Jira also answers 403 when the site is read-only, or to an override flag. So the write path
recognises those 400s too (`adapters.jira.write.write_hook`, `Lookups.project_meta`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.http import Need


@dataclass(frozen=True)
class Permission:
    key: str
    name: str
    blocks: str
    scope: str = "project"  # or "global"

    def label(self) -> str:
        return f"{self.name} ({self.key})"


PERMISSIONS = {
    p.key: p
    for p in (
        Permission("BROWSE_PROJECTS", "Browse Projects", "every read of the scope's tickets"),
        Permission(
            "EDIT_ISSUES",
            "Edit Issues",
            "every write (tracking fields, group, priority; Jira refuses each field as 'not on"
            " the appropriate screen')",
        ),
        Permission("ADD_COMMENTS", "Add Comments", "the handoff notes and customer replies"),
        Permission(
            "ASSIGN_ISSUES",
            "Assign Issues",
            "reassigning (Jira refuses the assignee as 'not on the appropriate screen')",
        ),
        Permission(
            "ADMINISTER",
            "Administer Jira",
            "`escalate setup` creating the missing tracking fields",
            "global",
        ),
        Permission(
            "CREATE_SHARED_OBJECTS",
            "Share dashboards and filters",
            "`escalate setup` sharing the 'Escalated tickets' filter",
            "global",
        ),
        Permission(
            "USER_PICKER",
            "Browse users and groups",
            "looking up an assignee missing from the instance's users map, and listing the"
            " members of an approver group",
            "global",
        ),
    )
}

_KEY = r"(?P<ref>[^/]+)"
#: (method, path after /rest/api/<version>, permission keys). The first match wins.
ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("PUT", rf"/issue/{_KEY}/assignee", ("ASSIGN_ISSUES",)),
    ("POST", rf"/issue/{_KEY}/comment", ("ADD_COMMENTS",)),
    ("PUT", rf"/issue/{_KEY}", ("EDIT_ISSUES",)),
    ("GET", rf"/issue/{_KEY}(/.*)?", ("BROWSE_PROJECTS",)),
    ("*", r"/search(/jql)?|/(changelog|issue)/bulkfetch", ("BROWSE_PROJECTS",)),
    ("POST", r"/field", ("ADMINISTER",)),
    ("POST", r"/filter", ("CREATE_SHARED_OBJECTS",)),
    ("GET", r"/user(/search)?|/group/member", ("USER_PICKER",)),
)
GLOBAL_WHERE = "Jira settings → System → Global permissions"


def need(what: str) -> Need | None:
    """The permission the request `what` ("METHOD /rest/api/N/...") needs, if the table knows."""
    method, _, path = what.partition(" ")
    rest = re.sub(r"^/rest/api/(2|3|latest)", "", path)
    for verb, pattern, keys in ENDPOINTS:
        found = re.fullmatch(pattern, rest)
        if found and verb in (method, "*"):
            ref = found.groupdict().get("ref")
            return _need([PERMISSIONS[k] for k in keys], _where(ref))
    return None


def _where(ref: str | None) -> str:
    """Where a project permission is needed: the project of an issue key (SUP-12 -> project
    SUP), the issue's project (a numeric id), or the scope's projects (a search)."""
    if ref is None:
        return "the projects of the scope"
    head, sep, tail = ref.rpartition("-")
    return f"project {head}" if sep and tail.isdigit() else "the issue's project"


def _need(perms: list[Permission], where: str) -> Need:
    names = " and ".join(p.label() for p in perms)
    if all(p.scope == "global" for p in perms):
        return Need(
            f"the global permission {names}",
            f"grant it to the account (or a group it is in) in {GLOBAL_WHERE}",
        )
    return Need(
        f"{names} in {where}",
        f"grant it to the account (or a group or project role it is in) in the permission"
        f" scheme of {where} (Project settings → Permissions); if the account has it, the site"
        " may be read-only",
    )
