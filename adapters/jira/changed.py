"""Incremental reads on Jira: the scope's issues updated since a moment, and due issues by key.

- `(<scope>) AND updated >= "yyyy/MM/dd HH:mm"`: JQL dates go to the minute at the finest and
  are read in our account's time zone (its profile's, from `GET /myself`), so the moment is
  turned into that zone and rounded *down* to the minute: never later than asked.
- `(<scope>) AND key in (K1, …)`, 100 keys a search: an issue that left the scope is simply
  not found (it goes into `gone`). Jira refuses the whole query when a key names no issue
  (deleted or moved): that key is gone, and the search is sent again without it.
Both keep the scope's ORDER BY, or page by key (`adapters.jira.search`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.errors import AdapterError
from adapters.jira.jql import split_order
from adapters.jira.read import Reader
from rules.model import Ticket
from rules.needs import Needs

KEYS_PER_SEARCH = 100
_NO_KEY = re.compile(r"(?:An issue with key|The value) '([^']+)' does not exist", re.IGNORECASE)


def minute(since: datetime, zone: str) -> str:
    """`since` as a JQL date in `zone`, rounded down to the minute."""
    return since.astimezone(ZoneInfo(zone)).strftime("%Y/%m/%d %H:%M")


def narrowed(scope: str, clause: str) -> str:
    """The scope AND a clause, keeping the scope's ORDER BY last."""
    where, order = split_order(scope)
    return f"({where}) AND {clause}" + (f" {order}" if order else "")


def fetch_changed(
    reader: Reader,
    wanted: Needs,
    now: datetime,
    since: datetime | None,
    due: Mapping[str, str],
    gone: set[str],
) -> Iterator[Ticket]:
    scope = reader.lookups.settings.jql
    seen: set[str] = set()
    if since is not None:
        stamp = minute(since, reader.lookups.time_zone())
        for ticket in reader.fetch(wanted, now, jql=narrowed(scope, f'updated >= "{stamp}"')):
            seen.add(ticket.id)
            yield ticket
    keys = [k for k in due if k not in seen]
    for start in range(0, len(keys), KEYS_PER_SEARCH):
        yield from _by_keys(reader, wanted, now, scope, keys[start : start + KEYS_PER_SEARCH], gone)


def _by_keys(
    reader: Reader,
    wanted: Needs,
    now: datetime,
    scope: str,
    keys: list[str],
    gone: set[str],
) -> Iterator[Ticket]:
    while keys:
        jql = narrowed(scope, f"key in ({', '.join(keys)})")
        found: list[Ticket] = []
        try:
            found = list(reader.fetch(wanted, now, jql=jql))
        except AdapterError as exc:
            missing = _NO_KEY.search(str(exc))
            if missing is None or missing.group(1).upper() not in {k.upper() for k in keys}:
                raise
            gone.add(next(k for k in keys if k.upper() == missing.group(1).upper()))
            keys = [k for k in keys if k not in gone]
            continue
        gone.update(set(keys) - {t.id for t in found})
        yield from found
        return
