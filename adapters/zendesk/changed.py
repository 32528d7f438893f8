"""Incremental reads on Zendesk: the scope's tickets updated since a moment, and due tickets
by id.

- Search export `<scope> updated>=<instant>`: the search index sees a change some minutes late
  ("it can take up to a few minutes for new tickets to be indexed"); the caller's overlap
  (`index_lag`) covers that. The export's own limit (100 a minute) is the same as a full
  sweep's pages, and it needs no admin (the incremental ticket export would: 10 a minute,
  admins only).
- `tickets/show_many?ids=` (100 ids a request) for the due ones the search did not bring.
  `show_many` knows nothing of the scope, so a ticket is taken only if its `updated_at` is the
  one it was last read with: unchanged since it was in scope, so still in scope. One that
  changed since is left to the search (it will see it once indexed, within the overlap), and
  one `show_many` does not return is gone. When the scope says nothing but which statuses (the
  default `status<solved`), a ticket is placed in or out of it here instead, whatever its
  stamp: one out of it is gone, and a hint (a webhook's ticket, stamp "") in it is read at once.
- `since` None (a cycle that webhooks prompted, `connector.due`): no search, only `due` by id.
  Complete for `due` only when the scope is statuses alone (`places_by_id`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.zendesk.client import SHOW_MANY, chunks
from adapters.zendesk.mapping import as_int
from adapters.zendesk.read import Reader
from rules.model import Ticket
from rules.needs import Needs
from rules.tracking import format_time

Json = dict[str, Any]


def instant(since: datetime) -> str:
    """`since` for the search, in UTC, rounded down to the second."""
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch_changed(
    reader: Reader,
    wanted: Needs,
    now: datetime,
    since: datetime | None,
    due: Mapping[str, str],
    gone: set[str],
) -> Iterator[Ticket]:
    reader.lookups.prepare()
    seen: set[str] = set()
    if since is not None:
        query = f"{reader.settings.scope} updated>={instant(since)}"
        for raws in reader.pages(query):
            seen.update(str(raw.get("id")) for raw in raws)
            yield from reader.tickets(raws, wanted, now)
    statuses = reader.settings.statuses_in_scope()
    ids = [int(t) for t in due if t not in seen and t.isdigit()]
    gone.update(t for t in due if t not in seen and not t.isdigit())
    history = wanted.history is not None
    for batch in chunks(ids, SHOW_MANY):
        page = reader.client.show_many(batch, "metric_sets" if history else None)
        raws = [t for t in page.get("tickets") or [] if isinstance(t, dict)]
        found = {str(as_int(raw.get("id"))) for raw in raws}
        gone.update(str(t) for t in batch if str(t) not in found)
        if statuses is not None:
            gone.update(str(raw.get("id")) for raw in raws if raw.get("status") not in statuses)
            same = [raw for raw in raws if raw.get("status") in statuses]
        else:
            same = [raw for raw in raws if _stamp(raw) == due.get(str(as_int(raw.get("id"))))]
        if same:
            metrics = reader.sideloaded(page) if history else {}
            yield from reader.tickets(same, wanted, now, metrics)


def _stamp(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        return format_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
