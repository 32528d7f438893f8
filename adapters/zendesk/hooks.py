"""Zendesk: a webhook for `escalate serve`, and the trigger that calls it.

- The webhook (Webhooks API, `POST /api/v2/webhooks`): POST, JSON, active, subscribed to
  `conditional_ticket_events` (the only subscription a webhook called by triggers may have).
  Zendesk makes its signing secret; setup reads it back
  (`GET /api/v2/webhooks/{id}/signing_secret`) for the connector's config.
- The trigger (`POST /api/v2/triggers`): on any ticket created or changed by someone other than
  the connector's own account, below solved, send `{"ticket_id": "{{ticket.id}}"}` to the
  webhook. Leaving out the connector's own changes keeps its writes from calling it back.
Existing ones pointing at the URL are kept as they are (never duplicated); doctor says when one
is inactive or when the configured secret is not the webhook's.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from adapters.errors import AdapterError, AuthError
from adapters.results import Check
from adapters.secrets import register
from adapters.setup import Done, Plan, Request, Step, fill, pending_id
from adapters.webhooks import NAME, Made
from adapters.zendesk.lookups import Lookups

Json = dict[str, Any]
HOOKS = "/api/v2/webhooks"
TRIGGERS = "/api/v2/triggers"
BODY = json.dumps({"ticket_id": "{{ticket.id}}"})


def _hooks(look: Lookups, url: str) -> list[Json]:
    page = look.client.get(HOOKS, {"page[size]": "100"})
    return [
        h for h in page.get("webhooks") or [] if isinstance(h, dict) and h.get("endpoint") == url
    ]


def _triggers(look: Lookups, hook_id: str) -> list[Json]:
    page = look.client.get(TRIGGERS, {})
    return [
        t
        for t in page.get("triggers") or []
        if isinstance(t, dict)
        and any(
            a.get("field") == "notification_webhook" and (a.get("value") or [None])[0] == hook_id
            for a in t.get("actions") or []
        )
    ]


def plan(look: Lookups, url: str) -> Plan:
    out = Plan(look.instance, "zendesk")
    found = _hooks(look, url)
    hook_id = str(found[0]["id"]) if found else pending_id(NAME)
    if not found:
        body = {
            "webhook": {
                "name": NAME,
                "description": "Tells escalate serve which tickets changed.",
                "endpoint": url,
                "http_method": "POST",
                "request_format": "json",
                "status": "active",
                "subscriptions": ["conditional_ticket_events"],
            }
        }
        request = Request("POST", HOOKS, body)
        out.steps.append(Step("webhook", NAME, "webhook", f"POST {url}, signed", request))
    if found and _triggers(look, hook_id):
        return out
    me = look.client.me().get("id")
    title = f"{NAME}: tell it of ticket changes"
    trigger = {
        "trigger": {
            "title": title,
            "description": "Made by escalate setup: calls the connector's webhook.",
            "active": True,
            "conditions": {
                "all": [
                    {"field": "current_user", "operator": "is_not", "value": str(me)},
                    {"field": "status", "operator": "less_than", "value": "solved"},
                ],
                "any": [
                    {"field": "update_type", "operator": "is", "value": "Create"},
                    {"field": "update_type", "operator": "is", "value": "Change"},
                ],
            },
            "actions": [{"field": "notification_webhook", "value": [hook_id, BODY]}],
        }
    }
    needs = () if found else (NAME,)
    summary = "ticket created or changed by others, below solved"
    request = Request("POST", TRIGGERS, trigger)
    out.steps.append(Step("trigger", title, "trigger", summary, request, needs=needs))
    return out


def apply(look: Lookups, plan: Plan) -> Made:
    made = Made()
    ids: dict[str, str] = {}
    for step in plan.steps:
        lost = [t for t in step.needs if t not in ids]
        sent = Request(step.request.method, step.request.path, fill(step.request.body, ids))
        if lost:
            made.done.append(
                Done(step, None, sent, problem="not sent: the webhook was not created")
            )
            continue
        try:
            answer = look.client.post(sent.path, sent.body)
        except AuthError:
            raise
        except AdapterError as exc:
            made.done.append(Done(step, None, sent, problem=str(exc)))
            continue
        if step.what == "webhook":
            hook_id = str((answer.get("webhook") or {}).get("id") or "")
            ids[NAME] = hook_id
            made.secret = _secret(look, hook_id)
            made.done.append(Done(step, hook_id or None, sent))
        else:
            made.done.append(Done(step, str((answer.get("trigger") or {}).get("id")), sent))
    return made


def _secret(look: Lookups, hook_id: str) -> str | None:
    shown = look.client.get(f"{HOOKS}/{hook_id}/signing_secret")
    secret = (shown.get("signing_secret") or {}).get("secret")
    if not secret:
        return None
    register(str(secret))  # masked from here on, wherever it might be echoed
    return str(secret)


def check(look: Lookups, url: str, secret: str | None) -> list[Check]:
    try:
        found = _hooks(look, url)
    except AdapterError as exc:
        return [Check("webhook", False, f"cannot list webhooks ({exc}); an admin may")]
    if not found:
        return [Check("webhook", False, f"none sends to {url}: run escalate setup")]
    hook = found[0]
    out = [
        Check(
            "webhook",
            hook.get("status") == "active",
            f"{hook.get('name')!r} ({hook.get('id')}) sends to {url}, {hook.get('status')}",
        )
    ]
    hook_id = str(hook["id"])
    if secret is not None:
        try:
            kept = (_secret(look, hook_id) or "").encode()
            same = hmac.compare_digest(kept, secret.encode())  # bytes: a str must be ASCII
        except AdapterError as exc:
            same, why = False, f"cannot read its signing secret ({exc})"
        else:
            why = (
                "the configured secret is the webhook's"
                if same
                else (
                    "the configured secret is not the webhook's: copy it from Admin Center >"
                    " Apps and integrations > Webhooks (or re-run escalate setup)"
                )
            )
        out.append(Check("webhook secret", same, why))
    active = [t for t in _triggers(look, hook_id) if t.get("active")]
    detail = (
        f"trigger {active[0].get('title')!r} calls it"
        if active
        else "no active trigger calls it: run escalate setup"
    )
    out.append(Check("webhook trigger", bool(active), detail))
    return out
