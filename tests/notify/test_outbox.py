"""The outbox's own promises, with a channel double (the HTTP channels are tested on the wire)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.secrets import Secret
from notify.channels import Delivery
from notify.outbox import Outbox, Status
from notify.payloads import Outgoing
from state.sqlite import SqliteNotices

AT = 1_780_000_000.0


class Broken:
    """A channel whose payload code fails, with a secret in the exception's text."""

    name, type, idempotent = "hook", "webhook", False

    def __init__(self, leak: str) -> None:
        self.leak = leak

    def send(self, o: Outgoing) -> Delivery:
        raise ValueError(f"cannot build the body for {self.leak}")

    def describe(self) -> str:
        return "https://hooks.invalid"


def test_a_failing_send_is_recorded_with_its_secrets_masked(tmp_path: Path) -> None:
    secret = Secret("tok-7f3a9c1e", "env:HOOK_URL")
    rows = SqliteNotices(tmp_path / "notices.sqlite3")
    body = {"instance": "zd", "url": "", "level": "L2", "title": [], "body": []}
    rows.add([("n1", "42", "hook", "level:L2#1.1", "trigger", AT, Status.DUE.value, 0,
               json.dumps(body), "", AT, AT)])  # fmt: skip
    outbox = Outbox(rows, "zd", {"hook": Broken(secret.reveal())}, lambda: AT)
    [result] = outbox.deliver()
    assert result.status is Status.FAILED and result.attempts == 1
    assert result.detail == "ValueError: cannot build the body for ****"
    [row] = rows.select()
    assert secret.reveal() not in row[9] and row[6] == Status.FAILED.value
    rows.close()
