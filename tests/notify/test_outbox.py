"""The outbox's own promises, with a channel double (the HTTP channels are tested on the wire)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.secrets import Secret
from notify.channels import Channel, Delivery
from notify.outbox import KEPT_FOR, Outbox, Status
from notify.payloads import Outgoing
from state import NoticeRow
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


class Quiet:
    """A channel that is never sent to here; only its type matters."""

    name, idempotent = "c", True

    def __init__(self, type: str) -> None:
        self.type = type

    def send(self, o: Outgoing) -> Delivery:
        raise AssertionError("nothing is due")

    def describe(self) -> str:
        return self.type


def test_settled_notices_are_forgotten_after_a_while_but_open_alerts_stay(
    tmp_path: Path,
) -> None:
    rows = SqliteNotices(tmp_path / "notices.sqlite3")
    old, recent = AT - KEPT_FOR - 1, AT - KEPT_FOR + 1

    def row(nid: str, channel: str, key: str, event: str, status: Status, at: float) -> NoticeRow:
        body = json.dumps({"instance": "zd", "level": "L2", "title": [], "body": []})
        return (nid, "42", channel, key, event, at, status.value, 1, body, "", at, at)

    rows.add(
        [
            row("slack-old", "slack", "level:L2#0.1", "trigger", Status.SENT, old),
            row("slack-new", "slack", "level:L2#0.2", "trigger", Status.SENT, recent),
            row("gave-up", "slack", "level:L3#0.1", "trigger", Status.GAVE_UP, old),
            row("failed", "slack", "level:L3#0.2", "trigger", Status.FAILED, old),  # still open
            row("pd-open", "pd", "level:L2#0.1", "trigger", Status.SENT, old),
            row("pd-done", "pd", "level:L3#0.1", "trigger", Status.SENT, old),
            row("pd-done-r", "pd", "level:L3#0.1", "resolve", Status.SENT, old),
            row("gone", "removed", "level:L2#0.1", "trigger", Status.SENT, old),
        ]
    )
    channels: dict[str, Channel] = {"slack": Quiet("slack"), "pd": Quiet("pagerduty")}
    outbox = Outbox(rows, "zd", channels, lambda: AT)
    assert outbox.forget_settled() == 5
    assert {r[0] for r in rows.select()} == {"slack-new", "failed", "pd-open"}
    assert outbox.alerting() == {"42"}  # the open alert is still known, to be resolved
    rows.close()


class Racing:
    """A Slack-like channel: while it sends its first notice, another run delivers too."""

    name, type, idempotent = "chat", "slack", False

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.other: Outbox | None = None

    def send(self, o: Outgoing) -> Delivery:
        self.sent.append(o.id)
        other, self.other = self.other, None
        if other is not None:
            other.deliver()
        return Delivery(True, detail="200")

    def describe(self) -> str:
        return "https://chat.invalid"


def test_a_notice_another_run_took_meanwhile_is_not_sent_again(tmp_path: Path) -> None:
    body = json.dumps({"instance": "zd", "url": "", "level": "L2", "title": [], "body": []})
    path = tmp_path / "notices.sqlite3"
    mine, theirs = SqliteNotices(path), SqliteNotices(path)
    mine.add([(nid, "42", "chat", f"level:L2#0.{i}", "trigger", AT + i, Status.DUE.value, 0,
               body, "", AT, AT) for i, nid in enumerate(["a", "b"])])  # fmt: skip
    chat = Racing()
    outbox = Outbox(mine, "zd", {"chat": chat}, lambda: AT + 5, concurrency=1)
    chat.other = Outbox(theirs, "zd", {"chat": chat}, lambda: AT + 5, concurrency=1)
    results = outbox.deliver()
    assert sorted(chat.sent) == ["a", "b"]  # each once: "b" was the other run's
    assert [(r.id, r.status) for r in results] == [("a", Status.SENT)]
    mine.close()
    theirs.close()
