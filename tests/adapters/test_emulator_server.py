"""The emulators served over real HTTP on the loopback interface (sandbox and end-to-end)."""

from __future__ import annotations

import json

import pytest
import requests

from emulators.http import Answer, EmulatedTimeout, Request
from emulators.server import EmulatorServer


class Echo:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, list[str]], bytes | None]] = []

    def handle(self, request: Request) -> Answer:
        method, path, query, body = request.method, request.path, request.query, request.body
        self.seen.append((method, path, query, body))
        if path == "/hang":
            raise EmulatedTimeout("injected")
        if path == "/boom":
            raise ValueError("bad state")
        return 201, {"Content-Type": "application/json"}, json.dumps({"ok": True}).encode()


def test_requests_reach_the_emulator_and_answers_come_back() -> None:
    echo = Echo()
    with EmulatorServer(echo) as url:
        assert url.startswith("http://127.0.0.1:")
        answer = requests.put(f"{url}/api/v2/tickets/1.json?a=1&a=2", json={"x": 1}, timeout=5)
    assert answer.status_code == 201 and answer.json() == {"ok": True}
    method, path, query, body = echo.seen[0]
    assert (method, path, query) == ("PUT", "/api/v2/tickets/1.json", {"a": ["1", "2"]})
    assert body is not None and json.loads(body) == {"x": 1}


def test_an_injected_timeout_drops_the_connection_and_a_bug_is_a_500() -> None:
    with EmulatorServer(Echo()) as url:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/hang", timeout=5)
        answer = requests.get(f"{url}/boom", timeout=5)
    assert answer.status_code == 500 and "bad state" in answer.text
