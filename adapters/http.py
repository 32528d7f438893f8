"""What both adapters share on the wire: one transport, one retry policy, one error mapping.

- `Transport` is the only HTTP adapter mounted on a client session. It never retries (urllib3
  `Retry(total=0)`, so a PUT is never re-sent behind our back), paces requests to the
  instance's per-minute budget, and counts requests by method and path for the budgets in
  BENCHMARKS.md. Its answers parse JSON with orjson (`JsonResponse`): ours, and those zenpy
  and the jira library parse themselves (both call `response.json()`).
- `Retrier` retries `TransientError`s with tenacity: a `Retry-After` (seconds or HTTP date) is
  honoured exactly, other waits back off exponentially, and all waits of one run together stay
  within the instance's `retry_seconds`. A request that may have landed (a timeout after the
  request was sent) is not retried here: the adapter re-reads the ticket first.
- `error_for(...)` maps an HTTP status to the project's error tree with a message that says
  what to fix; a 403 names the permission the endpoint needs (`Need`, from each platform's
  table of endpoints: `adapters/jira/permissions.py`, `adapters/zendesk/permissions.py`);
  `adapters.network` does the same for a connection that could not be made.

Clock and sleeper are injected, so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base
from urllib3.util.retry import Retry

from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    Gone,
    MaybeLanded,
    NotFound,
    PermissionDenied,
    Rejected,
    SetupError,
    TransientError,
)
from adapters.secrets import mask
from adapters.sweeping import loads

T = TypeVar("T")
Clock = Callable[[], float]
Sleeper = Callable[[float], None]

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Need:
    """What an endpoint needs of the connector's account, and where an admin grants it."""

    permission: str  # e.g. "Edit Issues (EDIT_ISSUES) in project SUP"
    grant: str  # e.g. "grant it in Project settings → Permissions"


