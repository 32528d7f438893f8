"""The emulators' webhook endpoints refuse what the platforms refuse, and their deliveries are
signed as the platforms sign them (checked here with the documented formulas)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import requests

from adapters.setup import fill
from adapters.zendesk import hooks as connector_hooks
from emulators.http import Request
from emulators.jira import apps as jira_apps
from emulators.jira import hooks as jira_hooks
from emulators.outbox import Delivery
from emulators.zendesk import ZendeskEmulator
from tests.adapters.jira_harness import make_emulator
from tests.adapters.zendesk_harness import spec_checker

NOW = 1772445600.0


class Collect:
    """An outbox that keeps what would be sent."""

    def __init__(self) -> None:
        self.items: list[Delivery] = []

    def put(self, delivery: Delivery) -> None:
        self.items.append(delivery)


def zendesk() -> tuple[ZendeskEmulator, dict[str, str]]:
    z = ZendeskEmulator(clock=lambda: NOW)
    z.api_tokens["bot@acme.example"] = "tok"
    auth = base64.b64encode(b"bot@acme.example/token:tok").decode()
    return z, {"Authorization": f"Basic {auth}"}


def call(
    z: Any, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    raw = json.dumps(body).encode() if body is not None else None
    status, _, data = z.handle(Request(method, path, {}, headers, raw))
    return status, json.loads(data) if data else None


HOOK = {
    "name": "connector",
    "endpoint": "https://escalate.example.com/webhooks/zendesk/prod",
    "http_method": "POST",
    "request_format": "json",
    "status": "active",
    "subscriptions": ["conditional_ticket_events"],
}


def test_zendesk_webhook_and_trigger_deliver_a_signed_body_on_others_changes() -> None:
    z, auth = zendesk()
    status, made = call(z, "POST", "/api/v2/webhooks", auth, {"webhook": HOOK})
    assert status == 201
    wid = made["webhook"]["id"]
    assert len(wid) == 26 and "secret" not in json.dumps(made)
    status, shown = call(z, "GET", f"/api/v2/webhooks/{wid}/signing_secret", auth)
    secret = shown["signing_secret"]["secret"]
    assert status == 200 and shown["signing_secret"]["algorithm"] == "SHA256"
    trigger = {
        "title": "tell the connector",
        "conditions": {
            "all": [{"field": "current_user", "operator": "is_not", "value": str(z.me)}],
            "any": [{"field": "update_type", "operator": "is", "value": "Change"}],
        },
        "actions": [
            {"field": "notification_webhook", "value": [wid, '{"ticket_id": "{{ticket.id}}"}']}
        ],
    }
    assert call(z, "POST", "/api/v2/triggers", auth, {"trigger": trigger})[0] == 201
    box = Collect()
    z.outbox = box  # type: ignore[assignment]
    tid = z.add_ticket()  # a creation: the trigger asks for changes only
    assert box.items == []
    z.agent_edit(tid, {"priority": "high"})
    z.update(tid, {"priority": "urgent"}, z.me, queued=None)  # the connector's own: not told
    [sent] = box.items
    assert json.loads(sent.body) == {"ticket_id": str(tid)}
    stamp = sent.headers["X-Zendesk-Webhook-Signature-Timestamp"]
    expected = base64.b64encode(
        hmac.new(secret.encode(), stamp.encode() + sent.body, hashlib.sha256).digest()
    )
    assert sent.headers["X-Zendesk-Webhook-Signature"] == expected.decode()
    assert stamp == "2026-03-02T10:00:00Z"


def test_zendesk_refuses_incomplete_webhooks_unknown_conditions_and_agents() -> None:
    z, auth = zendesk()
    assert call(z, "POST", "/api/v2/webhooks", auth, {"webhook": {"name": "x"}})[0] == 400
    both = {**HOOK, "subscriptions": ["conditional_ticket_events", "zen:event-type:user.created"]}
    assert call(z, "POST", "/api/v2/webhooks", auth, {"webhook": both})[0] == 400
    odd = {
        "title": "t",
        "conditions": {"all": [{"field": "via_id", "operator": "is", "value": "4"}]},
        "actions": [{"field": "status", "value": "open"}],
    }
    assert call(z, "POST", "/api/v2/triggers", auth, {"trigger": odd})[0] == 422
    assert call(z, "GET", "/api/v2/webhooks/01NOPE", auth)[0] == 404
    z.users[z.me]["role"] = "agent"
    assert call(z, "POST", "/api/v2/webhooks", auth, {"webhook": HOOK})[0] == 403


def test_jira_admin_webhook_registers_lists_signs_and_deletes() -> None:
    for flavour in ("cloud", "dc"):
        site = make_emulator(flavour, lambda: NOW)
        box = Collect()
        site.outbox = box  # type: ignore[assignment]
        body = {
            "name": "connector",
            "url": "https://escalate.example.com/webhooks/jira/prod",
            "events": ["jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = SUP"},
            "secret": "s3cret",
        }
        status, _, raw = jira_hooks.route(site, "POST", jira_hooks.BASE, body)
        made = json.loads(raw)
        assert status == 201 and "secret" not in made and made["enabled"] is True
        key = site.create_issue("SUP")
        site.create_issue("OTHER")
        assert box.items == []  # created: not subscribed
        site.edit(key, priority="High")
        [sent] = box.items
        payload = json.loads(sent.body)
        assert payload["webhookEvent"] == "jira:issue_updated" and payload["issue"]["key"] == key
        assert payload["timestamp"] == int(NOW * 1000)
        mac = hmac.new(b"s3cret", sent.body, hashlib.sha256).hexdigest()
        assert sent.headers["X-Hub-Signature"] == f"sha256={mac}"
        listed = json.loads(jira_hooks.route(site, "GET", jira_hooks.BASE, None)[2])
        assert [h["url"] for h in listed] == [body["url"]]
        wid = made["self"].rsplit("/", 1)[1]
        assert jira_hooks.route(site, "DELETE", f"{jira_hooks.BASE}/{wid}", None)[0] == 204
        assert jira_hooks.route(site, "GET", f"{jira_hooks.BASE}/{wid}", None)[0] == 404
        assert (
            jira_hooks.route(site, "POST", jira_hooks.BASE, {**body, "events": ["nope"]})[0] == 400
        )
        site.permissions.discard("ADMINISTER")
        assert jira_hooks.route(site, "POST", jira_hooks.BASE, body)[0] == 403


def test_jira_app_webhooks_carry_a_jwt_as_atlassian_documents_and_are_not_listed() -> None:
    """A Connect app's webhook: `Authorization: JWT`, HS256 with the sharedSecret, iss the
    clientKey, exp three minutes on, qsh of POST&<path relative to the baseUrl>&<sorted
    query>; an OAuth 2.0 app's: `Authorization: Bearer`. Neither is an admin webhook."""
    site = make_emulator("cloud", lambda: NOW)
    box = Collect()
    site.outbox = box  # type: ignore[assignment]
    secret = "shared-" + "ab" * 30
    connect = jira_apps.App("connect", "jira:client-key", secret, "https://app.example.com/base/")
    oauth = jira_apps.App("oauth", "client-id-1", secret)
    jira_hooks.register_app(site, connect, "/hook/?z=1&a=b c", ["jira:issue_updated"], "")
    jira_hooks.register_app(site, oauth, "https://o.example.com/x", ["jira:issue_updated"])
    assert json.loads(jira_hooks.route(site, "GET", jira_hooks.BASE, None)[2]) == []
    site.edit(site.create_issue("SUP"), priority="High")
    first, second = box.items
    assert first.url == "https://app.example.com/base/hook/?z=1&a=b c"
    scheme, token = first.headers["Authorization"].split(" ")
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
    qsh = hashlib.sha256(b"POST&/hook&a=b%20c&z=1").hexdigest()
    assert (scheme, claims) == (
        "JWT",
        {"iss": "jira:client-key", "iat": int(NOW), "exp": int(NOW) + 180, "qsh": qsh},
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert "X-Hub-Signature" not in first.headers
    scheme, token = second.headers["Authorization"].split(" ")
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
    assert (scheme, claims["iss"], "qsh" in claims) == ("Bearer", "client-id-1", False)


def test_jira_admin_webhook_takes_a_filter_with_relative_dates() -> None:
    """The example scope (`updated >= -7d`) is valid JQL: Jira registers the webhook, and the
    filter is evaluated at each event as a search would be; a bad date is still refused."""
    site = make_emulator("cloud", lambda: NOW)
    body = {
        "name": "connector",
        "url": "https://escalate.example.com/webhooks/jira/prod",
        "events": ["jira:issue_updated"],
        "filters": {"issue-related-events-section": "project = SUP AND updated >= -7d"},
    }
    assert jira_hooks.route(site, "POST", jira_hooks.BASE, body)[0] == 201
    bad = {**body, "filters": {"issue-related-events-section": "updated >= yesterday"}}
    status, _, raw = jira_hooks.route(site, "POST", jira_hooks.BASE, bad)
    assert status == 400 and "Date value" in json.loads(raw)["errors"]["filters"]


def test_the_trigger_setup_sends_is_valid_for_the_published_document() -> None:
    """Create Trigger's request body, as `adapters.zendesk.hooks` builds it, against the
    official Support API document (the Webhooks API has no official one in specs/)."""

    class Look:
        instance = "zendesk"

        class client:  # noqa: N801
            @staticmethod
            def get(path: str, params: object = None) -> dict[str, object]:
                return {"webhooks": [], "triggers": []}

            @staticmethod
            def me() -> dict[str, object]:
                return {"id": 1001}

    plan = connector_hooks.plan(Look(), "https://escalate.example.com/webhooks/zendesk/zendesk")  # type: ignore[arg-type]
    webhook, trigger = plan.steps
    assert webhook.request.path == "/api/v2/webhooks" and trigger.needs == (webhook.title,)
    body = fill(trigger.request.body, {webhook.title: "01HZXAMPLE0000000000000000"})
    sent = requests.Request("POST", "https://acme.zendesk.com/api/v2/triggers", json=body).prepare()
    checker = spec_checker()
    checker.check(sent)
    assert checker.checked == 1
