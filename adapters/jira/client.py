"""The wire: one `jira.JIRA` per run, its transports replaced by ours, every call retried by us.

- `JIRA(..., max_retries=0, timeout=(connect, read), get_server_info=False)` sends nothing;
  our `Transport` (no urllib3 retries, pacing, counting) is mounted on its session, and our
  own serverInfo request then detects the flavour (deploymentType "Cloud" or anything else:
  Data Center), never the URL. With `max_retries=0` jira's ResilientSession tries once and
  never reaches its own retry code (which sleeps up to 60 s and crashes on an HTTP-date
  Retry-After).
- Every call goes through `adapters.http.Retrier`: 429/503/5xx, timeouts and dropped
  connections are retried honouring Retry-After (seconds or HTTP date); a write that may have
  landed (a read timeout) is raised to the caller, which re-reads before trying again. A Jira
  that cannot be reached at all (refused, DNS, TLS, proxy) fails at once (`adapters.network`).
- Redirects are not followed (requests would resend a redirected PUT or POST as a GET): a 3xx
  is a SetupError naming its target.
- We send requests through the client's session ourselves rather than through jira's helpers,
  which add hidden calls (a GET /field per client, a GET after every `issue.update()`, a user
  search in `assign_issue`).

Cloud is spoken in API v3 (ADF comments: ticket text is a text node, never parsed), Data
Center in v2 (wiki markup, escaped).
"""

from __future__ import annotations

import json
import threading
from base64 import b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
from jira import JIRA, JIRAError
from requests.adapters import BaseAdapter

from adapters.errors import AdapterError, AuthError, Gone, Rejected, SetupError
from adapters.http import (
    Budget,
    Clock,
    RequestStats,
    Retrier,
    Sleeper,
    error_for,
    mount,
    rate_limit,
    timeout_error,
)
from adapters.jira.permissions import need
from adapters.jira.settings import CloudAuth, Settings
from adapters.network import connection_error
from adapters.secrets import mask, register

#: Maps (status, error body, the request as "METHOD /path") to a more specific error than the
#: generic one, or None.
ErrorHook = Callable[[int, Mapping[str, Any], str], AdapterError | None]

#: A 403 with this header is a throttled login (a CAPTCHA to clear), not a missing permission.
DENIED = "X-Authentication-Denied-Reason"

#: Removed endpoints and what replaced them (CHANGE-2046).
REPLACEMENTS = {
    "/search": "/rest/api/3/search/jql (enhanced search, paged with nextPageToken)",
    "/search/id": "/rest/api/3/search/jql",
    "/expression/eval": "/rest/api/3/expression/evaluate",
}


class Flavour(StrEnum):
    CLOUD = "cloud"
    DATA_CENTER = "datacenter"


@dataclass
class RateLimit:
    """The rate limit as the last answer reported it. Jira Cloud sends `X-RateLimit-*` headers
    only near the limit (`X-RateLimit-NearLimit: true`, under 20% left) or with a 429; Data
    Center sends them with every answer where an admin configured rate limiting."""

    limit: int | None = None
    remaining: int | None = None
    near: bool = False

    def observe(self, headers: Mapping[str, str]) -> None:
        self.near = str(headers.get("X-RateLimit-NearLimit", "")).lower() == "true"
        pair = rate_limit(headers, (("X-RateLimit-Limit", "X-RateLimit-Remaining"),))
        if pair is not None:
            self.limit, self.remaining = pair


