"""Webhook signatures, checked on the raw body before anything is parsed.

- Zendesk: `X-Zendesk-Webhook-Signature` is base64(HMAC-SHA256(secret, TIMESTAMP + BODY)), where
  TIMESTAMP is `X-Zendesk-Webhook-Signature-Timestamp` as sent (ISO 8601, `2021-03-25T05:09:27Z`)
  and the secret is the webhook's signing secret (developer.zendesk.com, "Verifying webhook
  authenticity"). The timestamp is signed, so a delivery signed more than `max_age` ago (or
  ahead) is refused as a replay.
- Jira (Data Center 10+, and Cloud admin webhooks registered with a secret): `X-Hub-Signature`
  is `sha256=` and the hex HMAC-SHA256 of the body with the secret (WebSub's format). Jira's
  documents call HMAC-SHA256 "the default" without naming another algorithm: anything but
  `sha256=` is refused. No header carries a time; the body's `timestamp` (epoch milliseconds,
  part of what is signed) is checked against `max_age` when present.

Comparisons are constant-time. A missing header is a failed check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def zendesk_valid(secret: str, timestamp: str | None, body: bytes, signature: str | None) -> bool:
    if not timestamp or not signature:
        return False
    return _same(zendesk_signature(secret, timestamp, body), signature.strip())


def zendesk_fresh(timestamp: str, now: float, max_age: float) -> bool:
    """The signed timestamp is within `max_age` of `now`, either way (a clock may lead)."""
    try:
        at = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    if at.tzinfo is None:
        return False
    return abs(now - at.timestamp()) <= max_age


def jira_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def jira_valid(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not signature.startswith("sha256="):
        return False
    return _same(jira_signature(secret, body), signature.strip().lower())


def _same(expected: str, given: str) -> bool:
    """Constant-time, as bytes: `compare_digest` raises on a str that is not ASCII, and a
    header may hold anything (latin-1 decoded)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def jira_fresh(payload: object, now: float, max_age: float) -> bool:
    """The body's signed `timestamp` (milliseconds) is within `max_age` of `now`, or absent."""
    stamp = payload.get("timestamp") if isinstance(payload, dict) else None
    if stamp is None:
        return True
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return False
    return abs(now - stamp / 1000.0) <= max_age


def parse(body: bytes) -> object:
    """The JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None
