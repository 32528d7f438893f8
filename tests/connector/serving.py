"""`escalate serve` in process for tests: the real Starlette app on a real uvicorn server
(127.0.0.1, an ephemeral port), the scheduler stepped by the test on the fake clock, and
deliveries signed here, independently of `connector.serve.signatures` and `.jwts` (tokens made
with PyJWT's encoder, their qsh hashed from a canonical request written out by hand)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from connector.config import load_config
from connector.progress import Progress
from connector.runner import Runtime
from connector.serve.cycle import Cycle, incremental
from connector.serve.service import Service, listen
from tests.adapters.fakes import FakeTime

ZENDESK_HOOK_SECRET = "zd-hook-signing-secret-1a2b"
JIRA_HOOK_SECRET = "jira-hook-secret-9f8e"


def with_serve(config: Path, tmp: Path, **serve: Any) -> Path:
    """The config with a `serve:` section: both instances' webhook secrets (files in `tmp`)
    and the `serve` keys given."""
    (tmp / "zendesk-hook.secret").write_text(ZENDESK_HOOK_SECRET + "\n")
    (tmp / "jira-hook.secret").write_text(JIRA_HOOK_SECRET + "\n")
    doc = yaml.safe_load(config.read_text())
    doc["serve"] = {
        "webhooks": {
            "zendesk": {"secret": {"file": "zendesk-hook.secret"}},
            "jira": {"secret": {"file": "jira-hook.secret"}},
        },
        **serve,
    }
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def zendesk_delivery(
    ticket: int | str, at: float, *, secret: str = ZENDESK_HOOK_SECRET, invocation: str = "1"
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ticket_id": str(ticket)}).encode()
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": invocation,
    }


def jira_delivery(
    key: str, at: float, *, secret: str = JIRA_HOOK_SECRET, identifier: str = "1"
) -> tuple[bytes, dict[str, str]]:
    payload = {
        "timestamp": int(at * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "10001", "key": key},
    }
    body = json.dumps(payload).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature": f"sha256={mac}",
        "X-Atlassian-Webhook-Identifier": identifier,
    }


JIRA_APP_SECRET = "connect-shared-secret-" + "5f1e" * 12  # the installation's sharedSecret
JIRA_APP_KEY = "jira:6b3c1d2e-7f80-4a91-b2c3-d4e5f6a7b8c9"  # its clientKey (the token's iss)
JIRA_PATH = "/webhooks/jira/jira"


def with_app_jwt(config: Path, tmp: Path, mode: str = "connect-jwt") -> Path:
    """A `with_serve` config whose Jira instance's deliveries are verified by an app's JWT."""
    (tmp / "jira-app.secret").write_text(JIRA_APP_SECRET + "\n")
    doc = yaml.safe_load(config.read_text())
    hook = {"secret": {"file": "jira-app.secret"}, "verify": mode, "issuer": JIRA_APP_KEY}
    doc["serve"]["webhooks"]["jira"] = hook
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def app_token(at: float, *, qsh: str | None = "POST&/webhooks/jira/jira&", **kw: Any) -> str:
    """A token as Jira signs an app's delivery at `at`: `qsh` the canonical request (hashed
    here), or a literal (`context-qsh`) when it has no "&"; `kw` overrides claims, `secret`
    and `alg`."""
    claims: dict[str, Any] = {"iss": JIRA_APP_KEY, "iat": int(at), "exp": int(at) + 180}
    if qsh is not None:
        claims["qsh"] = hashlib.sha256(qsh.encode()).hexdigest() if "&" in qsh else qsh
    secret, alg = kw.pop("secret", JIRA_APP_SECRET), kw.pop("alg", "HS256")
    claims.update(kw)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=alg)


def jira_app_delivery(
    key: str, token: str | None, *, scheme: str = "JWT", identifier: str = "1"
) -> tuple[bytes, dict[str, str]]:
    """A Jira Cloud app's delivery: the body unsigned, the token in `Authorization`."""
    payload = {"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": key}}
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return json.dumps(payload).encode(), headers


@dataclass
class Served:
    service: Service
    url: str
    time: FakeTime
    http: requests.Session

    def step(self) -> float:
        return self.service.scheduler.step()

    def post(self, path: str, delivery: tuple[bytes, dict[str, str]]) -> requests.Response:
        body, headers = delivery
        return self.http.post(self.url + path, data=body, headers=headers, timeout=10)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url + path, timeout=10)

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value from /metrics (0 when absent)."""
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0


@contextlib.contextmanager
def served(
    config: Path, time: FakeTime, cycle: Cycle = incremental, sock: socket.socket | None = None
) -> Iterator[Served]:
    """`sock`: a socket bound beforehand (its address written in the config's public_url)."""
    runtime = Runtime(time.clock, time.sleep, Progress(enabled=False))
    service = Service(str(config), load_config(config), runtime, [], cycle)
    sock = sock or listen(("127.0.0.1", 0))
    service.start_http(sock)
    host, port = sock.getsockname()[:2]
    try:
        with requests.Session() as http:
            yield Served(service, f"http://{host}:{port}", time, http)
    finally:
        service.stop_http()
        runtime.close_store()
