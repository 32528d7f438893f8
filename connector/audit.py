"""The audit log: one JSON line per decision and per write outcome (docs/operations.md).

Lines are appended (O_APPEND), one `write` per line, so runs of different instances can share
the file. Every line passes through the secret mask before it is written. The same records
feed `escalate report`, so the field names are part of the documented format. With the
PostgreSQL state store (`state.url`), every line is also kept in its `escalate_audit` table
(`sink`), where `report` on any host reads it; a database that fails is said once and the file
goes on alone.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from adapters.results import WriteResult
from adapters.secrets import mask_all
from rules.errors import ConfigError
from rules.plan import TicketChange
from rules.tracking import format_time
from state import AuditRow, AuditRows, StoreError

FORMAT = 1
#: Lines sent to the database together (a killed run loses at most these there; the file
#: has every line), and the events after which what is kept is sent at once.
BATCH = 50
FLUSH_AFTER = frozenset({"instance_finished", "run_finished"})
log = structlog.get_logger(__name__)


class AuditLog:
    def __init__(
        self,
        path: Path | None,
        run_id: str,
        clock: Callable[[], float],
        sink: AuditRows | None = None,
    ) -> None:
        self.path, self.run_id, self.clock, self.sink = path, run_id, clock, sink
        self._pending: list[AuditRow] = []
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
        if self._fd is None and self.sink is None:
            return
        now = self.clock()
        at = datetime.fromtimestamp(now, tz=UTC)
        record = {"ts": format_time(at), "v": FORMAT, "run": self.run_id, "event": event}
        line = json.dumps(mask_all(record | fields), default=str, ensure_ascii=False) + "\n"
        with self._lock:
            if self._fd is not None:
                os.write(self._fd, line.encode())
            if self.sink is not None:
                instance = fields.get("instance")
                where = None if instance is None else str(instance)
                self._pending.append((now, self.run_id, where, event, line))
                if len(self._pending) >= BATCH or event in FLUSH_AFTER:
                    self._flush()

    def _flush(self) -> None:
        """Called under the lock: the lines kept so far into the database, in one
        transaction; the first failure is said once and the file goes on alone."""
        rows, self._pending = self._pending, []
        if self.sink is None or not rows:
            return
        try:
            self.sink.add(rows)
        except StoreError as exc:
            log.warning("audit_table_off", where=self.sink.where, error=str(exc))
            self.sink = None

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
        with self._lock:
            self._flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
