"""The service's HTTP face (Starlette): webhooks in, health and metrics out.

    POST /webhooks/zendesk/{instance}   a Zendesk webhook (trigger or ticket event)
    POST /webhooks/jira/{instance}      a Jira webhook (jira:issue_created, jira:issue_updated)
    GET  /metrics                       Prometheus text
    GET  /healthz                       200 while the process serves
    GET  /readyz                        200 once a cycle succeeded and the state store answers

A delivery is checked in this order, and the first failure answers: the instance exists and is
served, on that platform (404); a signing secret is configured (401); the signature (401); the
signed time is recent (401, a replay), or for a Jira Cloud app's webhooks its JWT (jwts: 401);
the delivery was not seen before (200, dropped); the body
names a ticket (400). Only then is the ticket marked (202). Nothing a delivery says is acted on
directly: it only makes a cycle look at the ticket sooner, and the cycle reads the ticket itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import anyio
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adapters.secrets import register
from connector.serve import jwts, signatures
from connector.serve.jwts import Refused
from connector.serve.settings import WebhookSettings
from connector.serve.shared import Shared
from rules.errors import ConfigError

log = structlog.get_logger("connector.serve")
MAX_BODY = 1 << 20  # a ticket webhook is a few kilobytes; a megabyte is plenty
ZENDESK_TICKET = re.compile(r"^[0-9]{1,20}$")
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[0-9]+$")
PROBE_SECONDS = 3.0

#: Is the state store reachable? Raises (or returns False) when it is not.
Probe = Callable[[], bool]


def build_app(shared: Shared, probe: Probe) -> Starlette:
    async def webhook(request: Request) -> Response:
        return await _webhook(shared, request)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        if not shared.succeeded.is_set():
            return PlainTextResponse("not ready: no cycle has succeeded yet\n", status_code=503)
        try:
            with anyio.fail_after(PROBE_SECONDS):
                reachable = await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
        except Exception as exc:  # the store's own error, or the probe's timeout
            log.warning("state_store_unreachable", error=str(exc) or type(exc).__name__)
            reachable = False
        if not reachable:
            return PlainTextResponse("not ready: the state store is unreachable\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def metrics(request: Request) -> Response:
        body = generate_latest(shared.telemetry.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/webhooks/{platform}/{instance}", webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


async def _webhook(shared: Shared, request: Request) -> Response:
    platform = request.path_params["platform"]
    instance = request.path_params["instance"]
    config = shared.config  # once: a reload mid-request does not mix two configurations
    telemetry = shared.telemetry.webhooks

    settings = config.instances.get(instance)
    served = settings is not None and settings.platform == platform
    served = served and instance in shared.names()

    def refuse(status: int, result: str, message: str, why: str = "") -> Response:
        # Labels only from the configuration: a path is the caller's, and each new label set
        # would stay in memory for the life of the process.
        labels = (platform, instance) if served else ("unknown", "unknown")
        telemetry.labels(*labels, result).inc()
        log.warning(
            "webhook_refused", platform=platform[:40], instance=instance[:100], why=why or message
        )
        return JSONResponse({"error": message}, status_code=status)

    if not served:
        return refuse(404, "unknown", f"no {platform[:40]} instance {instance[:100]!r} served")
    hook = config.serve.webhooks.get(instance)
    if hook is None:
        return refuse(401, "forged", f"no signing secret is configured for {instance!r}")
    body = await _body(request)
    if body is None:
        return refuse(413, "bad", "the body is larger than a ticket webhook")
    try:
        secret = hook.secret.resolve(f"serve.webhooks.{instance}.secret").reveal()
    except ConfigError as exc:  # the detail is the operator's (logged), not the caller's
        return refuse(401, "forged", "the signing secret cannot be read", str(exc))
    register(secret)
    now = shared.clock()
    checked = _check(platform, hook, secret, request, body, now, config.serve.max_age)
    if isinstance(checked, Refused):
        return refuse(401, checked.result, REFUSED[checked.result], checked.why)
    delivery, ticket = checked
    if not shared.hints.first_time(f"{instance}\0{delivery}"):
        telemetry.labels(platform, instance, "duplicate").inc()
        return JSONResponse({"status": "duplicate"}, status_code=200)
    if ticket is None:
        return refuse(400, "bad", "the body names no ticket")
    marked = shared.hints.mark(instance, ticket, now)
    if marked == "overflow":
        shared.telemetry.overflows.labels(instance).inc()
    telemetry.labels(platform, instance, "accepted").inc()
    shared.telemetry.waiting.labels(instance).set(shared.hints.waiting().get(instance, 0))
    return JSONResponse({"status": marked, "ticket": ticket}, status_code=202)


REFUSED = {
    "forged": "the signature does not match",
    "stale": "the signed timestamp is too old (a replay?)",
}


Checked = Refused | tuple[str, str | None]


def _check(
    platform: str,
    hook: WebhookSettings,
    secret: str,
    request: Request,
    body: bytes,
    now: float,
    age: float,
) -> Checked:
    """The delivery's signature (or token) and signed time, as the platform sends them: why it
    is refused, or the delivery's id (to drop a repeat) and the ticket it names."""
    headers = request.headers
    payload = signatures.parse(body)
    if platform == "zendesk":
        stamp = headers.get("x-zendesk-webhook-signature-timestamp")
        signature = headers.get("x-zendesk-webhook-signature")
        if not signatures.zendesk_valid(secret, stamp, body, signature):
            return Refused("forged", REFUSED["forged"])
        if stamp is None or not signatures.zendesk_fresh(stamp, now, age):
            return Refused("stale", REFUSED["stale"])
        delivery = headers.get("x-zendesk-webhook-invocation-id") or signature or ""
        return delivery, _zendesk_ticket(payload)
    if hook.verify != "signature":
        return _check_jwt(hook.verify, hook, secret, request, payload, now, age)
    signature = headers.get("x-hub-signature")
    if not signatures.jira_valid(secret, body, signature):
        return Refused("forged", REFUSED["forged"])
    if not signatures.jira_fresh(payload, now, age):
        return Refused("stale", REFUSED["stale"])
    return headers.get("x-atlassian-webhook-identifier") or signature or "", _jira_ticket(payload)


