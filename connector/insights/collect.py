"""What `escalate report` gathers: the audit log's lines since a date, and the live tickets,
folded into one record per ticket (`Seen`) plus per-run figures (`Collected`).

The audit log is read a line at a time (rotated and gzipped files too); only the tickets the
connector changed or saw live are kept, so memory follows what happened, not the log's size.
A line that is not a JSON object is counted and skipped: a report never fails on a torn line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from adapters.results import WriteStatus
from connector.insights.story import Story
from rules.errors import ConfigError
from rules.tracking import parse_time

Key = tuple[str, str]  # (instance, ticket)


@dataclass
class Move:
    """A level change that was written (an applied `write` line)."""

    at: float
    source: str
    target: str
    rules: tuple[str, ...]
    about: Mapping[str, Any]  # the ticket as the decision saw it (may be empty: old lines)


@dataclass
class Seen:
    """One ticket, over the window: the latest profile, the level moves, the SLA verdicts."""

    key: Key
    about: dict[str, Any] = field(default_factory=dict)
    sla: dict[str, str] = field(default_factory=dict)  # target -> met/breached/running/paused
    moves: list[Move] = field(default_factory=list)
    failed: list[tuple[float, str]] = field(default_factory=list)  # (at, message)
    dropped: int = 0  # comments that did not go in for good
    notes: int = 0
    replies: int = 0
    reopens: list[tuple[float, int]] = field(default_factory=list)  # (at, reopens seen)
    live: dict[str, Any] | None = None  # tracking fields, read now (--live)
    story: Story | None = None  # what its history says (--live reads it)
    sla_at: dict[str, float] = field(default_factory=dict)  # target -> when met or breached
    about_at: float = float("-inf")  # when `about` was seen (files may be read in any order)
    kinds: tuple[bool, bool] = (False, False)  # the latest decision's (note, reply)

    def observe(self, at: float, about: Mapping[str, Any]) -> None:
        if at >= self.about_at:
            self.about, self.about_at = dict(about), at
        sla = about.get("sla")
        for target, verdict in sla.items() if isinstance(sla, dict) else ():
            if self.sla.get(target) != "breached":  # once late, late: later looks can't undo it
                if verdict in ("met", "breached") and self.sla.get(target) != verdict:
                    self.sla_at[target] = at  # decided by this look at the latest
                self.sla[target] = str(verdict)
        if isinstance(about.get("reopens"), int):
            self.reopens.append((at, about["reopens"]))


@dataclass
class Collected:
    tickets: dict[Key, Seen] = field(default_factory=dict)
    lines: int = 0
    bad_lines: int = 0
    first: float | None = None
    last: float | None = None
    runs: int = 0
    skipped: int = 0
    live_instances: list[str] = field(default_factory=list)  # read live, histories and all
    live_errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: channel -> status -> notices (the audit log's `notice` lines: sent, failed, ...)
    notices: dict[str, dict[str, int]] = field(default_factory=dict)

    def seen(self, instance: str, ticket: str) -> Seen:
        key = (instance, ticket)
        found = self.tickets.get(key)
        if found is None:
            found = self.tickets[key] = Seen(key)
        return found

    def add(self, record: Mapping[str, Any], at: float) -> None:
        """One audit line at `at` (epoch seconds), already known to be in the window."""
        self.lines += 1
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)
        event, instance = record.get("event"), str(record.get("instance", ""))
        if event == "decision" and "ticket" in record:
            seen = self.seen(instance, str(record["ticket"]))
            if isinstance(record.get("about"), dict):
                seen.observe(at, record["about"])
            actions = record.get("actions")
            listed = actions if isinstance(actions, list) else []
            kinds = {a.get("type") for a in listed if isinstance(a, dict)}
            seen.kinds = ("internal_note" in kinds, "public_reply" in kinds)
        elif event == "write" and "ticket" in record:
            self._write(self.seen(instance, str(record["ticket"])), record, at)
        elif event == "skipped":
            self.skipped += 1
        elif event == "notice":
            by = self.notices.setdefault(str(record.get("channel")), {})
            status = str(record.get("status"))
            by[status] = by.get(status, 0) + 1
        elif event == "instance_finished":
            self.runs += 1

    def _write(self, seen: Seen, record: Mapping[str, Any], at: float) -> None:
        status = record.get("status")
        if status == WriteStatus.FAILED:
            seen.failed.append((at, str(record.get("message") or "")))
            return
        if status != WriteStatus.APPLIED:
            return
        seen.dropped += bool(record.get("comment_dropped")) and not record.get("comment_owed")
        note, reply = seen.kinds
        seen.notes += note
        seen.replies += reply
        level = record.get("level")
        if isinstance(level, dict) and level.get("from") != level.get("to"):
            listed = record.get("rules")
            rules = tuple(str(r) for r in listed) if isinstance(listed, list) else ()
            move = Move(at, str(level.get("from")), str(level.get("to")), rules, dict(seen.about))
            seen.moves.append(move)


def read_audit(
    paths: list[Path],
    since: float,
    into: Collected,
    *,
    instances: set[str] | None = None,
    until: float = float("inf"),
) -> None:
    """Fold every audit line at or after `since` into `into` (of `instances` only, if given;
    run-wide lines have no instance and are left out then); `.gz` files are read as gzip."""
    for path in paths:
        try:
            handle = _open(path)
        except OSError as exc:
            raise ConfigError(f"cannot read the audit log {path}: {exc.strerror}") from None
        with handle:
            try:
                fold(_records(handle, into), since, into, instances=instances, until=until)
            except (OSError, EOFError) as exc:  # a truncated .gz: keep what was read
                into.warnings.append(f"{path}: read up to a damaged part ({exc})")


def read_lines(
    lines: Iterable[str],
    since: float,
    into: Collected,
    *,
    instances: set[str] | None = None,
    until: float = float("inf"),
) -> None:
    """The same, from audit lines kept elsewhere (the PostgreSQL state store)."""
    encoded = (line.encode() for line in lines)
    fold(_records(encoded, into), since, into, instances=instances, until=until)


def fold(
    records: Iterable[dict[str, Any]],
    since: float,
    into: Collected,
    *,
    instances: set[str] | None,
    until: float,
) -> None:
    for record in records:
        at = parse_time(str(record.get("ts", "")))
        if at is None:
            into.bad_lines += 1
        elif since <= at.timestamp() <= until and (
            instances is None or record.get("instance") in instances
        ):
            into.add(record, at.timestamp())


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes
    return path.open("rb")


def _records(handle: Iterable[bytes], into: Collected) -> Iterator[dict[str, Any]]:
    for raw in handle:
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if isinstance(record, dict):
            yield record
        else:
            into.bad_lines += 1
