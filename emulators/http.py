"""What every emulator shares on the wire: the request it handles, the answer it gives, and
the timeout it raises when the client must see one.

    answer = emulator.handle(Request("GET", "/api/v2/users/me", headers=auth))

`server.EmulatorServer` serves an emulator over HTTP on loopback; tests bind one to `responses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: (status, headers, body) as the platform would send them.
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Request:
    """One HTTP request as it reached the platform: the path without the query string, the
    query parsed (`parse_qs`, blank values kept), the body as sent."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class Emulator(Protocol):
    def handle(self, request: Request) -> Answer: ...


class EmulatedTimeout(Exception):
    """The client must now see a timeout: the request was applied first or lost, as the
    fault said; a server drops the connection, a `responses` binding raises ReadTimeout."""
