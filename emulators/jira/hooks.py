"""Admin webhooks, as both Jira Cloud and Data Center register them over REST
(`/rest/webhooks/1.0/webhook`), and their deliveries.

- `POST /rest/webhooks/1.0/webhook` (the Administer Jira global permission): `name`, `url` and
  `events` are required; `filters` may hold `issue-related-events-section` (a JQL filter),
  `excludeBody` drops the body, `secret` signs each delivery. 201 with the webhook as listed;
  the secret is never shown again. `GET` lists them all, `GET .../{id}` one, `DELETE .../{id}`
  removes one (204). Cloud's dynamic webhooks (`/rest/api/3/webhook`) are for Connect and
  OAuth 2.0 apps only (the REST reference says so), so they are not modelled.
- After an issue is created (`jira:issue_created`), edited (`jira:issue_updated`) or commented
  on (`comment_created`), each enabled webhook subscribed to the event, whose JQL matches the
  issue, gets a POST: `{"timestamp": ms, "webhookEvent", "issue_event_type_name", "user",
  "issue": {id, self, key, fields}}` (and `comment`), with `X-Atlassian-Webhook-Identifier`
  (unique per delivery) and, when it has a secret, `X-Hub-Signature: sha256=<hex HMAC-SHA256
  of the body>`. Webhooks of installed apps (`apps`) carry a JWT instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING

from emulators.http import Answer
from emulators.jira import apps, jql
from emulators.jira.wire import Issue, Json, answer
from emulators.outbox import Delivery

if TYPE_CHECKING:
    from emulators.jira.api import JiraEmulator

BASE = "/rest/webhooks/1.0/webhook"
EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
EVENTS |= {"comment_created", "comment_updated", "comment_deleted"}
FILTER = "issue-related-events-section"
TYPE_NAMES = {"jira:issue_created": "issue_created", "jira:issue_updated": "issue_updated"}


def route(site: JiraEmulator, method: str, path: str, data: object) -> Answer:
    if not site.may("ADMINISTER"):
        return answer(
            403, {"errorMessages": ["You do not have the permission to manage webhooks."]}
        )
    m = re.fullmatch(re.escape(BASE) + r"(?:/(\d+))?", path)
    if m is None:
        return answer(404, {"errorMessages": ["Not found"]})
    wid = m.group(1)
    admin = {k: h for k, h in site.webhooks.items() if h.get("app") is None}  # not apps'
    if wid is None and method == "GET":
        return answer(200, [_shown(site, h) for h in admin.values()])
    if wid is None and method == "POST":
        return _create(site, data)
    hook = admin.get(wid or "")
    if hook is None:
        return answer(404, {"errorMessages": [f"Webhook {wid} does not exist."]})
    if method == "GET":
        return answer(200, _shown(site, hook))
    if method == "DELETE":
        del site.webhooks[str(wid)]
        return 204, {}, b""
    return answer(405, {})


def _create(site: JiraEmulator, data: object) -> Answer:
    if not isinstance(data, dict):
        return answer(400, {"errorMessages": ["A webhook is required."]})
    problems = {k: f"The {k} is required." for k in ("name", "url") if not data.get(k)}
    events = data.get("events")
    if not isinstance(events, list) or not events or not set(events) <= EVENTS:
        problems["events"] = f"Unknown or no events: {events!r}"
    filters = data.get("filters") or {}
    query = filters.get(FILTER) if isinstance(filters, dict) else None
    if query:
        try:
            jql.query({}, str(query), bounded=False, fields=site.fields, now=site.clock())
        except ValueError as exc:
            problems["filters"] = f"Invalid JQL: {exc}"
    if problems:
        return answer(400, {"errorMessages": [], "errors": problems})
    site.next_webhook += 1
    wid = str(site.next_webhook)
    site.webhooks[wid] = {
        "id": wid,
        "name": str(data["name"]),
        "url": str(data["url"]),
        "events": list(events),  # type: ignore[arg-type]
        "filters": {FILTER: str(query or "")},
        "excludeBody": bool(data.get("excludeBody", False)),
        "enabled": bool(data.get("enabled", True)),
        "secret": str(data.get("secret") or ""),
        "lastUpdated": int(site.clock() * 1000),
        "lastUpdatedUser": site.myself,
    }
    return answer(201, _shown(site, site.webhooks[wid]))


def register_app(
    site: JiraEmulator, app: apps.App, url: str, events: list[str], jql_filter: str = ""
) -> str:
    """An installed app's webhook (`apps`; Connect: `url` relative to its baseUrl, OAuth 2.0:
    absolute), delivered with a JWT and not listed among the admin webhooks."""
    if not events or not set(events) <= EVENTS:
        raise ValueError(f"unknown or no events: {events!r}")
    site.next_webhook += 1
    wid = str(site.next_webhook)
    site.webhooks[wid] = {
        "id": wid,
        "name": f"{app.kind} app {app.key}",
        "url": app.base_url.rstrip("/") + url if app.kind == "connect" else url,
        "events": list(events),
        "filters": {FILTER: jql_filter},
        "excludeBody": False,
        "enabled": True,
        "secret": "",
        "app": app,
    }
    return wid


def _shown(site: JiraEmulator, hook: Json) -> Json:
    shown = {k: v for k, v in hook.items() if k not in ("id", "secret")}
    user = site.users[hook["lastUpdatedUser"]]
    return {"self": f"{site.base_url}{BASE}/{hook['id']}", **shown} | {
        "lastUpdatedDisplayName": user.get("displayName")
    }


def fire(site: JiraEmulator, issue: Issue, event: str, by: str, comment: Json | None) -> None:
    if site.outbox is None:
        return
    for hook in site.webhooks.values():
        if not hook["enabled"] or event not in hook["events"]:
            continue
        query = hook["filters"][FILTER]
        if query and issue.key not in jql.query(
            {issue.key: issue}, query, bounded=False, fields=site.fields, now=site.clock()
        ):
            continue
        _deliver(site, hook, issue, event, by, comment)


def _deliver(
    site: JiraEmulator, hook: Json, issue: Issue, event: str, by: str, comment: Json | None
) -> None:
    assert site.outbox is not None
    now = site.clock()
    payload: Json = {
        "timestamp": int(now * 1000),
        "webhookEvent": event,
        "issue_event_type_name": TYPE_NAMES.get(event, event),
        "user": site.users[by],
        "issue": {
            "id": issue.id,
            "self": f"{site.base_url}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": {
                k: issue.fields.get(k) for k in ("summary", "priority", "status", "updated")
            },
        },
    }
    if comment is not None:
        payload["comment"] = comment
    body = b"" if hook["excludeBody"] else json.dumps(payload).encode()
    site.next_delivery += 1
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": f"{site.next_delivery}",
        "X-Atlassian-Webhook-Flow": "Primary",
    }
    if hook.get("app") is not None:  # an app's webhook (`apps`): a JWT instead
        headers["Authorization"] = apps.authorization(hook["app"], "POST", hook["url"], now)
    elif hook["secret"]:
        mac = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = f"sha256={mac}"
    site.outbox.put(Delivery(str(hook["url"]), "POST", headers, body))
