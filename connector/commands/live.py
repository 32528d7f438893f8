"""`escalate explain --instance NAME TICKET`: one ticket read live, as a run reads it."""

from __future__ import annotations

import json
import os

from adapters.errors import NotFound
from connector.commands.common import runtime, select
from connector.config import Config
from connector.runner import open_adapter
from rules.model import Ticket
from rules.ticketio import to_record


def read_one(config: Config, instance: str, ticket_id: str, save: str | None) -> Ticket:
    """The ticket now, with the history the policy needs (read-only); with `save`, also
    written as ticket JSON (mode 0600: it holds customer text) to replay offline."""
    select(config, [instance])  # a known instance, its secrets readable
    rt = runtime()
    adapter = open_adapter(config, instance, rt)
    try:
        adapter.fields()
        try:
            ticket = adapter.reread(ticket_id)
        except NotFound:
            raise NotFound(f"ticket {ticket_id} not found on instance {instance}") from None
    finally:
        adapter.close()
        rt.close_store()
    if save is not None:
        record = to_record(ticket, tracking=True, text=True).model_dump(mode="json")
        fd = os.open(save, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
            handle.write("\n")
    return ticket
