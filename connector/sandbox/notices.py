"""The demo's notice channels: Slack, e-mail and PagerDuty, all to a local sink (emulators/sink.py:
an HTTP receiver and a real SMTP server on 127.0.0.1), and what they received, for people.

L2 escalations tell the team's Slack channel and the support leads by e-mail, management and
executive ones the executives' Slack channel, in Berlin office hours (a P1 reaches Slack at
once); L3 pages on-call at any hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from connector.report import InstanceRun
from connector.sandbox.config import write_secret
from emulators.sink import Sink

ROUTING_KEY = "DEMO0000000000000000000000000000"  # 32 characters, as PagerDuty's


def add_channels(config_path: Path, sink: Sink) -> None:
    """Point the sandbox config's levels at the sink's channels (secrets in files, 0600)."""
    folder = config_path.parent
    hook = write_secret(folder / "slack-webhook.secret", sink.url("/slack/T0DEMO/B0DEMO/demo"))
    key = write_secret(folder / "pagerduty.secret", ROUTING_KEY)
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    smtp = {"host": "127.0.0.1", "port": sink.smtp_port, "security": "none"}
    doc["notify"] = {
        "channels": {
            "exec-slack": {
                "type": "slack",
                "url": {"file": str(hook)},
                "calendar": "berlin-office",
                "bypass_hours": ["P1"],
            },
            "team-chat": {
                "type": "slack",
                "url": {"file": str(hook)},
                "calendar": "berlin-office",
                "bypass_hours": ["P1"],
            },
            "leads-email": {
                "type": "email",
                "smtp": smtp,
                "from": "escalations@example.com",
                "to": ["support.leads@example.com"],
                "calendar": "berlin-office",
            },
            "oncall": {
                "type": "pagerduty",
                "routing_key": {"file": str(key)},
                "endpoint": sink.url("/pagerduty/v2/enqueue"),
            },
        }
    }
    wanted = {"L2": ["team-chat", "leads-email"], "L3": ["oncall"]}
    wanted["management"] = wanted["executive"] = ["exec-slack"]
    for level in doc["levels"]:
        level["notify"] = [*level.get("notify", []), *wanted.get(level["name"], [])]
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def rows(runs: Iterable[InstanceRun]) -> list[tuple[str, ...]]:
    """(instance, ticket, channel, when, status) of each notice: sent, failed or deferred; per
    instance by time, ticket and channel (not in the order the sends happened to finish)."""
    out: list[tuple[str, ...]] = []
    for run in runs:
        found = [(run.name, r.ticket, r.channel, _time(r.due), r.status.value) for r in run.notices]
        for change in run.changes:
            for n in change.notices:
                if n.deferred:
                    found.append((run.name, change.ticket, n.channel, _time(n.due.timestamp()),
                                  "deferred (outside office hours)"))  # fmt: skip
        out += sorted(found, key=lambda row: (row[3], _natural(row[1]), row[2]))
    return out


def _natural(ticket: str) -> tuple[str, int]:
    """Tickets in number order: SUP-9 before SUP-10, 998 before 1001."""
    prefix, _, number = ticket.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (ticket, 0)


def received(sink: Sink) -> list[tuple[str, ...]]:
    """(service, to, what) of everything the sink got."""
    out: list[tuple[str, ...]] = []
    for hit in sink.hits:
        body: Any = hit.body if hit.raw.startswith(b"{") else {}
        if hit.path.startswith("/slack"):
            out.append(("slack", "#escalations (webhook)", str(body.get("text", ""))))
        elif hit.path.startswith("/pagerduty"):
            what = str(body.get("payload", {}).get("summary") or body.get("event_action"))
            out.append(("pagerduty", f"on-call ({body.get('dedup_key')})", what))
    for mail in sink.mails:
        out.append(("e-mail", ", ".join(mail.recipients), str(mail.message["Subject"])))
    return out
