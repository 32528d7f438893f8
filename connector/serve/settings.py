"""The `serve:` section of the configuration: how `escalate serve` listens, how often it runs,
and the webhook signing secrets (docs/operations.md, "Service mode")."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from adapters.secrets import SecretRef
from rules.basics import Model
from rules.schema import Duration

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WebhookSettings(Model):
    """One instance's webhook: the secret its deliveries are signed with."""

    secret: SecretRef = Field(
        description="The signing secret: {env: VARIABLE} or {file: PATH}. Zendesk: the"
        " webhook's signing secret; Jira: the secret given when the webhook was registered."
    )
    signature: Literal["required"] = Field(
        default="required",
        description="Deliveries without a valid signature are refused (401); there is no"
        " other choice.",
    )
    verify: Literal["signature", "connect-jwt", "oauth-jwt"] = Field(
        default="signature",
        description="How deliveries prove they come from the platform. signature: the"
        " platform's signature header (Zendesk; Jira admin webhooks' X-Hub-Signature)."
        " connect-jwt: Jira Cloud webhooks of a Connect app (Authorization: JWT, HS256 with"
        " the installation's sharedSecret as `secret`, qsh checked). oauth-jwt: an OAuth 2.0"
        " app's dynamic webhooks (Authorization: Bearer, HS256 with the app's client secret).",
    )
    issuer: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="With a JWT mode (required there, refused elsewhere): the token's `iss`,"
        " the installation's clientKey (connect-jwt) or the app's client id (oauth-jwt).",
    )

    @model_validator(mode="after")
    def _issuer(self) -> WebhookSettings:
        if self.verify != "signature" and self.issuer is None:
            raise ValueError(f"verify: {self.verify} needs `issuer` (the token's iss)")
        if self.verify == "signature" and self.issuer is not None:
            raise ValueError("`issuer` is for verify: connect-jwt or oauth-jwt only")
        return self

    def describe(self) -> str:
        """The mode, for doctor and logs (never the secret, only where it is read from)."""
        where = self.secret.describe()
        if self.verify == "signature":
            return f"signature (secret from {where})"
        return f"{self.verify} (HS256, issuer {self.issuer!r}, secret from {where})"


class ServeSettings(Model):
    """`escalate serve`: an incremental cycle every `interval`, a full sweep every
    `run.full_sweep`, and a cycle soon after a webhook names a ticket (`debounce` later, so a
    burst makes one cycle)."""

    listen: str = Field(
        default="127.0.0.1:8080",
        pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$",
        description="HOST:PORT to listen on (port 0: any free port, printed at start).",
    )
    public_url: str | None = Field(
        default=None,
        description="The https:// address the platforms reach this service at (behind TLS);"
        " webhooks are registered at PUBLIC_URL/webhooks/PLATFORM/INSTANCE.",
    )
    interval: Duration = Field(default=60.0, gt=0, description="Time between cycles (60s).")
    debounce: Duration = Field(
        default=1.0, ge=0, description="Wait after a webhook before its cycle, to gather a burst."
    )
    queue: int = Field(
        default=10_000,
        ge=1,
        description="Tickets waiting for a cycle, per instance; past it, a full cycle instead.",
    )
    max_age: Duration = Field(
        default=300.0,
        gt=0,
        description="A Zendesk delivery signed longer ago than this (or as far ahead) is"
        " refused as a replay.",
    )
    webhooks: dict[str, WebhookSettings] = Field(
        default_factory=dict, description="Per instance name: its webhook's signing secret."
    )

    @field_validator("listen")
    @classmethod
    def _port(cls, listen: str) -> str:
        if int(listen.rpartition(":")[2]) > 65535:
            raise ValueError(f"port {listen.rpartition(':')[2]} is above 65535 (0: any free port)")
        return listen

    @model_validator(mode="after")
    def _https(self) -> ServeSettings:
        if self.public_url is None:
            return self
        parts = urlsplit(self.public_url)
        local = parts.scheme == "http" and parts.hostname in LOOPBACK
        if parts.scheme != "https" and not local:
            raise ValueError(
                "serve.public_url must be an https:// address (put the service behind TLS:"
                " docs/operations.md); http:// only on loopback, for tests"
            )
        return self

    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    def webhook_url(self, platform: str, instance: str) -> str | None:
        if self.public_url is None:
            return None
        return f"{self.public_url.rstrip('/')}/webhooks/{platform}/{instance}"
