"""A platform that cannot be reached fails at once, in one sentence naming the host and what to
check: a refused connection, a host name that does not resolve, a TLS certificate that cannot
be verified or names another host, a failing proxy. Each is real (loopback sockets, a local TLS
server, a local proxy, an `.invalid` name, which RFC 6761 guarantees never resolves), through
the real Jira and Zendesk adapters; nothing sleeps, and the injected sleeper is never called.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from adapters.errors import AdapterError, MaybeLanded, SetupError, TransientError, Unreachable
from adapters.jira.adapter import build as build_jira
from adapters.jira.settings import Settings as JiraSettings
from adapters.network import connection_error, unreachable
from adapters.package import Wiring
from adapters.protocol import Adapter
from adapters.zendesk.adapter import build as build_zendesk
from adapters.zendesk.settings import Settings as ZendeskSettings
from emulators.server import EmulatorServer
from emulators.zendesk import ZendeskEmulator
from tests.adapters.contract import contract_policy
from tests.adapters.fakes import FakeTime
from tests.adapters.jira_harness import make_emulator
from tests.adapters.netfaults import (
    Cert,
    closed_port,
    self_signed,
    tls_server,
    tunnel_refusing_proxy,
)

NOW = 1772445600.0
SECRET = "zd-client-secret-9f1c"
PLATFORMS = ("jira", "zendesk")
Build = Callable[[str, str], Adapter]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set the proxy and CA bundle they mean; none comes from the environment."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(NOW)


@pytest.fixture
def build(tmp_path: Path, clock: FakeTime) -> Build:
    """`build(platform, url)`: the real adapter (Jira Cloud; Zendesk with OAuth client
    credentials) for an instance at `url`."""
    (tmp_path / "secret").write_text(SECRET + "\n")
    secret = {"file": str(tmp_path / "secret")}
    wiring = Wiring(clock.clock, clock.sleep)

    def make(platform: str, url: str) -> Adapter:
        if platform == "jira":
            auth: dict[str, Any] = {"email": "bot@example.com", "api_token": secret}
            jira = JiraSettings.model_validate({"platform": "jira", "url": url, "auth": auth})
            return build_jira("jira", jira, contract_policy(), wiring)
        auth = {
            "type": "oauth_client_credentials",
            "client_id": "escalation-connector",
            "client_secret": secret,
        }
        zendesk = ZendeskSettings.model_validate({"platform": "zendesk", "url": url, "auth": auth})
        return build_zendesk("zendesk", zendesk, contract_policy(), wiring)

    return make


def fails_at_once(adapter: Adapter, clock: FakeTime) -> str:
    """The connecting step (Jira's serverInfo, Zendesk's OAuth token) fails within a second,
    without a retry; its message."""
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        adapter.fields()
    assert time.monotonic() - started < 1.0
    assert clock.slept == []
    adapter.close()
    return str(caught.value)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_refused_connection_fails_at_once_naming_host_and_port(
    platform: str, build: Build, clock: FakeTime
) -> None:
    port = closed_port()
    message = fails_at_once(build(platform, f"http://127.0.0.1:{port}"), clock)
    assert message == (
        f"cannot connect to 127.0.0.1:{port} (connection refused): check the instance's url"
        " (host and port), that the server is up, and that no firewall blocks the connection"
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_host_name_that_does_not_resolve_fails_at_once(
    platform: str, build: Build, clock: FakeTime
) -> None:
    message = fails_at_once(build(platform, "https://acme.example.invalid"), clock)
    assert message.startswith("acme.example.invalid does not resolve (DNS: ")
    assert message.endswith(
        "): check the host name in the instance's url, and this machine's DNS settings"
    )


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def served(clock: FakeTime, cert: Cert) -> Iterator[dict[str, int]]:
    """A Jira and a Zendesk emulator, each served over HTTPS as `localhost`: platform -> port."""
    zendesk = ZendeskEmulator(clock=clock.clock)
    zendesk.clients["escalation-connector"] = (SECRET, zendesk.me)
    jira = make_emulator("cloud", clock.clock)
    jira.api_tokens["bot@example.com"] = SECRET
    with tls_server(jira, cert) as jira_port, tls_server(zendesk, cert) as zendesk_port:
        yield {"jira": jira_port, "zendesk": zendesk_port}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_untrusted_certificate_names_the_host_and_the_ca_bundle(
    platform: str, build: Build, clock: FakeTime, served: dict[str, int]
) -> None:
    port = served[platform]
    message = fails_at_once(build(platform, f"https://localhost:{port}"), clock)
    assert message.startswith(f"the TLS certificate of localhost:{port} could not be verified (")
    assert "self-signed certificate" in message or "self signed certificate" in message
    assert message.endswith(
        "): if the server's certificate comes from an internal certificate authority, point"
        " the REQUESTS_CA_BUNDLE environment variable at that authority's certificate (PEM);"
        " verification stays on"
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_certificate_for_another_host_name_says_so(
    platform: str,
    build: Build,
    clock: FakeTime,
    served: dict[str, int],
    cert: Cert,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
    port = served[platform]  # the certificate names localhost, not 127.0.0.1
    message = fails_at_once(build(platform, f"https://127.0.0.1:{port}"), clock)
    assert message.startswith(f"the TLS certificate of 127.0.0.1:{port} is for another name (")
    assert "mismatch" in message
    assert message.endswith("): use a host name the certificate names in the instance's url")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_requests_ca_bundle_is_trusted_by_every_request(
    platform: str,
    build: Build,
    served: dict[str, int],
    cert: Cert,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zendesk's OAuth token request included: it used to skip the environment's bundle."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
    adapter = build(platform, f"https://localhost:{served[platform]}")
    checks = adapter.check()
    adapter.close()
    found = {c.name: c.ok for c in checks}
    assert found.get("credentials") is True and found.get("connection", True), checks


@pytest.mark.skipif(
    ssl.OPENSSL_VERSION_INFO >= (3, 2),
    reason="OpenSSL 3.2+ may report plain HTTP as a record layer failure (retried: it can also"
    " come mid-request)",
)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_https_to_a_plain_http_port_names_the_handshake(
    platform: str, build: Build, clock: FakeTime
) -> None:
    with EmulatorServer(ZendeskEmulator(clock=clock.clock)) as url:
        port = int(url.rsplit(":", 1)[1])
        message = fails_at_once(build(platform, f"https://127.0.0.1:{port}"), clock)
    assert message.startswith(f"the TLS handshake with 127.0.0.1:{port} failed (")
    assert message.endswith(
        "): check that the instance's url is the server's HTTPS address (this port may not"
        " speak TLS)"
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(
    platform: str, build: Build, clock: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:proxy-pw-31@127.0.0.1:{port}")
    message = fails_at_once(build(platform, "https://acme.example.invalid"), clock)
    assert message == (
        f"cannot reach acme.example.invalid:443 through the proxy http://127.0.0.1:{port}"
        " (connection refused): check the HTTPS_PROXY, HTTP_PROXY and NO_PROXY environment"
        " variables (the proxy's address and credentials), and that the proxy is up"
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_proxy_without_a_scheme_is_named_not_a_traceback(
    platform: str, build: Build, clock: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxyuser:proxy-pw-31@proxy.example:3128")
    adapter = build(platform, "https://acme.example.invalid")
    with pytest.raises(SetupError) as caught:
        adapter.fields()
    adapter.close()
    assert str(caught.value) == (
        "the proxy set for acme.example.invalid is not a valid URL: set HTTPS_PROXY (or"
        " HTTP_PROXY) to one with a scheme and a host, e.g. http://proxy.example.com:3128"
    )
    assert clock.slept == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_proxy_that_refuses_the_tunnel_says_what_it_answered(
    platform: str, build: Build, clock: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tunnel_refusing_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        message = fails_at_once(build(platform, "https://acme.example.invalid"), clock)
    assert message.startswith(f"cannot reach acme.example.invalid:443 through the proxy {proxy} (")
    assert "407 Proxy Authentication Required" in message


@pytest.mark.parametrize("platform", PLATFORMS)
def test_doctor_names_the_network_not_the_credentials(
    platform: str, build: Build, clock: FakeTime
) -> None:
    port = closed_port()
    adapter = build(platform, f"http://127.0.0.1:{port}")
    checks = adapter.check()
    adapter.close()
    assert [(c.name, c.ok) for c in checks] == [("connection", False)]
    assert checks[0].detail.startswith(f"cannot connect to 127.0.0.1:{port} (connection refused)")
    assert "OAuth" not in checks[0].detail and "token" not in checks[0].detail
    assert clock.slept == []


# --- what stays retried -------------------------------------------------------------------


def wrapped(outer: type[requests.RequestException], reason: Exception) -> Exception:
    """An error as requests raises it: its own type around urllib3's MaxRetryError(reason)."""
    return outer(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


STILL_RETRIED = {
    "connect timeout": wrapped(requests.ConnectTimeout, ConnectTimeoutError(None, "timed out")),
    "read timeout": requests.ReadTimeout(ReadTimeoutError(None, "/x", "read timed out")),  # type: ignore[arg-type]
    "dropped": wrapped(
        requests.ConnectionError, ProtocolError("Connection aborted.", ConnectionResetError(104))
    ),
    "tls error mid-request": wrapped(
        requests.exceptions.SSLError,
        SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")),
    ),
    "proxy timeout": wrapped(
        requests.exceptions.ProxyError,
        ProxyError("Unable to connect to proxy", ConnectTimeoutError(None, "timed out")),
    ),
}


@pytest.mark.parametrize("name", STILL_RETRIED)
def test_timeouts_and_dropped_connections_stay_transient(name: str) -> None:
    error = STILL_RETRIED[name]
    assert unreachable("https://acme.example.com", error) is None
    read: AdapterError = connection_error("GET /x", "https://acme.example.com", error, sent=False)
    write = connection_error("PUT /x", "https://acme.example.com", error, sent=True)
    assert type(read) is TransientError and type(write) is MaybeLanded
