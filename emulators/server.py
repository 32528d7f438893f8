"""Serve an emulator over real HTTP on the loopback interface.

The emulators answer `handle(Request) -> (status, headers, body)` (`emulators.http`); this wraps
one in a threaded `http.server` so the real CLI (sandbox demo, end-to-end tests) can talk to it
exactly as it talks to the platform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from emulators.http import EmulatedTimeout, Emulator, Request


class EmulatorServer:
    """`with EmulatorServer(emulator) as base_url: ...` serves on 127.0.0.1, a free port.

    `latency` (seconds, real time) delays every answer, as a distant platform would; the wait
    (`sleep`, injectable for tests) happens outside the emulator's lock, so concurrent requests
    wait side by side.
    """

    def __init__(
        self,
        emulator: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.emulator = emulator
        self.latency, self.sleep = latency, sleep
        #: Held while the emulator answers: one request at a time, whoever sends it.
        self.lock = threading.Lock()
        self.httpd = _Listener((host, port), self)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Listener(ThreadingHTTPServer):
    """The HTTP server, knowing the EmulatorServer its handlers answer for."""

    def __init__(self, address: tuple[str, int], owner: EmulatorServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """One connection: each request handed to the emulator, its answer written back."""

    # Keep-alive, as the platforms do: no TCP set-up and no new server thread per request.
    # Without Nagle's algorithm, the body written after the headers is not held back for the
    # client's delayed ACK (a 40 ms stall per request).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Listener

    def _serve(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if owner.latency > 0:
            owner.sleep(owner.latency)
        try:
            with owner.lock:  # the emulators are plain objects, not thread-safe
                status, headers, payload = owner.emulator.handle(
                    Request(
                        self.command,
                        parts.path,
                        parse_qs(parts.query, keep_blank_values=True),
                        dict(self.headers.items()),
                        body,
                    )
                )
        except EmulatedTimeout:
            # An injected timeout: hang up without answering, as a dead proxy would.
            self.close_connection = True
            return
        except Exception as exc:
            status, headers = 500, {"Content-Type": "text/plain"}
            payload = f"emulator error: {type(exc).__name__}: {exc}".encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        return
