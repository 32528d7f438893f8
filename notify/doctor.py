"""`escalate doctor` for the notice channels: reachable and well configured, nothing sent.

HTTP channels: the host resolves (DNS), a TCP connection opens and, for https, the TLS
handshake verifies the certificate; no request is sent (a webhook POST would post). PagerDuty
routing keys are 32 characters, JSM API keys a UUID. E-mail: the SMTP server answers EHLO,
STARTTLS and the login when configured, then NOOP; no message is sent.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from urllib.parse import urlsplit

from adapters.results import Check
from adapters.secrets import mask
from notify.channels import Channel, EmailChannel, HttpChannel, host_of

PD_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
JSM_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def check(channel: Channel, timeout: float = 5.0) -> list[Check]:
    if isinstance(channel, EmailChannel):
        return [_smtp(channel)]
    assert isinstance(channel, HttpChannel)
    out = [_reach(channel.url(), timeout)]
    if channel.type == "pagerduty":
        key = channel.secrets["routing_key"].reveal()
        ok = bool(PD_KEY.match(key))
        out.append(Check("routing key", ok, "32 characters" if ok else _bad_key("PagerDuty")))
    if channel.type == "jsm":
        key = channel.secrets["api_key"].reveal()
        ok = bool(JSM_KEY.match(key))
        out.append(Check("API key", ok, "a UUID" if ok else _bad_key("JSM")))
    if channel.type == "slack" and not channel.url().startswith("https://hooks.slack.com/"):
        out.append(Check("webhook URL", True, "not hooks.slack.com (a proxy or a test sink?)"))
    return out


def _bad_key(service: str) -> str:
    return f"does not look like a {service} integration key: copy it from the service's integration"


def _reach(url: str, timeout: float) -> Check:
    """DNS, TCP and (https) a verified TLS handshake to the URL's host; no request."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    where = host_of(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return Check("reachable", False, f"{where}: the name does not resolve ({exc})")
    try:
        address = (str(infos[0][4][0]), int(infos[0][4][1]))
        with socket.create_connection(address, timeout=timeout) as sock:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    return Check("reachable", True, f"{where}: TLS {tls.version()}, certificate ok")
    except ssl.SSLError as exc:
        return Check("reachable", False, f"{where}: TLS failed: {exc.reason or exc}")
    except OSError as exc:
        return Check("reachable", False, f"{where}: cannot connect: {exc}")
    plain = "plain HTTP (use https outside a test)" if parts.scheme == "http" else ""
    return Check("reachable", True, f"{where}: connected{'; ' + plain if plain else ''}")


def _smtp(channel: EmailChannel) -> Check:
    smtp = channel.model.smtp
    assert smtp is not None
    where = f"{smtp.host}:{smtp.port}"
    try:
        with channel.connect() as server:  # EHLO, STARTTLS and login as configured
            code, _ = server.noop()
    except smtplib.SMTPAuthenticationError as exc:
        return Check("smtp", False, f"{where}: login refused ({exc.smtp_code}): check the user")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp", False, mask(f"{where}: {type(exc).__name__}: {exc}"))
    detail = f"{where}: EHLO, {smtp.security}, NOOP {code}"
    return Check("smtp", code == 250, detail + ("" if smtp.username else ", no login"))
