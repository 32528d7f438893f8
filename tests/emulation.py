"""The emulators bound to `responses`: every request to an emulator's base URL is answered by it,
in process, and an `EmulatedTimeout` reaches the client as the `ReadTimeout` it stands for."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from emulators.http import Answer, EmulatedTimeout, Emulator, Request

METHODS = ("GET", "POST", "PUT", "DELETE")


def request_of(prepared: requests.PreparedRequest, prefix: str = "") -> Request:
    """What the platform receives for `prepared` (its path without a proxy's `prefix`)."""
    parts = urlsplit(str(prepared.url))
    body = prepared.body
    return Request(
        prepared.method or "GET",
        parts.path.removeprefix(prefix),
        parse_qs(parts.query, keep_blank_values=True),
        {k: str(v) for k, v in prepared.headers.items()},
        body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else None,
    )


def bind(rsps: responses.RequestsMock, emulator: Emulator, base_url: str) -> None:
    """Answer every request under `base_url` from `emulator`, one at a time (the emulators are
    plain objects; history reads and writer threads come concurrently)."""
    prefix = urlsplit(base_url).path  # a proxy or sandbox may serve under a path
    lock = threading.Lock()

    def callback(prepared: requests.PreparedRequest) -> Answer:
        try:
            with lock:
                return emulator.handle(request_of(prepared, prefix))
        except EmulatedTimeout as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None

    pattern = re.compile(re.escape(base_url) + r"/.*")
    for method in METHODS:
        rsps.add_callback(method, pattern, callback=callback)
