"""Shared fixtures: no test reaches the network (DESIGN.md section 7).

Unix sockets and the loopback interface stay usable (local emulated platforms in end-to-end
tests); any other connection attempt raises NetworkBlocked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from tests.store.pg import Server, start


class NetworkBlocked(RuntimeError):
    """A test tried to open a network connection."""


def _local(sock_family: int, address: Any) -> bool:
    if sock_family == getattr(socket, "AF_UNIX", object()):
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection

    def refuse(address: Any) -> NetworkBlocked:
        return NetworkBlocked(f"tests must not use the network (tried to reach {address!r})")

    def connect(sock: socket.socket, address: Any) -> None:
        if not _local(sock.family, address):
            raise refuse(address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not _local(sock.family, address):
            raise refuse(address)
        return real_connect_ex(sock, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _local(socket.AF_INET, address):
            raise refuse(address)
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    """Each test starts with structlog's defaults (a CLI run configures it for the process)."""
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real PostgreSQL server for the whole session (tests/store/pg.py)."""
    yield from start(tmp_path_factory.mktemp("pg"))
