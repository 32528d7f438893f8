"""The one HTTP session every Zendesk request goes through, zenpy's included.

zenpy is handed this session (`Zenpy(session=...)`), so:
- its own retrying never runs: a non-2xx answer is raised here as our error before zenpy sees
  it (zenpy would otherwise sleep for real on a 429), and `adapters.http.mount` removes urllib3's
  retries, so a PUT is never re-sent behind our back;
- a 5xx answer to a write says nothing about whether the write went in (a gateway can time out
  after Zendesk applied it), so it is a `MaybeLanded` error, like a timeout after sending: the
  retry policy never re-sends it, and the write protocol re-reads first;
- credentials are ours: an `Authorization` header per request, an OAuth client-credentials
  token renewed shortly before it expires and once after a 401;
- zenpy builds `https://<subdomain>.<domain>/api/v2/...` URLs, so it is given a placeholder host
  that is rebased here onto the configured base URL (a sandbox, a proxy, 127.0.0.1:8080); zenpy
  recognises its responses by that host, so a response's request URL is shown to it rebased back.
  zenpy's environment switches `ZENPY_FORCE_SCHEME` and `ZENPY_FORCE_NETLOC` (read on every URL
  it builds) change only that placeholder: its URLs are rebased all the same, so the connector
  talks to its configured URL whatever they say.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from adapters.errors import AdapterError, AuthError, MaybeLanded, TransientError
from adapters.http import Clock, error_for, rate_limit
from adapters.network import connection_error
from adapters.secrets import Secret, mask, register
from adapters.zendesk.permissions import need

PLACEHOLDER_SUBDOMAIN = "connector"
PLACEHOLDER_DOMAIN = "zendesk.invalid"
PLACEHOLDER_HOST = f"{PLACEHOLDER_SUBDOMAIN}.{PLACEHOLDER_DOMAIN}"
PLACEHOLDER = f"https://{PLACEHOLDER_HOST}"
REFRESH_MARGIN = 60.0  # renew an access token this many seconds before it expires
TOKEN_PATH = "/oauth/tokens"
READS = frozenset({"GET", "HEAD"})
RATE_HEADERS = (
    ("X-Rate-Limit", "X-Rate-Limit-Remaining"),
    ("ratelimit-limit", "ratelimit-remaining"),
)


class Credentials(Protocol):
    def header(self) -> str:
        """The Authorization header value (renewing a token that is about to expire)."""
        ...

    def renew(self) -> bool:
        """After a 401: get a new token; False when these credentials cannot be renewed."""
        ...


class StaticCredentials:
    """An API token (Basic `email/token:token`) or an OAuth access token (Bearer)."""

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def api_token(cls, email: str, token: Secret) -> StaticCredentials:
        pair = f"{email}/token:{token.reveal()}".encode()
        encoded = base64.b64encode(pair).decode("ascii")
        register(encoded)
        return cls(f"Basic {encoded}")

    @classmethod
    def bearer(cls, token: Secret) -> StaticCredentials:
        return cls(f"Bearer {token.reveal()}")

    def header(self) -> str:
        return self._value

    def renew(self) -> bool:
        return False


class ClientCredentials:
    """OAuth client credentials: POST /oauth/tokens, renewed before `expires_in` runs out."""

    def __init__(
        self,
        client_id: str,
        secret: Secret,
        scope: str,
        expires_in: int | None,
        clock: Clock,
        post: Callable[[str, Mapping[str, Any]], requests.Response],
    ) -> None:
        self.client_id, self.secret, self.scope = client_id, secret, scope
        self.expires_in = expires_in
        self.clock, self.post = clock, post
        self._token: str | None = None
        self._expires_at: float | None = None
        self.obtained = 0  # tokens obtained so far (for tests and the run report)
        self._lock = threading.Lock()  # writer and history threads share one token

    def header(self) -> str:
        with self._lock:
            now = self.clock()
            expiring = self._expires_at is not None and now >= self._expires_at - REFRESH_MARGIN
            if self._token is None or expiring:
                self._obtain()
            return f"Bearer {self._token}"

    def renew(self) -> bool:
        with self._lock:
            self._obtain()
        return True

    def _obtain(self) -> None:
        body: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.secret.reveal(),
            "scope": self.scope,
        }
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        started = self.clock()
        response = self.post(TOKEN_PATH, body)
        try:
            data = response.json()
            token = data["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AuthError(
                f"POST {TOKEN_PATH} answered without an access_token: check the OAuth client"
            ) from None
        if not isinstance(token, str) or not token:
            raise AuthError(f"POST {TOKEN_PATH} answered an empty access_token")
        register(token)
        self._token = token
        lifetime = data.get("expires_in")
        self._expires_at = started + float(lifetime) if isinstance(lifetime, int | float) else None
        self.obtained += 1


def zenpy_origin(url: str) -> str | None:
    """`scheme://host` of a URL zenpy built on the placeholder (whatever scheme and host its
    `ZENPY_FORCE_SCHEME` / `ZENPY_FORCE_NETLOC` switches put there), else None."""
    parts = urlsplit(url)
    forced = os.environ.get("ZENPY_FORCE_NETLOC")
    if parts.netloc == PLACEHOLDER_HOST or (forced and parts.netloc == forced):
        return f"{parts.scheme}://{parts.netloc}"
    return None


class _Signed(AuthBase):
    """The session signs each request itself (`Credentials`): with an auth of its own set,
    `requests` looks up no ~/.netrc entry for the host, which would replace our Authorization
    header, and which it would otherwise look for on every request (a file lookup each)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class ZendeskSession(requests.Session):
    """A requests session that raises our errors, signs requests and rebases zenpy's URLs."""

    #: zenpy skips its own sign-in for a session that says it is authorised.
    authorized = True

    def __init__(self, base_url: str, clock: Clock, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.auth = _Signed()
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.timeout = timeout
        self.credentials: Credentials = StaticCredentials("")
        #: Custom field id -> title, so a 422 names the field (filled once fields are read).
        self.field_titles: dict[int, str] = {}
        #: (limit, remaining) per minute, as the last answer that said so reported it.
        self.rate_limit: tuple[int, int] | None = None

    def rebase(self, url: str) -> str:
        origin = zenpy_origin(url)
        if origin is not None:
            return self.base_url + url[len(origin) :]
        if url.startswith("/"):
            return self.base_url + url
        return url

    def _as_built(self, response: requests.Response, built: str | None) -> None:
        """Show zenpy the request URL in the form it built (its response handlers match it)."""
        url = str(response.request.url or "")
        if built is not None and url.startswith(self.base_url + "/"):
            shown = response.request.copy()  # the request as sent stays untouched
            shown.url = built + url[len(self.base_url) :]
            response.request = shown

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        built = zenpy_origin(url)
        url = self.rebase(url)
        what = f"{method.upper()} {urlsplit(url).path}"
        kwargs.setdefault("timeout", self.timeout)
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            headers["Authorization"] = self.credentials.header()
            response = self._send(method, url, what, headers, *args, **kwargs)
            self._observe(response.headers)
            if response.status_code == 401 and attempt == 1 and self.credentials.renew():
                continue
            if response.status_code >= 400:
                raise self.error(response, what)
            self._as_built(response, built)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Keep the account's rate limit as answers report it (both spellings are seen)."""
        self.rate_limit = rate_limit(headers, RATE_HEADERS) or self.rate_limit

    def post_unsigned(self, path: str, body: Mapping[str, Any]) -> requests.Response:
        """A request without our Authorization header (the OAuth token request itself)."""
        url = self.base_url + path
        what = f"POST {path}"
        try:
            # requests.Session.request, not send(): only it applies the environment's settings
            # (REQUESTS_CA_BUNDLE, proxies). A redirect is not followed: it would re-send the
            # client secret to wherever it points.
            response = requests.Session.request(
                self, "POST", url, json=dict(body), timeout=self.timeout, allow_redirects=False
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            # Asking for a token again is harmless: never "may have landed", so the request it
            # was signing is retried rather than treated as a write that may have gone in.
            raise connection_error(what, url, exc, sent=False) from None
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"{what} answered {response.status_code}: the OAuth client was refused"
                f"{_suffix(_detail(response))}. Check client_id and client_secret, and that the"
                " client may use the client_credentials grant."
            )
        if response.status_code >= 400:
            detail = _detail(response)
            raise error_for(response.status_code, what, detail, response.headers, self.clock())
        return response

    def _send(
        self, method: str, url: str, what: str, headers: dict[str, str], *args: Any, **kw: Any
    ) -> requests.Response:
        kw["headers"] = headers
        try:
            return super().request(method, url, *args, **kw)
        except (requests.Timeout, requests.ConnectionError) as exc:
            sent = _sent(exc) and method not in READS
            raise connection_error(what, url, exc, sent=sent) from None

    def error(self, response: requests.Response, what: str) -> AdapterError:
        detail = _detail(response, self.field_titles)
        needs = need(what) if response.status_code == 403 else None
        error = error_for(
            response.status_code, what, detail, response.headers, self.clock(), need=needs
        )
        method = str(response.request.method or "GET").upper()
        if (
            isinstance(error, TransientError)
            and response.status_code >= 500
            and method not in READS
        ):
            return MaybeLanded(str(error), retry_after=error.retry_after)
        return error


def _sent(exc: Exception) -> bool:
    """Whether the request may have reached Zendesk (only connection set-up failures did not)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _suffix(detail: str) -> str:
    return f" ({detail})" if detail else ""


def _detail(response: requests.Response, titles: Mapping[int, str] | None = None) -> str:
    """Zendesk's error body in one line; a 422 names each refused custom field by its title."""
    try:
        data = response.json()
    except ValueError:
        return mask(response.text[:200])
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    if isinstance(error, dict):  # {"error": {"title": ..., "message": ...}}
        error = error.get("title") or error.get("message")
    parts = [str(p) for p in (error, data.get("description")) if p]
    details = data.get("details")
    if isinstance(details, dict):
        for key, items in details.items():
            for item in items if isinstance(items, list) else [items]:
                parts.append(_problem(key, item, titles or {}))
    return mask("; ".join(parts) or json.dumps(data)[:200])


def _problem(key: str, item: Any, titles: Mapping[int, str]) -> str:
    if not isinstance(item, dict):
        return f"{key}: {item}"
    text = str(item.get("description") or item.get("error") or item)
    field_id = item.get("ticket_field_id")
    if isinstance(field_id, int):
        title = titles.get(field_id)
        name = f"field {title!r} (id {field_id})" if title else f"field id {field_id}"
        return f"{name}: {text}"
    return f"{key}: {text}"
