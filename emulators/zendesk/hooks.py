"""Webhooks and the triggers that call them, as Zendesk documents them (the Webhooks API,
Create Trigger), and their deliveries, signed as Zendesk signs them.

- `POST /api/v2/webhooks` (admins): `name`, `endpoint`, `http_method`, `request_format` and
  `status` are required (else 400, in the `errors` list form); a webhook that triggers call
  subscribes to `conditional_ticket_events` only. Its id is a 26-character ULID, and it gets a
  signing secret, shown by `GET /api/v2/webhooks/{id}/signing_secret`
  (`{"signing_secret": {"algorithm": "SHA256", "secret": ...}}`). `GET /api/v2/webhooks` lists
  them (cursor-paged; one page here).
- `POST /api/v2/triggers` (422 RecordInvalid when incomplete; admins here, where the reference
  also allows agents whose custom role may manage triggers, not modelled): `title`,
  `conditions` and `actions`. Conditions emulated: `update_type` (is Create / Change),
  `current_user` (is / is_not a user id) and `status` (is, is_not, less_than, greater_than);
  others are refused with a 422 that says the emulator does not model them (a trigger must not
  fire where Zendesk's would not). `notification_webhook` actions name a webhook and a body,
  whose `{{ticket.id}}`, `{{ticket.status}}`, `{{ticket.priority}}` and
  `{{ticket.updated_at_with_timestamp}}` are filled in (others render empty, as Liquid does).
- After each ticket change, matching active triggers queue a delivery per webhook action:
  `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, TIMESTAMP + BODY)) with
  `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601, the emulator's clock), plus the account,
  webhook and invocation id headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from typing import TYPE_CHECKING

from emulators.outbox import Delivery
from emulators.zendesk.wire import FORBIDDEN, STATUSES, Json, Refused, invalid, not_found, stamp

if TYPE_CHECKING:
    from emulators.zendesk.api import ZendeskEmulator

ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REQUIRED = ("name", "endpoint", "http_method", "request_format", "status")
CONDITIONS = {
    "update_type": {"is"},
    "current_user": {"is", "is_not"},
    "status": {"is", "is_not", "less_than", "greater_than"},
}
PLACEHOLDER = re.compile(r"{{\s*ticket\.([a-z_]+)\s*}}")


def _admin(z: ZendeskEmulator, user: int) -> None:
    if z.users[user]["role"] != "admin":
        raise Refused(403, FORBIDDEN)


def webhooks(z: ZendeskEmulator, method: str, parts: list[str], data: Json, user: int) -> Json:
    """/api/v2/webhooks[/{id}[/signing_secret]]"""
    _admin(z, user)
    if method == "POST" and len(parts) == 1:
        return {"webhook": create_webhook(z, data.get("webhook"), user)}
    if method == "GET" and len(parts) == 1:
        listed = sorted(z.webhooks.values(), key=lambda w: str(w["id"]))
        return {
            "webhooks": listed,
            "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
            "links": {"next": None, "prev": None},
        }
    hook = z.webhooks.get(parts[1]) if len(parts) > 1 else None
    if hook is None:
        raise not_found()
    if method == "GET" and len(parts) == 2:
        return {"webhook": hook}
    if method == "GET" and parts[2:] == ["signing_secret"]:
        return {"signing_secret": {"algorithm": "SHA256", "secret": z.webhook_secrets[parts[1]]}}
    raise Refused(404, {"error": "InvalidEndpoint", "description": "Not found"})


def _bad(title: str) -> Refused:
    """The Webhooks API's 400, in its `errors` list form."""
    return Refused(400, {"errors": [{"code": "InvalidInput", "title": title}]})


def create_webhook(z: ZendeskEmulator, spec: object, user: int) -> Json:
    if not isinstance(spec, dict):
        raise _bad("webhook missing")
    missing = [k for k in REQUIRED if not spec.get(k)]
    if missing:
        raise _bad(f"{', '.join(missing)}: required")
    if spec["status"] not in ("active", "inactive"):
        raise _bad("status: must be active or inactive")
    subscriptions = list(spec.get("subscriptions") or [])
    if "conditional_ticket_events" in subscriptions and len(subscriptions) > 1:
        raise _bad("a webhook for triggers subscribes to conditional_ticket_events only")
    wid = "01" + "".join(secrets.choice(ULID) for _ in range(24))
    now = stamp(z.clock())
    hook: Json = {
        "id": wid,
        "name": str(spec["name"]),
        "description": str(spec.get("description") or ""),
        "endpoint": str(spec["endpoint"]),
        "http_method": str(spec["http_method"]),
        "request_format": str(spec["request_format"]),
        "status": spec["status"],
        "subscriptions": subscriptions,
        "created_at": now,
        "created_by": str(user),
        "updated_at": now,
        "updated_by": str(user),
    }
    z.webhooks[wid] = hook
    z.webhook_secrets[wid] = secrets.token_urlsafe(32)
    return hook


