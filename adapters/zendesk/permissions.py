"""What each Zendesk endpoint the connector calls needs of its account, and what an agent's role
lets it do, as the API reference's "Allowed for" lines and the custom role configuration say.

- `need(what)` names, for one request ("PUT /api/v2/tickets/42.json"), what a 403 means the
  account lacks (`adapters.http.error_for`).
- `role_problems(me, role, policy)` lists what the signed-in account (`GET /users/me`) and its
  custom role (`GET /custom_roles`, Enterprise plans) would block of the policy's writes.

Zendesk documents "Allowed for: Agents" for reading and updating tickets, search, users, groups
and views, "Admins" for creating ticket fields and for the incremental exports; custom agent
roles (Enterprise) narrow an agent further: `ticket_editing` (edit ticket properties),
`ticket_access` (all tickets, or only those of the agent's groups, organisation, or assigned
to them), `ticket_comment_access` ("public", or "none": private notes only),
`ticket_tag_editing`, `manage_ticket_fields`. A light agent (`role_type` 1) may not edit ticket
properties. How Zendesk refuses an agent whose role lacks one of these is not documented: the
doctor reads the role rather than waiting for the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.http import Need
from rules.policy import Policy

Json = Mapping[str, Any]
MEMBERS = "Admin Center > People > Team members"
ROLES = "Admin Center > People > Team > Roles"

AGENT = Need(
    "an agent role (an end user may not call this endpoint)",
    f"make the account an agent in {MEMBERS}",
)
EDIT = Need(
    "an agent role that may edit ticket properties (custom role: `ticket_editing`) and see the"
    " ticket (all tickets, or the ticket's group)",
    f"give the account's role those permissions in {ROLES}, or make it an admin",
)
FIELDS = Need(
    "an admin role (or an agent role that may manage ticket fields, `manage_ticket_fields`)",
    f"run `escalate setup` as an admin, or let the role manage ticket fields in {ROLES}",
)
VIEWS = Need(
    "an admin role to create a view shared with every agent (an agent may create only"
    " personal views)",
    "run `escalate setup` as an admin, or create the view by hand",
)
ADMIN = Need(
    "an admin role (the incremental exports are for admins only)",
    f"make the account an admin in {MEMBERS}",
)
#: (method, path under /api/v2 without .json, need). The first match wins.
ENDPOINTS: tuple[tuple[str, str, Need], ...] = (
    ("PUT", r"/tickets/(\d+|update_many)", EDIT),
    ("POST", r"/ticket_fields", FIELDS),
    ("POST", r"/views", VIEWS),
    ("GET", r"/incremental/.*", ADMIN),
    ("*", r"/.*", AGENT),
)
#: Role types (`users/me` `role_type`) that cannot edit tickets at all.
NO_EDITING = {1: "a light agent", 2: "a chat-only agent", 3: "a contributor"}


def need(what: str) -> Need | None:
    """What the request `what` ("METHOD /api/v2/...") needs of the account."""
    method, _, path = what.partition(" ")
    rest = path.removesuffix(".json").removeprefix("/api/v2")
    if rest == path.removesuffix(".json") or rest == "/users/me":
        return None  # not the API (the OAuth token endpoint), or open to anyone signed in
    for verb, pattern, needed in ENDPOINTS:
        if verb in (method, "*") and re.fullmatch(pattern, rest):
            return needed
    return None


def role_problems(me: Json, config: Json | None, policy: Policy) -> list[str]:
    """What the account's role would block, each with the reason (empty: nothing)."""
    problems = []
    kind = NO_EDITING.get(me.get("role_type") or -1)
    if kind:
        problems.append(f"it is {kind}, who may not edit tickets: that blocks every write")
    restriction = me.get("ticket_restriction")
    if restriction:
        problems.append(
            f"it sees only the tickets {_RESTRICTED.get(restriction, restriction)}: the"
            " others in scope are neither read nor written (a ticket moved to another group"
            " drops out of sight)"
        )
    if config is None:
        return problems
    if config.get("ticket_editing") is False:
        problems.append("its role may not edit ticket properties: that blocks every write")
    replies = any(rule.actions.reply for rule in policy.rules if rule.model.enabled)
    if replies and config.get("ticket_comment_access") not in (None, "public"):
        problems.append("its role may not make public comments: that blocks customer replies")
    tags = any(r.actions.add_tags or r.actions.remove_tags for r in policy.rules)
    if tags and config.get("ticket_tag_editing") is False:
        problems.append("its role may not edit tags: that blocks the policy's tag changes")
    return problems


_RESTRICTED = {
    "groups": "of its groups",
    "assigned": "assigned to it",
    "organization": "of its organization",
    "requested": "it requested",
}
