"""`escalate doctor` for channels (notify/doctor.py): a verified TLS handshake to a real HTTPS
server, a real SMTP server's EHLO and NOOP, the keys' formats; nothing is ever sent."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from emulators.sink import Sink, free_port
from notify.channels import open_channel
from notify.doctor import check
from rules.channels import ChannelModel
from tests.adapters.netfaults import Cert, self_signed


class _Count(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self) -> None:
        _Count.hits += 1
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[int, Cert]]:
    cert = self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Count)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def channel(monkeypatch: pytest.MonkeyPatch, kind: str, **settings: Any) -> Any:
    for name, value in settings.pop("env", {}).items():
        monkeypatch.setenv(name, value)
    return open_channel("c", ChannelModel.model_validate({"type": kind, **settings}), None, 5.0)


def test_tls_is_verified_and_nothing_is_posted(
    https: tuple[int, Cert], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = https
    url = f"https://localhost:{port}/services/T0/B0/secret"
    slack = channel(monkeypatch, "slack", url={"env": "U"}, env={"U": url})
    [untrusted, *_] = check(slack)
    assert not untrusted.ok and "TLS failed: CERTIFICATE_VERIFY_FAILED" in untrusted.detail
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))  # now the certificate is trusted
    [trusted, where] = check(slack)
    assert trusted.ok and "certificate ok" in trusted.detail, trusted.detail
    assert where.detail == "not hooks.slack.com (a proxy or a test sink?)"
    assert "secret" not in untrusted.detail + trusted.detail
    assert _Count.hits == 0


def test_an_unreachable_service_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = channel(
        monkeypatch, "teams", url={"env": "U"}, env={"U": f"http://127.0.0.1:{free_port()}/x"}
    )
    [found] = check(closed)
    assert not found.ok and "cannot connect" in found.detail


def test_smtp_ehlo_and_noop_and_no_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = Sink().start()
    try:
        smtp = {"host": "127.0.0.1", "port": sink.smtp_port, "security": "none"}
        mail = channel(
            monkeypatch, "email", smtp=smtp, sender="a@example.com", to=["b@example.com"]
        )
        [found] = check(mail)
        assert (
            found.ok
            and found.detail == f"127.0.0.1:{sink.smtp_port}: EHLO, none, NOOP 250, no login"
        )
        starttls = channel(
            monkeypatch, "email", smtp={**smtp, "security": "starttls"}, sender="a@example.com",
            to=["b@example.com"],
        )  # fmt: skip
        [refused] = check(starttls)  # aiosmtpd without a certificate offers no STARTTLS
        assert not refused.ok and "STARTTLS" in refused.detail
        assert sink.mails == []
    finally:
        sink.close()


@pytest.mark.parametrize(
    ("kind", "key", "ok"),
    [
        ("pagerduty", "R0123456789abcdef0123456789abcde", True),
        ("pagerduty", "R0123456789abcdef", False),
        ("jsm", "123e4567-e89b-12d3-a456-426614174000", True),
        ("jsm", "not-a-uuid", False),
    ],
)
def test_key_formats(monkeypatch: pytest.MonkeyPatch, kind: str, key: str, ok: bool) -> None:
    sink = Sink().start(smtp=False)
    try:
        field = "routing_key" if kind == "pagerduty" else "api_key"
        found = check(
            channel(
                monkeypatch, kind, endpoint=sink.url("/x"), env={"K": key}, **{field: {"env": "K"}}
            )
        )
        assert found[0].ok and found[1].ok is ok
        assert key not in found[1].detail
        assert sink.hits == []
    finally:
        sink.close()