def _check_jwt(
    mode: jwts.Mode,
    hook: WebhookSettings,
    secret: str,
    request: Request,
    payload: object,
    now: float,
    age: float,
) -> Checked:
    """A Jira Cloud delivery to an app: its JWT, checked against the request as received
    (the body is not covered by the token; the dedup key is the delivery's id, else the
    token)."""
    assert hook.issuer is not None  # the settings require it with a JWT mode
    seen = jwts.Request(request.method, request.url.path, request.url.query, request.headers)
    verified = jwts.verify(mode, secret, hook.issuer, seen, now, age)
    if isinstance(verified, Refused):
        return verified
    delivery = request.headers.get("x-atlassian-webhook-identifier") or verified
    return delivery, _jira_ticket(payload)


async def _body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY (read no further: a caller may send any amount)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _zendesk_ticket(payload: object) -> str | None:
    """`ticket_id` (the body `escalate setup` gives its trigger), or a ticket event's
    `detail.id` (`zen:event-type:ticket.*`)."""
    if not isinstance(payload, dict):
        return None
    found = payload.get("ticket_id")
    detail = payload.get("detail")
    kind = str(payload.get("type") or "")
    if found is None and kind.startswith("zen:event-type:ticket") and isinstance(detail, dict):
        found = detail.get("id")
    text = str(found) if isinstance(found, int | str) and not isinstance(found, bool) else ""
    return text if ZENDESK_TICKET.match(text) else None


def _jira_ticket(payload: object) -> str | None:
    """The issue's key (`issue.key`), as the adapter names tickets."""
    issue = payload.get("issue") if isinstance(payload, dict) else None
    key = issue.get("key") if isinstance(issue, dict) else None
    return key if isinstance(key, str) and JIRA_KEY.match(key) else None