@dataclass
class RequestStats:
    """Requests sent, by `METHOD /path` with numeric ids collapsed to `{id}`."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, method: str, url: str) -> None:
        parts = urlsplit(url).path.split("/")
        # Keep API versions (/rest/api/3); collapse ids and issue keys.
        kept = [
            "{id}" if i and parts[i - 1] != "api" and (p.isdigit() or _looks_like_key(p)) else p
            for i, p in enumerate(parts)
        ]
        with self._lock:  # the executor writes from several threads
            self.counts[f"{method} {'/'.join(kept)}"] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_method(self, method: str) -> int:
        return sum(n for k, n in self.counts.items() if k.startswith(method + " "))


def _looks_like_key(part: str) -> bool:
    """A Jira issue key (ABC-123) or a `42.json` Zendesk id."""
    head, sep, tail = part.rpartition("-")
    if sep and head.isupper() and tail.isdigit():
        return True
    stem = part.removesuffix(".json")
    return stem != part and stem.isdigit()


class Budget:
    """At most `per_minute` requests in any 60-second window (0 means no limit), shared by
    every thread of the instance: a thread that must wait holds the others back too."""

    def __init__(self, per_minute: int, clock: Clock, sleep: Sleeper) -> None:
        self.per_minute = per_minute
        self.clock, self.sleep = clock, sleep
        self._sent: deque[float] = deque()
        self.waited = 0.0
        self._lock = threading.Lock()
        self._hold_until = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self.clock()
            if self._hold_until > now:
                pause = self._hold_until - now
                self.sleep(pause)
                self.waited += pause
            if self.per_minute > 0:
                self._acquire()

    def hold(self, seconds: float) -> None:
        """The platform said "slow down" (429 + Retry-After): no request of this instance, from
        any thread, goes out before then, not only the one that was refused."""
        with self._lock:
            self._hold_until = max(self._hold_until, self.clock() + seconds)

    def _acquire(self) -> None:
        now = self.clock()
        while self._sent and self._sent[0] <= now - 60.0:
            self._sent.popleft()
        if len(self._sent) >= self.per_minute:
            pause = self._sent[0] + 60.0 - now
            if pause > 0:
                self.sleep(pause)
                self.waited += pause
                now += pause
            self._sent.popleft()
        self._sent.append(now)


class JsonResponse(requests.Response):
    """An answer whose `json()` parses with orjson, several times faster than the standard
    library on search pages (BENCHMARKS.md, "Full sweeps"). Whatever orjson refuses that the
    standard library takes (NaN, integers over 64 bits, another encoding than UTF-8) is
    parsed as before, and a body that is not JSON raises what `requests` raises."""

    def json(self, **kwargs: Any) -> Any:
        if not kwargs:
            try:
                return loads(self.content)
            except orjson.JSONDecodeError:
                pass
        return super().json(**kwargs)


class Transport(HTTPAdapter):
    """Never retries; paces to the budget (and holds every thread back after a 429); counts
    what it sends. `inner` carries the requests where something else should (an emulator in
    process, for the sandbox and tests); by default they go over the network."""

    def __init__(
        self, budget: Budget | None, stats: RequestStats, inner: BaseAdapter | None = None
    ) -> None:
        super().__init__(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0))
        self.budget, self.stats, self.inner = budget, stats, inner

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if self.budget is not None:
            self.budget.acquire()
        self.stats.record(request.method or "GET", str(request.url))
        try:
            if self.inner is not None:
                response = self.inner.send(request, *args, **kwargs)
            else:
                response = super().send(request, *args, **kwargs)
        except requests.exceptions.InvalidProxyURL:
            host = urlsplit(str(request.url)).hostname
            raise SetupError(
                f"the proxy set for {host} is not a valid URL: set HTTPS_PROXY (or HTTP_PROXY)"
                " to one with a scheme and a host, e.g. http://proxy.example.com:3128"
            ) from None
        if response.status_code == 429 and self.budget is not None:
            wait = retry_after(response.headers, self.budget.clock())
            if wait:
                self.budget.hold(wait)
        if type(response) is requests.Response:
            response.__class__ = JsonResponse
        return response


def mount(
    session: requests.Session,
    budget: Budget | None,
    stats: RequestStats,
    inner: BaseAdapter | None = None,
) -> None:
    """Replace every transport of `session` with ours; TLS verification stays on; the
    environment's settings (proxies, CA bundle) are read once per host (`EnvironmentOnce`)."""
    transport = Transport(budget, stats, inner)
    session.adapters.clear()
    session.mount("https://", transport)
    session.mount("http://", transport)
    session.verify = True
    once = EnvironmentOnce(session.merge_environment_settings)
    session.merge_environment_settings = once  # type: ignore[method-assign]


