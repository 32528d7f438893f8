"""Who may call what: the account's roles, as the API reference's "Allowed for" lines say.

- `users/me` answers anyone signed in, and `ticket_fields` too (an end user sees only the
  fields `visible_in_portal`); every other endpoint here is for agents and admins, and an end
  user is refused with Zendesk's 403 `Forbidden` body.
- Creating a ticket field is for admins ("Allowed For: Admins"), and here also for an agent
  whose custom role may manage ticket fields (`manage_ticket_fields`).
- Updating tickets (one, or `update_many`) is refused with the same 403 to a light agent
  (`role_type` 1) and to an agent whose custom role may not edit ticket properties
  (`ticket_editing: false`). The reference does not say how Zendesk refuses those (it lists no
  403 for Update Ticket): the 403 is this emulator's assumption, the strict reading.
- `GET /custom_roles` ("Allowed For: Agents"; Enterprise plans) lists the roles with their
  `configuration`.

A custom role is `add_custom_role(name, **configuration)` (unset permissions take the values of
Zendesk's built-in Agent role below) and `assign_role(user, role_id)`, which sets the user's
`custom_role_id`, `role_type` 0 and `ticket_restriction` from the role's `ticket_access`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulators.zendesk.wire import FORBIDDEN, Json, Refused, stamp

if TYPE_CHECKING:
    from emulators.zendesk.account import Account

#: A custom role's configuration unless it says otherwise (as the built-in Agent role).
AGENT_DEFAULTS: Json = {
    "ticket_access": "all",
    "ticket_editing": True,
    "ticket_comment_access": "public",
    "ticket_tag_editing": True,
    "manage_ticket_fields": False,
    "view_access": "manage-personal",
}
RESTRICTIONS = {  # a role's ticket_access -> the user's ticket_restriction
    "all": None,
    "within-groups": "groups",
    "within-groups-and-public-groups": "groups",
    "assigned-only": "assigned",
    "within-organization": "organization",
}
#: Routes an end user may call too (List Ticket Fields shows them the portal's fields only).
ANYONE = {("GET", "users", "me"), ("GET", "ticket_fields")}
EDITS = {("PUT", "tickets", "{id}"), ("PUT", "tickets", "update_many")}


def add_custom_role(account: Account, name: str, **configuration: object) -> int:
    rid = account._next()
    account.custom_roles[rid] = {
        "id": rid,
        "name": name,
        "description": "",
        "role_type": 0,
        "team_member_count": 0,
        "created_at": stamp(account.clock()),
        "updated_at": stamp(account.clock()),
        "configuration": {**AGENT_DEFAULTS, **configuration},
    }
    return rid


def assign_role(account: Account, user: int, role_id: int) -> None:
    role = account.custom_roles[role_id]
    access = role["configuration"]["ticket_access"]
    account.users[user] |= {
        "role": "agent",
        "role_type": 0,
        "custom_role_id": role_id,
        "restricted_agent": access != "all",
        "ticket_restriction": RESTRICTIONS.get(access),
    }
    role["team_member_count"] += 1


def authorize(account: Account, user: int, key: tuple[str, ...]) -> None:
    """Raise the 403 Zendesk answers when `user` may not call the route `key`."""
    if key in ANYONE:
        return
    person = account.users[user]
    role = person.get("role")
    if role == "admin":
        return
    if role != "agent":
        raise Refused(403, FORBIDDEN)
    config = configuration(account, person)
    if key in EDITS and (person.get("role_type") == 1 or not config.get("ticket_editing")):
        raise Refused(403, FORBIDDEN)
    if key == ("POST", "ticket_fields") and not config.get("manage_ticket_fields"):
        raise Refused(403, FORBIDDEN)


def configuration(account: Account, person: Json) -> Json:
    """What an agent may do: their custom role's configuration, else the built-in Agent's."""
    role = account.custom_roles.get(person.get("custom_role_id") or -1)
    return dict(role["configuration"]) if role else dict(AGENT_DEFAULTS)


def list_roles(account: Account) -> Json:
    return {"custom_roles": list(account.custom_roles.values())}
