"""`bench_sweep.py --same-data`: the other checkout reads this checkout's sandbox.

The sandbox grows with the project (more history per ticket), so each checkout seeding its own
compares per ticket of different data. With `--same-data`, this checkout's sandbox is served
over loopback HTTP (`escalate sandbox serve`, one per platform, for the whole benchmark); the
other checkout seeds its own as before only for its configuration, which is then pointed at the
served platform (`point`: its URL and credential files) before it records its sweep there, over
HTTP. Both then replay recordings of the same tickets.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OFFSETS = {"zendesk": 0, "jira-cloud": 1, "jira-dc": 2}  # `sandbox serve --port BASE`
URL = re.compile(r"(url: )http://127\.0\.0\.1:\d+")


@dataclass(frozen=True)
class Served:
    dir: Path
    url: str


def free_base() -> int:
    """A base port with the next two free as well."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + 2 < 65535 and all(_free(base + k) for k in (1, 2)):
            return base
    raise RuntimeError("no three free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def serve(root: Path, platform: str, tickets: int, seed: int, where: Path) -> Iterator[Served]:
    """`root`'s sandbox served until the block ends; the served platform's URL."""
    base = free_base()
    code = "from connector.cli import main; main()"
    cmd = [sys.executable, "-c", code, "sandbox", "serve", "--dir", str(where)]
    cmd += ["--tickets", str(tickets), "--seed", str(seed), "--port", str(base)]
    server = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    port = base + OFFSETS[platform]
    try:
        _wait(server, port)
        yield Served(where, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait(server: subprocess.Popen[bytes], port: int, timeout: float = 600.0) -> None:
    """Until the served platform answers (seeding a large sandbox takes a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            out = server.stdout.read().decode() if server.stdout else ""
            raise RuntimeError(f"sandbox serve exited: {out[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"sandbox serve: nothing on port {port} after {timeout:.0f} s")


def point(keep: Path, served: Served) -> None:
    """The configuration in `keep` pointed at the served platform: its URL, and its credential
    files instead of the ones the other checkout's own sandbox wrote."""
    path = keep / "escalate.yaml"
    text = URL.sub(lambda m: m.group(1) + served.url, path.read_text())
    text = text.replace(f"{keep}/", f"{served.dir}/")
    path.write_text(text)
