"""The channels, ready to send: HTTP (Slack, Teams, PagerDuty, JSM, webhook) and SMTP.

`open_channels` resolves each channel's secrets (a missing one is a ConfigError naming where it
was expected); `Channel.send` sends one notice and says how it went, never raising for a failed
send: a transient failure (no connection, a timeout, 408, 429, 5xx, an SMTP 4xx) is worth
another attempt by the next run, anything else (400, 401, 403, 404, an SMTP 5xx) is not.
Every message is masked (a webhook URL holds its token). TLS is verified.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests

from adapters.secrets import Secret, SecretRef, mask
from notify import payloads
from notify.payloads import Outgoing
from rules.channels import ChannelModel, SecretSource

PAGERDUTY = "https://events.pagerduty.com/v2/enqueue"
JSM = "https://api.atlassian.com/jsm/ops/integration/v2/alerts"


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    retry: bool = False
    detail: str = ""


class Channel(Protocol):
    name: str
    type: str

    @property
    def idempotent(self) -> bool:
        """Whether sending the same notice twice reaches people once (the service dedups)."""
        ...

    def send(self, o: Outgoing) -> Delivery: ...
    def describe(self) -> str:
        """Where it sends, secrets masked (for plans, doctor, demo)."""
        ...


@dataclass
class HttpChannel:
    name: str
    type: str
    model: ChannelModel
    secrets: dict[str, Secret]
    timeout: float = 10.0
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def idempotent(self) -> bool:
        return self.type in ("pagerduty", "jsm")

    def url(self) -> str:
        if "url" in self.secrets:
            return self.secrets["url"].reveal()
        return self.model.endpoint or (PAGERDUTY if self.type == "pagerduty" else JSM)

    def describe(self) -> str:
        """The service's host; the rest of a webhook URL is its secret."""
        return host_of(self.url())

    def request(self, o: Outgoing) -> tuple[str, bytes, dict[str, str]]:
        """The URL, JSON body and headers of the notice's request."""
        url, body, headers = self._parts(o)
        raw = json.dumps(body, sort_keys=True).encode()
        if self.type == "webhook":
            headers["Idempotency-Key"] = o.id
            if "secret" in self.secrets:
                digest = hmac.new(self.secrets["secret"].reveal().encode(), raw, hashlib.sha256)
                headers["X-Escalation-Signature"] = f"sha256={digest.hexdigest()}"
        return url, raw, headers

    def _parts(self, o: Outgoing) -> tuple[str, dict[str, Any], dict[str, str]]:
        headers = {"Content-Type": "application/json", "User-Agent": payloads.APP}
        url = self.url()
        if self.type == "slack":
            return url, payloads.slack(o), headers
        if self.type == "teams":
            return url, payloads.teams(o), headers
        if self.type == "pagerduty":
            key = self.secrets["routing_key"].reveal()
            return url, payloads.pagerduty(o, key, self.model.severity), headers
        if self.type == "jsm":
            headers["Authorization"] = f"GenieKey {self.secrets['api_key'].reveal()}"
            if o.event == "resolve":
                url = f"{url.rstrip('/')}/{quote(o.dedup_key, safe='')}/close?identifierType=alias"
            return url, payloads.jsm(o), headers
        return url, payloads.webhook(o), headers

    def send(self, o: Outgoing) -> Delivery:
        url, data, headers = self.request(o)
        try:
            response = self.session.post(url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:  # its text holds the URL: name the host only
            return Delivery(False, True, f"{type(exc).__name__} reaching {host_of(url)}")
        status = response.status_code
        if 200 <= status < 300:
            return Delivery(True, detail=str(status))
        retry = status in (408, 429) or status >= 500
        return Delivery(False, retry, mask(f"HTTP {status}: {response.text[:200]}"))


@dataclass
class EmailChannel:
    name: str
    model: ChannelModel
    secrets: dict[str, Secret]
    timeout: float = 10.0
    type: str = "email"
    idempotent: bool = False

    def describe(self) -> str:
        smtp = self.model.smtp
        assert smtp is not None
        return f"smtp://{smtp.host}:{smtp.port} ({smtp.security}) to {', '.join(self.model.to)}"

    def connect(self) -> smtplib.SMTP:
        smtp = self.model.smtp
        assert smtp is not None
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
        server.ehlo()
        if smtp.security == "starttls":
            server.starttls(context=context)
            server.ehlo()
        if smtp.username and "password" in self.secrets:
            server.login(smtp.username, self.secrets["password"].reveal())
        return server

    def send(self, o: Outgoing) -> Delivery:
        assert self.model.sender is not None
        domain = self.model.sender.rpartition("@")[2] or "escalation.invalid"
        message = payloads.email(o, self.model.sender, list(self.model.to), domain)
        try:
            with self.connect() as server:
                server.send_message(message)
        except smtplib.SMTPResponseException as exc:
            retry = 400 <= exc.smtp_code < 500
            return Delivery(False, retry, mask(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"))
        except smtplib.SMTPRecipientsRefused as exc:
            return Delivery(False, False, mask(f"recipients refused: {list(exc.recipients)}"))
        except (OSError, smtplib.SMTPException) as exc:
            return Delivery(False, True, mask(f"{type(exc).__name__}: {exc}"))
        return Delivery(True, detail="250")


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


SECRET_KEYS = ("url", "routing_key", "api_key", "secret")


def _resolve(source: SecretSource, what: str, base: Path | None) -> Secret:
    file = source.file
    if file is not None and base is not None and not Path(file).expanduser().is_absolute():
        file = str(base / file)
    return SecretRef(env=source.env, file=file).resolve(what)


def open_channel(name: str, model: ChannelModel, base: Path | None, timeout: float) -> Channel:
    """One channel with its secrets read (ConfigError if one is missing)."""
    what = f"notify.channels.{name}"
    secrets = {
        key: _resolve(src, f"{what}.{key}", base)
        for key in SECRET_KEYS
        if (src := getattr(model, key)) is not None
    }
    if model.type == "email":
        smtp = model.smtp
        if smtp is not None and smtp.password is not None:
            secrets["password"] = _resolve(smtp.password, f"{what}.smtp.password", base)
        return EmailChannel(name, model, secrets, timeout)
    return HttpChannel(name, model.type, model, secrets, timeout)


def open_channels(
    channels: dict[str, ChannelModel],
    base: Path | None = None,
    timeout: float = 10.0,
    opener: Callable[[str, ChannelModel, Path | None, float], Channel] = open_channel,
) -> dict[str, Channel]:
    return {name: opener(name, model, base, timeout) for name, model in channels.items()}