class JiraClient:
    """Builds the jira client on first use (no I/O before that) and sends our requests."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        sleep: Sleeper,
        transport: BaseAdapter | None = None,
    ) -> None:
        self.settings = settings
        self.base = settings.url
        self.clock = clock
        self.stats = RequestStats()
        self.rate = RateLimit()
        self.budget = Budget(settings.budget.requests_per_minute, clock, sleep)
        self.retrier = Retrier(
            sleep,
            attempts=settings.budget.attempts,
            retry_seconds=settings.budget.retry_seconds,
        )
        self.transport = transport
        self._connecting = threading.Lock()
        self._jira: JIRA | None = None
        self.deployment: str | None = None
        self.version: tuple[int, ...] = ()

    # --- connection -------------------------------------------------------------------------

    @property
    def jira(self) -> JIRA:
        """The jira client, connected on first use (serverInfo tells the flavour); threads
        starting together connect once, and none sees it before the flavour is known."""
        with self._connecting:
            if self._jira is None:
                client = self._client()
                self._server_info(client._session)
                self._jira = client
        return self._jira

    @property
    def flavour(self) -> Flavour:
        _ = self.jira
        return Flavour.CLOUD if self.deployment == "Cloud" else Flavour.DATA_CENTER

    @property
    def api(self) -> str:
        """The REST prefix we speak: v3 on Cloud, v2 on Data Center."""
        return "/rest/api/3" if self.flavour is Flavour.CLOUD else "/rest/api/2"

    def _client(self) -> JIRA:
        """The jira client with its retries off and our transport mounted; no request yet."""
        auth = self.settings.auth
        timeout = (self.settings.timeout.connect, self.settings.timeout.read)
        if isinstance(auth, CloudAuth):
            secret = auth.api_token.resolve("auth.api_token")
            # The Basic header carries base64(email:token): mask that form too, should a proxy
            # or an error page echo the header back.
            register(b64encode(f"{auth.email}:{secret.reveal()}".encode()).decode())
            basic = (auth.email, secret.reveal())
            client = JIRA(
                self.base, basic_auth=basic, max_retries=0, timeout=timeout, get_server_info=False
            )
        else:
            token = auth.personal_access_token.resolve("auth.personal_access_token").reveal()
            client = JIRA(
                self.base, token_auth=token, max_retries=0, timeout=timeout, get_server_info=False
            )
        session = client._session
        if session.max_retries != 0:  # a jira release that ignores max_retries=0
            raise SetupError(
                f"the jira library kept max_retries={session.max_retries}: its own retries"
                " (which resend POSTs) must be off; pin jira 3.10.x"
            )
        mount(session, self.budget, self.stats, self.transport)
        return client

    def _server_info(self, session: requests.Session) -> None:
        """The deployment type and version: retried, paced and counted like every request."""
        what = "GET /rest/api/2/serverInfo"
        fix = "check that the instance URL is the site's base URL"
        try:
            info = self.request("GET", "/rest/api/2/serverInfo", session=session)
        except Rejected:  # not JSON: a login page, a proxy's
            raise SetupError(f"{what} did not answer like Jira (not JSON); {fix}") from None
        versions = info.get("versionNumbers") if isinstance(info, dict) else None
        if not isinstance(versions, list) or not all(isinstance(v, int) for v in versions):
            raise SetupError(f"{what} did not answer like Jira (no versionNumbers); {fix}")
        self.deployment = info.get("deploymentType")
        self.version = tuple(versions)

    def close(self) -> None:
        if self._jira is not None:
            self._jira.close()  # type: ignore[no-untyped-call]
            self._jira = None

    # --- requests ---------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, body=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PUT", path, body=body, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        may_repeat: bool = True,
        on_error: ErrorHook | None = None,
        session: requests.Session | None = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """The decoded JSON answer (None for 204). `path` starts with /rest/. `session`: the
        client's own, given only while connecting (before the client is published). `decode`:
        how to decode the answer, if not whole (`adapters.jira.decoding`)."""
        session = session or self.jira._session
        url = self.base + path
        what = f"{method} {path}"
        data = None if body is None else json.dumps(body)

        def once() -> requests.Response:
            try:
                # Redirects are not followed: requests would turn a redirected PUT or POST
                # into a GET (and drop the credentials), so a write could "succeed" unwritten.
                response: requests.Response = session.request(
                    method, url, params=params, data=data, allow_redirects=False
                )
            except JIRAError as exc:
                raise self._translate(exc, what, on_error) from None
            except requests.ConnectTimeout as exc:
                raise timeout_error(what, exc, sent=False) from None
            except requests.RequestException as exc:
                # Refused, unresolved, TLS or proxy: Unreachable, at once. A read timeout or a
                # connection dropped mid-request: retried, but a write may have landed.
                raise connection_error(what, url, exc, sent=method != "GET") from None
            self.rate.observe(response.headers)
            _check_login(response, what)
            if 300 <= response.status_code < 400:
                raise SetupError(
                    f"{what} answered {response.status_code}, redirecting to"
                    f" {mask(response.headers.get('Location', '?'))}: the connector does not"
                    " follow redirects (a redirected write turns into a read). Set the"
                    " instance's url to the address Jira answers on itself."
                )
            return response

        response = self.retrier.call(once, may_repeat=may_repeat)
        if not response.content:
            return None
        try:
            return decode(response.content) if decode is not None else response.json()
        except ValueError:
            raise Rejected(
                f"{what} answered {response.status_code} with something other than JSON"
                " (a login page or a proxy?); check the instance URL"
            ) from None

    def _translate(self, exc: JIRAError, what: str, hook: ErrorHook | None) -> AdapterError:
        response = exc.response
        status = exc.status_code or (response.status_code if response is not None else 0)
        body = _body(response)
        if response is not None:
            self.rate.observe(response.headers)
        if hook is not None:
            specific = hook(status, body, what)
            if specific is not None:
                return specific
        detail = _detail(body) or (exc.text or "")
        if status == 410:
            return gone(what, detail, self.deployment)
        headers = dict(response.headers) if response is not None else {}
        denied = (response.headers if response is not None else {}).get(DENIED)
        if status == 403 and denied:
            return AuthError(
                f"{what} answered 403: Jira refused the login ({mask(denied)}). Fix: sign in to"
                " Jira once in a browser as the connector's account (to clear the CAPTCHA), then"
                " run again."
            )
        needs = need(what) if status == 403 else None
        return error_for(status, what, detail, headers, now=self.clock(), need=needs)


def gone(what: str, detail: str, deployment: str | None) -> Gone:
    path = what.split(" ", 1)[-1]
    endpoint = path.split("/rest/api/", 1)[-1]
    endpoint = "/" + endpoint.split("/", 1)[1] if "/" in endpoint else path
    replacement = REPLACEMENTS.get(endpoint)
    hint = f" Its replacement is {replacement}." if replacement else ""
    flavour = (
        f" The server's serverInfo reported deploymentType {deployment!r}, so the connector"
        " used the Data Center endpoints; a Jira Cloud site must report 'Cloud'."
        if deployment != "Cloud" and endpoint == "/search"
        else ""
    )
    suffix = f" ({mask(detail)})" if detail else ""
    return Gone(f"{what} answered 410: Jira removed this endpoint.{hint}{flavour}{suffix}")


def _check_login(response: requests.Response, what: str) -> None:
    """Jira can answer 200 to a failed login and serve the anonymous view: refuse that."""
    reason = response.headers.get("X-Seraph-LoginReason", "")
    if "AUTHENTICATED_FAILED" in reason or "AUTHENTICATION_DENIED" in reason:
        raise AuthError(
            f"{what}: Jira refused the credentials ({reason}). Check the instance's auth"
            " settings and that the token has not expired or been revoked."
        )


def _body(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(body: Mapping[str, Any]) -> str:
    """Jira's `{"errorMessages": [...], "errors": {field: message}}` as one line."""
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(parts)
