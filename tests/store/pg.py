"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster made with
`initdb` in a temporary directory and started with `pg_ctl` on a free port of 127.0.0.1, with a
password (scram-sha-256), stopped at the end.

Where PostgreSQL is not installed the tests that need it skip and say why; CI installs it and
sets ESCALATE_REQUIRE_PARTS=1, which turns that skip into a failure. As root (CI), the server
runs as the `postgres` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "pg-test-secret-7"


@dataclass(frozen=True)
class Server:
    url: str  # without the password
    password: str
    data: Path
    port: int
    bin: Path

    def ctl(self, *args: str) -> None:
        """`pg_ctl` on this cluster (stop, start, restart): the server it starts logs to the
        cluster's log file, never to our pipes (which it would hold open)."""
        log = str(self.data.parent / "log")
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", log, *args]
        subprocess.run(
            _as_owner(command),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.data.parent,
        )


def _bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], owned: Path) -> None:
    subprocess.run(_as_owner(command), check=True, capture_output=True, cwd=owned)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(base: Path) -> Iterator[Server]:
    """A running cluster under `base` (yields it; stops it after)."""
    binaries = _bin()
    if binaries is None:
        if os.environ.get("ESCALATE_REQUIRE_PARTS") == "1":
            pytest.fail("ESCALATE_REQUIRE_PARTS=1 but PostgreSQL (pg_ctl) is not installed")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if os.geteuid() == 0:  # the postgres user must reach it: not under root's private tmp
        base = Path(tempfile.mkdtemp(prefix="escalate-pg-"))
        shutil.chown(base, "postgres", "postgres")
    base.mkdir(parents=True, exist_ok=True)
    data, pwfile = base / "data", base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    _run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        base,
    )
    port = _free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    server = Server(
        f"postgresql://postgres@127.0.0.1:{port}/postgres", PASSWORD, data, port, binaries
    )
    _run(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-o",
            options,
            "-l",
            str(base / "log"),
            "start",
        ],
        base,
    )
    try:
        yield server
    finally:
        subprocess.run(
            _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            cwd=base,
            check=False,
        )
        if os.geteuid() == 0:
            shutil.rmtree(base, ignore_errors=True)
