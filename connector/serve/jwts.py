"""Jira Cloud webhooks delivered to an app, authenticated by a JWT instead of a signature.

What Atlassian documents (docs/operations.md, "Webhooks", says where it is thin):

- **Connect apps** ("Understanding JWT for Connect apps"): a request from Jira to the app carries
  `Authorization: JWT <token>`, HS256-signed with the installation's `sharedSecret` (from the
  `installed` lifecycle callback), with the claims `iss` (the installation's `clientKey`),
  `iat`, `exp` and `qsh`: the hex SHA-256 of the canonical request (`canonical_request`), which
  binds the token to the method, path and query it was made for. A *context* JWT carries the
  fixed `qsh` "context-qsh" instead and is bound to no request: Atlassian's 2021 advisory says
  to refuse it wherever a request-bound token is expected, and a webhook is such a place.
- **OAuth 2.0 (3LO) apps' dynamic webhooks** (Jira Cloud "Webhooks", authentication for OAuth
  2.0 apps): the request carries a bearer JWT (`Authorization: Bearer <token>`) signed with the
  app's client secret. The claims are not documented: this module requires `iss` (the
  configured client id), `iat` and `exp` as for Connect, and checks `qsh` only when present.

Either way: HS256 only (`none`, RS256 and the rest are refused before any claim is read),
`exp` and `iat` against the service's clock with `LEEWAY` seconds either way, a token issued
longer ago than `serve.max_age` refused as a replay. The body is not covered by the token
(the documents include form parameters of a POST in the canonical query, never a JSON body):
what a delivery names is only ever a hint; the cycle reads the ticket itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

import jwt
from jwt.types import Options

Mode = Literal["connect-jwt", "oauth-jwt"]
SCHEMES: dict[str, str] = {"connect-jwt": "jwt", "oauth-jwt": "bearer"}
ALGORITHMS = ["HS256"]
CONTEXT_QSH = "context-qsh"
LEEWAY = 10.0  # seconds either way for exp, iat and nbf: clocks differ a little
OPTIONS: Options = {
    "verify_signature": True,
    "require": ["iss", "iat", "exp"],
    # Times against the injected clock below (PyJWT reads the real one); iss compared below.
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_iss": False,
    "verify_aud": False,  # optional in Atlassian's table, its value for webhooks undocumented
}


@dataclass(frozen=True)
class Request:
    """What the token is checked against: the request as this service received it."""

    method: str
    path: str
    query: str  # as sent, percent-encoded, without the "?"
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Refused:
    result: Literal["forged", "stale"]
    why: str


def canonical_request(method: str, path: str, query: str) -> str:
    """METHOD&PATH&QUERY as Atlassian canonicalises them: the method upper case; the path
    without a trailing "/" (but "/" for an empty one), its "&" as "%26"; the query's parameters
    but `jwt`, names and values percent-encoded (RFC 3986: space "%20", "*" "%2A", "~" kept),
    sorted by name, a repeated name's values sorted and joined with ","."""
    canonical_path = (path or "/").replace("&", "%26")
    if len(canonical_path) > 1:
        canonical_path = canonical_path.rstrip("/") or "/"
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "jwt":
            values.setdefault(_encode(name), []).append(_encode(value))
    pairs = [f"{name}={','.join(sorted(values[name]))}" for name in sorted(values)]
    return f"{method.upper()}&{canonical_path}&{'&'.join(pairs)}"


def query_hash(method: str, path: str, query: str) -> str:
    return hashlib.sha256(canonical_request(method, path, query).encode()).hexdigest()


def _encode(text: str) -> str:
    return quote(text, safe="~")


def token(mode: Mode, headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: <scheme> <token>`, the scheme the mode's documents name
    (case-insensitive); None when the header is missing or names another scheme."""
    scheme, _, value = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != SCHEMES[mode] or not value.strip():
        return None
    return value.strip()


def verify(
    mode: Mode, secret: str, issuer: str, request: Request, now: float, max_age: float
) -> Refused | str:
    """The delivery's token when it is valid for this request, else why it is refused."""
    found = token(mode, request.headers)
    if found is None:
        return Refused("forged", f"no 'Authorization: {SCHEMES[mode].upper()} <token>' header")
    try:
        claims = jwt.decode(found, secret, algorithms=ALGORITHMS, options=OPTIONS)
    except jwt.InvalidTokenError as exc:  # signature, algorithm, format, a missing claim
        return Refused("forged", f"the token is refused: {str(exc)[:200]}")
    refused = _issuer(claims, issuer) or _times(claims, now, max_age)
    return refused or _qsh(mode, claims, request) or found


def _issuer(claims: Mapping[str, Any], issuer: str) -> Refused | None:
    given = claims.get("iss")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), issuer.encode()):
        return Refused("forged", f"the token's issuer {str(given)[:100]!r} is not {issuer!r}")
    return None


def _times(claims: Mapping[str, Any], now: float, max_age: float) -> Refused | None:
    stamps = [claims.get("exp"), claims.get("iat"), claims.get("nbf", claims.get("iat"))]
    if not all(_number(v) for v in stamps):
        return Refused("forged", "the token's exp, iat or nbf is not a number")
    exp, iat, nbf = (float(v) for v in stamps)
    if now > exp + LEEWAY:
        return Refused("stale", f"the token expired {now - exp:.0f}s ago")
    if iat > now + LEEWAY or nbf > now + LEEWAY:
        return Refused("stale", "the token is issued for later (a clock ahead?)")
    if now - iat > max_age:
        return Refused("stale", f"the token was issued {now - iat:.0f}s ago (a replay?)")
    return None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _qsh(mode: Mode, claims: Mapping[str, Any], request: Request) -> Refused | None:
    given = claims.get("qsh")
    if given is None and mode == "oauth-jwt":
        return None  # not documented for OAuth 2.0 apps' webhooks; checked when sent
    if given == CONTEXT_QSH:
        return Refused("forged", "a context JWT (qsh 'context-qsh') is bound to no request")
    expected = query_hash(request.method, request.path, request.query)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        canonical = canonical_request(request.method, request.path, request.query)
        return Refused("forged", f"the token's qsh is not that of {canonical[:300]!r}")
    return None
