"""Jira Cloud webhooks of installed apps, authenticated by a JWT as Atlassian sends them.

- A **Connect app** declares its webhooks in its descriptor (`modules.webhooks`: `event`,
  `url` relative to the app's `baseUrl`, an optional `filter` JQL). Each delivery carries
  `Authorization: JWT <token>`: HS256 with the installation's `sharedSecret`, claims `iss` (the
  installation's `clientKey`), `iat`, `exp` (`lifetime` later: Atlassian recommends three
  minutes) and `qsh`, the hex SHA-256 of `METHOD&PATH&QUERY` ("Understanding JWT for Connect
  apps": the path relative to the baseUrl, without a trailing "/", "&" as "%26"; the query's
  parameters but `jwt`, percent-encoded, sorted, repeated values joined by ","). Written here
  from the documents, not from the connector's checker.
- An **OAuth 2.0 app's dynamic webhooks** (`/rest/api/3/webhook`, not modelled as REST: the
  app registers them with its own token) carry `Authorization: Bearer <token>`, HS256 with the
  app's client secret. The documents name no claims; this sends `iss` (the client id), `iat`
  and `exp`, and no `qsh`.

Neither carries `X-Hub-Signature`. `hooks.register_app(site, app, url, events, jql)` adds one;
it is not listed among the admin webhooks (`/rest/webhooks/1.0/webhook`), as on Jira.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, urlsplit

import jwt


@dataclass(frozen=True)
class App:
    """An installed app: `key` is the Connect installation's clientKey or the OAuth 2.0
    app's client id, `secret` its sharedSecret or client secret; `base_url` the Connect
    app's baseUrl (its webhooks' URLs are relative to it)."""

    kind: Literal["connect", "oauth"]
    key: str
    secret: str
    base_url: str = ""
    lifetime: float = 180.0


def authorization(app: App, method: str, url: str, now: float) -> str:
    """The Authorization header of one delivery to `url`, made at `now`."""
    claims: dict[str, object] = {"iss": app.key, "iat": int(now), "exp": int(now + app.lifetime)}
    if app.kind == "oauth":
        return "Bearer " + jwt.encode(claims, app.secret, algorithm="HS256")
    claims["qsh"] = hashlib.sha256(_canonical(app, method, url).encode()).hexdigest()
    return "JWT " + jwt.encode(claims, app.secret, algorithm="HS256")


def _canonical(app: App, method: str, url: str) -> str:
    parts = urlsplit(url)
    base = urlsplit(app.base_url).path.rstrip("/")
    path = parts.path[len(base) :] if base and parts.path.startswith(base) else parts.path
    path = path.rstrip("/") or "/"
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "jwt":
            grouped.setdefault(quote(name, safe=""), []).append(quote(value, safe=""))
    query = "&".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(grouped.items()))
    return f"{method.upper()}&{path.replace('&', '%26')}&{query}"
