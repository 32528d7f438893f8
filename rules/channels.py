"""The `notify:` section's schema: notice channels, configured once, named from `notify` lists.

Part of the policy schema (rules.schema); rules.notices decides what each change tells which
channel and when, the notify package sends it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator

from rules.basics import Model, Name, NameList, StrList


class SecretSource(Model):
    """Where a channel's secret lives: exactly one of `env` or `file` (never the value)."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, value: object) -> object:
        if not isinstance(value, dict):  # a value error, so the message never echoes it
            raise ValueError(
                "a secret is never written in the config; give where to read it:"
                " {env: VARIABLE} or {file: PATH}"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> SecretSource:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: VARIABLE or file: PATH")
        return self


class SmtpModel(Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    #: starttls (the default, port 587), tls (implicit, port 465) or none (a local relay only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretSource | None = None

    @model_validator(mode="after")
    def _no_clear_password(self) -> SmtpModel:
        if self.password is not None and self.security == "none":
            raise ValueError("security none would send the password in the clear: use starttls")
        return self


ChannelType = Literal["slack", "teams", "email", "pagerduty", "jsm", "webhook"]
#: What each channel type needs besides `type` (checked when the channel is read).
CHANNEL_NEEDS: dict[str, tuple[str, ...]] = {
    "slack": ("url",),
    "teams": ("url",),
    "webhook": ("url",),
    "email": ("smtp", "sender", "to"),
    "pagerduty": ("routing_key",),
    "jsm": ("api_key",),
}


class ChannelModel(Model):
    """A place notices go, configured once and named from levels' and rules' `notify`."""

    type: ChannelType
    #: The incoming-webhook URL (it holds the token): Slack, Teams, generic webhook.
    url: SecretSource | None = None
    #: PagerDuty Events v2 or JSM alerts endpoint, if not the service's own (an EU region).
    endpoint: str | None = Field(default=None, pattern=r"^https?://")
    routing_key: SecretSource | None = None  # PagerDuty integration key
    api_key: SecretSource | None = None  # JSM operations (Opsgenie) API integration key
    secret: SecretSource | None = None  # generic webhook: HMAC-SHA256 signing key
    smtp: SmtpModel | None = None
    sender: str | None = Field(default=None, validation_alias=AliasChoices("sender", "from"))
    to: NameList = []
    severity: Literal["critical", "error", "warning", "info"] = "error"
    #: Notices wait for this calendar's working hours (none: sent at once).
    calendar: str | None = None
    #: Priorities or level names whose notices are sent at once, outside hours too.
    bypass_hours: StrList = []
    #: A template of `templates:` for the notice text (default: a built-in summary).
    template: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> ChannelModel:
        missing = [k for k in CHANNEL_NEEDS[self.type] if not getattr(self, k)]
        if missing:
            raise ValueError(f"a {self.type} channel needs {', '.join(missing)}")
        return self


class NotifyModel(Model):
    channels: dict[Name, ChannelModel] = {}
    #: Sends of one notice before it is given up (the first and the next runs' retries).
    max_attempts: int = Field(default=5, ge=1, le=100)
    #: Notices in flight at once, per channel.
    concurrency: int = Field(default=4, ge=1, le=32)
    #: Seconds one send may take (connect and read).
    timeout: float = Field(default=10.0, gt=0, le=120)
