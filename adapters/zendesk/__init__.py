"""The Zendesk adapter (docs/zendesk.md).

`build(name, settings, policy, clock=..., sleep=...)` resolves the credentials, builds the one
session (our transport: no urllib3 retries, pacing, request counting) and the zenpy client on
it, and returns the adapter. No request is sent until the adapter is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests

from adapters.history_cache import HistoryCache, cache_path
from adapters.http import Budget, RequestStats, Retrier, mount
from adapters.owed import Journal, journal_path
from adapters.zendesk.adapter import ZendeskAdapter
from adapters.zendesk.client import Client
from adapters.zendesk.session import (
    ClientCredentials,
    Credentials,
    StaticCredentials,
    ZendeskSession,
)
from adapters.zendesk.settings import (
    ApiTokenAuth,
    ClientCredentialsAuth,
    OAuthTokenAuth,
    Settings,
)
from rules.policy import Policy

__all__ = ["Settings", "ZendeskAdapter", "build"]


def build(
    name: str,
    settings: Settings,
    policy: Policy,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
    state_dir: Path | None = None,
) -> ZendeskAdapter:
    """The adapter for one instance; `session` (tests, proxies) lends its proxies and headers;
    with a `state_dir`, ticket histories are kept there between runs (`history_cache`), and so
    are the public replies a change still owes (`adapters.owed`)."""
    ours = ZendeskSession(settings.url, clock, (settings.timeout.connect, settings.timeout.read))
    if session is not None:
        ours.proxies.update(session.proxies)
        ours.headers.update({k: v for k, v in session.headers.items() if k != "Authorization"})
        ours.trust_env = session.trust_env
    stats = RequestStats()
    mount(ours, Budget(settings.budget.requests_per_minute, clock, sleep), stats)
    ours.credentials = _credentials(name, settings, ours, clock)
    retrier = Retrier(
        sleep, attempts=settings.budget.attempts, retry_seconds=settings.budget.retry_seconds
    )
    client = Client(ours, retrier)
    cache = None
    if state_dir is not None and settings.history_cache:
        cache = HistoryCache(cache_path(state_dir, name), platform="zendesk", policy=policy)
    owed = journal_path(state_dir, name) if state_dir is not None else None
    return ZendeskAdapter(
        name,
        settings,
        policy,
        client,
        clock=clock,
        sleep=sleep,
        stats=stats,
        cache=cache,
        journal=Journal(owed, settings.url, clock),
    )


def _credentials(
    name: str, settings: Settings, session: ZendeskSession, clock: Callable[[], float]
) -> Credentials:
    auth = settings.auth
    where = f"instances.{name}.auth"
    if isinstance(auth, ClientCredentialsAuth):
        return ClientCredentials(
            auth.client_id,
            auth.client_secret.resolve(f"{where}.client_secret"),
            auth.scope,
            auth.expires_in,
            clock,
            session.post_unsigned,
        )
    if isinstance(auth, OAuthTokenAuth):
        return StaticCredentials.bearer(auth.token.resolve(f"{where}.token"))
    assert isinstance(auth, ApiTokenAuth)
    return StaticCredentials.api_token(auth.email, auth.token.resolve(f"{where}.token"))
