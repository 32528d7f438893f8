"""A local notice sink: one HTTP server and one SMTP server on 127.0.0.1 that keep what they get.

Used by the notice tests and by `escalate demo` (nothing here sends anywhere). The HTTP side
takes any POST and records it; a path can be told to answer with given statuses first (a 500,
then the usual 2xx). It answers like the services do: Slack `200 ok`, PagerDuty and JSM `202`
with their JSON, anything else `200`. PagerDuty's own deduplication is kept as `incidents()`:
a trigger with an open incident's dedup_key adds nothing, a resolve closes it.
The SMTP side is aiosmtpd, the real server, imported when it starts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One POST as received."""

    path: str
    headers: dict[str, str]
    raw: bytes
    at: float

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    at: float


@dataclass
class Sink:
    """Start with `start()`, stop with `close()`; `hits` and `mails` grow as notices come."""

    hits: list[Hit] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    #: path -> statuses to answer next, in order (then the usual success)
    script: dict[str, list[int]] = field(default_factory=dict)
    delay: float = 0.0  # seconds each HTTP answer waits (a slow service, for benchmarks)
    #: Called with the path (or "smtp") once a notice is kept, before it is answered (a test
    #: kills the sender there: the service has the notice, the sender never hears so).
    on_receive: Callable[[str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: ThreadingHTTPServer | None = None
    _smtp: Any = None
    smtp_port: int = 0
    base: str = ""  # http://127.0.0.1:PORT once started

    def start(self, smtp: bool = True) -> Sink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                sink._record(Hit(self.path, dict(self.headers.items()), raw, time.time()))
                if sink.on_receive is not None:
                    sink.on_receive(self.path)
                if sink.delay:
                    time.sleep(sink.delay)
                status, body = sink._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        if smtp:
            self._start_smtp()
        return self

    def _start_smtp(self) -> None:
        from aiosmtpd.controller import Controller  # noqa: PLC0415 (only when asked for)

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                message = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(message, EmailMessage)
                mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos), message, time.time())
                with sink._lock:
                    sink.mails.append(mail)
                if sink.on_receive is not None:
                    sink.on_receive("smtp")
                return "250 Message accepted for delivery"

        self.smtp_port = free_port()
        self._smtp = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()

    def url(self, path: str) -> str:
        return self.base + path

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def _answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            queued = self.script.get(path)
            status = queued.pop(0) if queued else 0
        if status and not 200 <= status < 300:
            return status, json.dumps({"error": f"scripted {status}"}).encode()
        if path.startswith("/pagerduty"):
            body = {"status": "success", "message": "Event processed"}
            return status or 202, json.dumps(body).encode()
        if path.startswith("/jsm"):
            accepted = {"result": "Request will be processed", "took": 0.01, "requestId": "r"}
            return status or 202, json.dumps(accepted).encode()
        return status or 200, b"ok" if path.startswith("/slack") else b"{}"

    def posted(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(prefix)]

    def incidents(self, prefix: str = "/pagerduty") -> dict[str, str]:
        """PagerDuty's view: dedup_key -> "triggered" or "resolved" (a repeat trigger of an
        open incident is deduplicated, as the service does)."""
        out: dict[str, str] = {}
        for hit in self.posted(prefix):
            body = hit.body
            key, action = body.get("dedup_key"), body.get("event_action")
            if action == "trigger" and out.get(key) != "triggered":
                out[key] = "triggered"
            elif action == "resolve" and key in out:
                out[key] = "resolved"
        return out

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
