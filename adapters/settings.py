"""The keys every instance has, whatever its platform; each platform's settings model (in
`adapters/<platform>/settings.py`) extends `InstanceSettings`. Importing this module loads no
client library: `escalate validate` checks a whole configuration with it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from rules.basics import Model


class BudgetSettings(Model):
    requests_per_minute: int = Field(
        default=0, ge=0, description="Pace requests to at most this many a minute (0: no limit)."
    )
    retry_seconds: float = Field(
        default=300.0, ge=0, description="Total time one run may spend waiting to retry."
    )
    attempts: int = Field(default=5, ge=1, le=20, description="Tries per request, at most.")


class TimeoutSettings(Model):
    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=60.0, gt=0)


class InstanceSettings(Model):
    """Keys every instance has; each adapter's settings model extends it."""

    platform: str
    url: str
    scope: str | None = None
    #: The tickets `escalate backtest --instance` reads (a platform query, open and done ones;
    #: the window's terms are added). Default: `scope` without its status terms (adapters/past.py).
    history_scope: str | None = None
    #: Tracking fields by logical name -> platform field title; overrides `platforms.<p>.fields`.
    fields: dict[str, str] = {}
    budget: BudgetSettings = BudgetSettings()
    timeout: TimeoutSettings = TimeoutSettings()

    def done_left_out(self) -> tuple[str, str] | None:
        """(the query this instance reads, its term that keeps every solved and closed ticket
        out), when the query clearly does; None when unsure. Offline, for `escalate validate`."""
        return None

    def without_done(self) -> dict[str, str] | None:
        """The settings to change so that the instance reads no solved or closed ticket, when
        its query does not already leave them out and can take one more AND-ed term; None
        when it does, or when unsure. For `connector.scopes.narrowed`."""
        return None

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """The base URL; credentials never travel over plain http off this machine."""
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"expected a base URL such as https://acme.example.com, got {value!r}")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError(
                f"{value!r}: plain http would send the credentials in clear text; it is only"
                " allowed on this machine (127.0.0.1, localhost); use https"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: give the base URL only, without ?query or #fragment")
        return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