def create_trigger(z: ZendeskEmulator, data: Json, user: int) -> Json:
    _admin(z, user)
    spec = data.get("trigger")
    if not isinstance(spec, dict) or not spec.get("title"):
        raise invalid("Title: cannot be blank")
    conditions = spec.get("conditions") or {}
    for group in ("all", "any"):
        for c in conditions.get(group) or []:
            ops = CONDITIONS.get(str(c.get("field")))
            if ops is None or c.get("operator") not in ops:
                raise invalid(f"emulator: condition {c!r} is not modelled")
    actions = spec.get("actions") or []
    if not actions:
        raise invalid("Actions: cannot be blank")
    for action in actions:
        if action.get("field") == "notification_webhook":
            value = action.get("value")
            if not (isinstance(value, list) and len(value) == 2 and value[0] in z.webhooks):
                raise invalid(f"notification_webhook: unknown webhook in {value!r}")
    tid = z._next()
    now = stamp(z.clock())
    trigger: Json = {
        "id": tid,
        "url": f"{z.base_url}/api/v2/triggers/{tid}.json",
        "title": str(spec["title"]),
        "raw_title": str(spec["title"]),
        "description": spec.get("description"),
        "active": bool(spec.get("active", True)),
        "position": len(z.triggers) + 1,
        "conditions": {"all": conditions.get("all") or [], "any": conditions.get("any") or []},
        "actions": actions,
        "category_id": str(spec.get("category_id") or "10001"),
        "created_at": now,
        "updated_at": now,
    }
    z.triggers[tid] = trigger
    return {"trigger": trigger}


def list_triggers(z: ZendeskEmulator) -> Json:
    listed = sorted(z.triggers.values(), key=lambda t: int(t["position"]))
    return {"triggers": listed, "count": len(listed), "next_page": None, "previous_page": None}


def fire(z: ZendeskEmulator, tid: int, author: int, created: bool) -> None:
    """Queue the deliveries of every active trigger this change matches."""
    if z.outbox is None:
        return
    ticket = z.tickets.get(tid)
    if ticket is None:
        return
    for trigger in sorted(z.triggers.values(), key=lambda t: int(t["position"])):
        conditions = trigger["conditions"]
        checks = [_holds(c, ticket, author, created) for c in conditions["all"]]
        anyof = [_holds(c, ticket, author, created) for c in conditions["any"]]
        if not trigger["active"] or not all(checks) or (anyof and not any(anyof)):
            continue
        for action in trigger["actions"]:
            if action.get("field") == "notification_webhook":
                hook = z.webhooks.get(action["value"][0])
                if hook is not None and hook["status"] == "active":
                    _deliver(z, hook, _render(str(action["value"][1]), ticket))


def _holds(c: Json, ticket: Json, author: int, created: bool) -> bool:
    field, op, value = c.get("field"), c.get("operator"), str(c.get("value"))
    if field == "update_type":
        return value == ("Create" if created else "Change")
    if field == "current_user":
        return (str(author) == value) == (op == "is")
    rank = STATUSES.index(ticket["status"])
    wanted = STATUSES.index(value) if value in STATUSES else -1
    return {
        "is": rank == wanted,
        "is_not": rank != wanted,
        "less_than": rank < wanted,
        "greater_than": rank > wanted,
    }[str(op)]


def _render(body: str, ticket: Json) -> str:
    values = {
        "id": str(ticket["id"]),
        "status": str(ticket["status"]),
        "priority": str(ticket["priority"] or ""),
        "updated_at_with_timestamp": str(ticket["updated_at"]),
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), body)


def _deliver(z: ZendeskEmulator, hook: Json, text: str) -> None:
    assert z.outbox is not None
    body = text.encode()
    at = stamp(z.clock())
    secret = z.webhook_secrets[hook["id"]]
    mac = hmac.new(secret.encode(), at.encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json" if hook["request_format"] == "json" else "text/plain",
        "User-Agent": "Zendesk Webhook",
        "X-Zendesk-Account-Id": "123456",
        "X-Zendesk-Webhook-Id": str(hook["id"]),
        "X-Zendesk-Webhook-Invocation-Id": str(z._next()),
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": at,
    }
    z.outbox.put(Delivery(str(hook["endpoint"]), str(hook["http_method"]), headers, body))


def sample_body() -> str:
    """The body `escalate setup` gives its trigger (for tests)."""
    return json.dumps({"ticket_id": "{{ticket.id}}"})
