"""The audit log: one JSON line per decision and per write outcome (docs/operations.md).

Lines are appended (O_APPEND), one `write` per line, so runs of different instances can share
the file. Every line passes through the secret mask before it is written. The same records
feed `escalate report` (a later issue), so the field names are part of the documented format.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.results import WriteResult
from adapters.secrets import mask_all
from rules.errors import ConfigError
from rules.plan import TicketChange
from rules.tracking import format_time

FORMAT = 1


class AuditLog:
    def __init__(self, path: Path | None, run_id: str, clock: Callable[[], float]) -> None:
        self.path, self.run_id, self.clock = path, run_id, clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the audit log {path}: {exc.strerror}; set run.audit_log or"
                    " run.state_dir (docs/operations.md) to a writable place"
                ) from None

    def event(self, event: str, **fields: Any) -> None:
        if self._fd is None:
            return
        at = datetime.fromtimestamp(self.clock(), tz=UTC)
        record = {"ts": format_time(at), "v": FORMAT, "run": self.run_id, "event": event}
        line = json.dumps(mask_all(record | fields), default=str, ensure_ascii=False) + "\n"
        with self._lock:
            os.write(self._fd, line.encode())

    def decision(self, change: TicketChange, *, dry_run: bool) -> None:
        record = change.to_json()
        for action in record["actions"]:
            action.pop("parts", None)  # the body says it; the parts are for `apply`
        self.event("decision", dry_run=dry_run, **record)

    def skipped(self, instance: str, ticket: str, reason: str) -> None:
        self.event("skipped", instance=instance, ticket=ticket, reason=reason)

    def outcome(self, instance: str, result: WriteResult, event: str = "write") -> None:
        """A write's outcome (`event` "owed_comment" for a comment an earlier run owed)."""
        written = result.written
        self.event(
            event,
            instance=instance,
            ticket=result.ticket,
            status=result.status.value,
            message=result.message,
            rereads=result.rereads,
            comment_dropped=result.comment_dropped,
            comment_owed=result.comment_owed,
            level=(
                {"from": written.level_from, "to": written.level_to}
                if written is not None
                else None
            ),
            rules=list(written.rules) if written is not None else [],
        )

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
