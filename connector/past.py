"""`escalate backtest --instance`: an instance's past tickets, read whole into a JSON Lines file
of the ticket format (docs/tickets.md) before anything is replayed. All or nothing, as every
read: the file is written under a `.part` name and only takes its own once every ticket is in,
so a read that fails leaves no file that looks complete. The replay then streams the file as
it streams any `.jsonl` export, so memory stays flat however many tickets the window holds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from adapters.errors import AdapterError
from adapters.past import Window
from connector.config import Config
from connector.runner import Runtime, open_adapter
from rules.ticketio import to_record


@dataclass(frozen=True)
class Read:
    instance: str
    tickets: int
    requests: int
    approximate: dict[str, int] = field(default_factory=dict)


def read_past(config: Config, name: str, window: Window, path: Path, runtime: Runtime) -> Read:
    """Write every ticket `name` had open in `window` to `path`, one record per line."""
    part = path.with_name(path.name + ".part")
    adapter = open_adapter(config, name, runtime)
    count, done = 0, False
    try:
        adapter.fields()
        # Customer text and addresses: readable by this user only, as the state files are.
        handle = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(handle, "w", encoding="utf-8") as sink:
            for ticket in adapter.past(window):
                if not window.open_in(ticket):  # e.g. solved before, closed during the window
                    continue
                sink.write(
                    to_record(ticket).model_dump_json(exclude_none=True, exclude_unset=True) + "\n"
                )
                count += 1
                runtime.progress.reading(name, count)
        part.replace(path)
        done = True
    except AdapterError:
        click.echo(
            f"error: the past tickets of {name} could not be read; nothing was replayed", err=True
        )
        raise
    finally:
        runtime.progress.finish()
        if not done:
            part.unlink(missing_ok=True)
        requests = adapter.stats.total
        approximate = dict(adapter.approximate)
        adapter.close()
    return Read(name, count, requests, approximate)