class EnvironmentOnce:
    """`Session.merge_environment_settings`, read once per host and arguments for the session's
    life (a run): `requests` otherwise scans the whole environment twice per request for
    proxy variables (the largest part of a Zendesk audits request's CPU, measured). Proxy and
    CA bundle variables set while a run goes on are not seen until the next run."""

    def __init__(self, merge: Callable[..., dict[str, Any]]) -> None:
        self.merge = merge
        self.seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def __call__(
        self, url: str, proxies: Mapping[str, str] | None, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        parts = urlsplit(url)
        shown = tuple(sorted((proxies or {}).items()))
        key = (parts.scheme, parts.netloc, shown, stream, verify, str(cert))
        with self.lock:
            found = self.seen.get(key)
            if found is None:
                found = self.seen[key] = self.merge(url, dict(proxies or {}), stream, verify, cert)
            return {**found, "proxies": dict(found["proxies"] or {})}


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from `Retry-After` (delta seconds or an HTTP date), else None."""
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def rate_limit(
    headers: Mapping[str, str], spellings: tuple[tuple[str, str], ...]
) -> tuple[int, int] | None:
    """(limit, remaining) from the first (limit, remaining) header pair present with two
    integers, header names in any case; None if no pair is."""
    for limit, remaining in spellings:
        pair = _integer(_header(headers, limit)), _integer(_header(headers, remaining))
        if pair[0] is not None and pair[1] is not None:
            return pair[0], pair[1]
    return None


def _integer(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def error_for(
    status: int,
    what: str,
    detail: str = "",
    headers: Mapping[str, str] | None = None,
    now: float | None = None,
    need: Need | None = None,
) -> AdapterError:
    """The project's error for an HTTP status; `what` names the request (METHOD /path), and
    `need` what the endpoint needs of the account (named in a 403's message)."""
    detail = mask(detail.strip()).rstrip(".")  # the fix that follows starts a new sentence
    suffix = f": {detail}" if detail else ""
    if status in TRANSIENT_STATUS:
        wait = retry_after(headers or {}, now if now is not None else time.time())
        return TransientError(f"{what} answered {status}{suffix}", retry_after=wait)
    if status == 401:
        return AuthError(
            f"{what} answered 401: the credentials were refused{suffix}. Check the instance's"
            " auth settings and that the token has not expired or been revoked."
        )
    if status == 403:
        return forbidden(what, detail, need)
    if status == 404:
        return NotFound(f"{what} answered 404: not found{suffix}")
    if status == 409:
        return Conflict(f"{what} answered 409: changed by someone else meanwhile{suffix}")
    if status == 410:
        return Gone(f"{what} answered 410: the platform removed this endpoint{suffix}")
    return Rejected(f"{what} answered {status}: the platform refused the request{suffix}")


def forbidden(what: str, detail: str, need: Need | None) -> PermissionDenied:
    """A refusal for want of a permission: the endpoint, the permission it needs, the fix."""
    detail = mask(detail.strip()).rstrip(".")
    suffix = f" ({detail})" if detail else ""
    if need is None:
        return PermissionDenied(
            f"{what} answered 403: the connector's account may not do this{suffix}. Give the"
            " account the permission this endpoint needs."
        )
    return PermissionDenied(
        f"{what} answered 403: the connector's account lacks {need.permission}{suffix}."
        f" Fix: {need.grant}."
    )


def timeout_error(what: str, exc: Exception, *, sent: bool) -> TransientError:
    """A timeout or dropped connection; `sent` (a write that reached the platform) makes it
    `MaybeLanded`."""
    kind = MaybeLanded if sent else TransientError
    return kind(f"{what}: {type(exc).__name__}: {mask(str(exc))}")


class RetryBudgetExceeded(TransientError):
    """The wait a retry needs is more than what is left of the run's retry budget."""


class Retrier:
    """tenacity around one logical call; waits come out of a per-run budget of seconds."""

    def __init__(
        self,
        sleep: Sleeper,
        *,
        attempts: int = 5,
        retry_seconds: float = 300.0,
        base: float = 1.0,
        cap: float = 60.0,
    ) -> None:
        self.sleep = sleep
        self.attempts = attempts
        self.remaining = retry_seconds
        self.base, self.cap = base, cap
        self._lock = threading.Lock()  # one budget for the instance's writer threads

    def call(self, fn: Callable[[], T], *, may_repeat: bool = True) -> T:
        """Run `fn`, retrying transient errors. With `may_repeat=False` (a write that may have
        landed), a timeout is raised to the caller instead, which re-reads before retrying."""

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, TransientError):
                return False
            return may_repeat or not isinstance(exc, MaybeLanded)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = getattr(exc, "retry_after", None)
            backoff = min(self.cap, self.base * 2 ** (state.attempt_number - 1))
            return float(hinted) if hinted is not None else backoff

        class OutOfBudget(stop_base):
            def __call__(inner, state: RetryCallState) -> bool:  # noqa: N805
                return wait(state) > self.remaining

        tries = [0]

        def before_sleep(state: RetryCallState) -> None:
            seconds = state.next_action.sleep if state.next_action else 0.0
            with self._lock:
                self.remaining -= seconds
            tries[0] += 1

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_any(stop_after_attempt(self.attempts), OutOfBudget()),
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except TransientError as exc:
            if retryable(exc):
                raise RetryBudgetExceeded(
                    f"{exc} (gave up after {tries[0]} retries; retry budget left"
                    f" {self.remaining:.0f}s)",
                    retry_after=exc.retry_after,
                ) from exc
            raise
