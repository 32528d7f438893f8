"""An emulator under a `requests` session, in process: the real adapters (requests, zenpy, the
jira library, our transport) send every request to it without a socket. The sandbox seeds and
reads its platforms this way; `EmulatorServer` serves the same emulators over real HTTP."""

from __future__ import annotations

import threading
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from emulators.http import EmulatedTimeout, Emulator, Request


class InProcess(BaseAdapter):
    """Answers each request from `emulator`, one at a time (`lock`: the one its server holds,
    when it is also served over HTTP)."""

    def __init__(self, emulator: Emulator, lock: threading.Lock | None = None) -> None:
        super().__init__()
        self.emulator, self.lock = emulator, lock or threading.Lock()

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(str(request.url))
        body = request.body.encode() if isinstance(request.body, str) else request.body
        sent = Request(
            request.method or "GET",
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k: str(v) for k, v in request.headers.items()},
            body if isinstance(body, bytes) else None,
        )
        try:
            with self.lock:
                status, headers, payload = self.emulator.handle(sent)
        except EmulatedTimeout as exc:
            raise requests.ReadTimeout(str(exc), request=request) from None
        response = requests.Response()
        response.status_code, response.reason = status, HTTPStatus(status).phrase
        response.headers = CaseInsensitiveDict(headers)
        response._content = payload
        response.url, response.request = str(request.url), request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None
