"""Jira: an admin webhook for `escalate serve` (`/rest/webhooks/1.0/webhook`, Cloud and Data
Center alike; the Administer Jira permission).

It sends `jira:issue_created` and `jira:issue_updated` for the instance's scope (its JQL as the
webhook's filter where the webhook filter accepts it: the filter takes a subset of JQL, so an
instance scope with ORDER BY or functions falls back to its projects), with the body, signed
with the secret the connector gives it (`X-Hub-Signature: sha256=...`: Jira Cloud since
February 2024, Data Center 10). Jira never shows a webhook's secret again: doctor checks that
the webhook exists, points at the URL and is enabled, not which secret it holds.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.errors import AdapterError, AuthError
from adapters.jira.lookups import Lookups
from adapters.results import Check
from adapters.setup import Done, Plan, Request, Step, fill
from adapters.webhooks import NAME, SECRET, Made

Json = dict[str, Any]
HOOKS = "/rest/webhooks/1.0/webhook"
EVENTS = ["jira:issue_created", "jira:issue_updated"]


def _filter(scope: str) -> str:
    """The scope without its ORDER BY (a webhook filter does not sort)."""
    return re.sub(r"\border\s+by\b.*$", "", scope, flags=re.I | re.S).strip()


def _hooks(look: Lookups, url: str) -> list[Json]:
    listed = look.client.get(HOOKS) or []
    return [h for h in listed if isinstance(h, dict) and h.get("url") == url]


def plan(look: Lookups, url: str) -> Plan:
    out = Plan(look.instance, "jira")
    if _hooks(look, url):
        return out
    body = {
        "name": NAME,
        "description": "Tells escalate serve which issues changed.",
        "url": url,
        "events": EVENTS,
        "filters": {"issue-related-events-section": _filter(look.settings.scope or "")},
        "excludeBody": False,
        "secret": SECRET,
    }
    summary = f"{', '.join(EVENTS)} in scope, to {url}, signed"
    out.steps.append(Step("webhook", NAME, "webhook", summary, Request("POST", HOOKS, body)))
    return out


def apply(look: Lookups, plan: Plan, secret: str | None) -> Made:
    made = Made()
    for step in plan.steps:
        shown = step.request
        if secret is None:
            made.done.append(Done(step, None, shown, problem="no signing secret to give it"))
            continue
        body = fill(shown.body, {}) | {"secret": secret}
        try:
            answer = look.client.post(shown.path, body) or {}
        except AuthError:
            raise
        except AdapterError as exc:
            made.done.append(Done(step, None, shown, problem=str(exc)))
            continue
        where = str(answer.get("self") or "")
        made.done.append(Done(step, where.rsplit("/", 1)[-1] or None, shown, url=where or None))
    return made


def check(look: Lookups, url: str) -> list[Check]:
    try:
        found = _hooks(look, url)
    except AdapterError as exc:
        return [Check("webhook", False, f"cannot list webhooks ({exc}); a Jira admin may")]
    if not found:
        return [Check("webhook", False, f"none sends to {url}: run escalate setup")]
    hook = found[0]
    events = set(hook.get("events") or [])
    missing = [e for e in EVENTS if e not in events]
    ok = bool(hook.get("enabled", True)) and not missing
    detail = f"{hook.get('name')!r} sends to {url}, " + (
        "enabled" if hook.get("enabled", True) else "disabled"
    )
    if missing:
        detail += f", without {', '.join(missing)}"
    return [Check("webhook", ok, detail + " (Jira does not show which secret it signs with)")]
