"""JSON Lines ticket files (one ticket record per line, the ticket JSON format of
docs/tickets.md), read as a stream, so a large backtest export never sits in memory: a first
pass checks every line (every bad one is reported, naming its line and ticket) and finds the
newest time; a second one yields the records one by one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from rules.errors import ConfigError
from rules.loader import Located, Problems, check, problems_text
from rules.ticketio import TicketRecord


def scan_lines(path: Path) -> tuple[datetime | None, int]:
    """Check every line of a JSON Lines ticket file, keeping nothing but the problems (every bad
    line is reported, as for a JSON file), the newest time seen (None if it is empty) and how
    many records it holds."""
    problems: list[str] = []
    newest: datetime | None = None
    count = 0
    for _, record in _lines(path, problems):
        count += 1
        times = [record.updated_at or record.created_at, *(e.at for e in record.history or ())]
        latest = max(times)
        newest = latest if newest is None or latest > newest else newest
    if problems:
        raise ConfigError(problems_text(str(path), problems))
    return newest, count


def stream_lines(path: Path) -> Iterator[TicketRecord]:
    """The records of a JSON Lines ticket file, one at a time (check it with `scan_lines`)."""
    problems: list[str] = []
    for _, record in _lines(path, problems):
        yield record
    if problems:
        raise ConfigError(problems_text(str(path), problems))


def _lines(path: Path, problems: list[str]) -> Iterator[tuple[int, TicketRecord]]:
    try:
        handle = path.open("rb")  # decoded line by line, so a bad byte names its line
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"{where}: not UTF-8 text")
                continue
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            name = data.get("id") if isinstance(data, dict) else None
            found = Problems(Located(data, where))
            record = check(TicketRecord, found.doc, (), found)
            if record is None:
                label = f"{where}: ticket {name}" if name is not None else where
                problems += [label + item.removeprefix(where) for item in found.items]
                continue
            yield number, record
