"""Real network failures on the loopback interface, for the tests of `adapters/network.py`:

- `closed_port()`: a port nothing listens on (a connection to it is refused);
- `tls_server(emulator, cert)`: an emulator served over HTTPS with a self-signed certificate
  for `localhost` (made by `self_signed(dir)` with the openssl command);
- `tunnel_refusing_proxy()`: an HTTP proxy that answers every CONNECT with 407.

Nothing here sleeps or leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emulators.http import Emulator
from emulators.server import EmulatorServer


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass(frozen=True)
class Cert:
    cert: Path  # PEM, also the bundle a client trusts it with (REQUESTS_CA_BUNDLE)
    key: Path


def self_signed(directory: Path) -> Cert:
    """A certificate for the host name `localhost` only (not 127.0.0.1), valid for a day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("ESCALATE_REQUIRE_PARTS") == "1":  # CI installs it and requires it
            pytest.fail("ESCALATE_REQUIRE_PARTS=1 but no openssl command on PATH")
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    args += " -subj /CN=localhost -addext subjectAltName=DNS:localhost"
    command = [openssl, *args.split(), "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return Cert(cert, key)


@contextmanager
def tls_server(emulator: Emulator, cert: Cert) -> Iterator[int]:
    """Serve `emulator` over HTTPS on 127.0.0.1; yields the port."""
    server = EmulatorServer(emulator)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    # A client that rejects the certificate makes accept() fail; the server carries on.
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    with server:
        yield server.httpd.server_address[1]


class _Refuse(BaseHTTPRequestHandler):
    def do_CONNECT(self) -> None:
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def tunnel_refusing_proxy() -> Iterator[str]:
    """An HTTP proxy on 127.0.0.1 that refuses every tunnel (407); yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
