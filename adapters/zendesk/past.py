"""`escalate backtest --instance` on Zendesk: every ticket of the history scope that was open at
some time in the window (adapters/past.py), each with its whole history. Read-only.

Zendesk's search ANDs terms on different fields, so "updated since the window began, or still
open" takes two search exports, and a ticket both find is kept once:
- the history scope with `created<<after_day> updated>=<first_day>`;
- the history scope with `created<<after_day> status<solved`.
Each ticket's history is its audits (`tickets/{id}/audits`, 100 a page, `history_concurrency`
tickets at a time; not through the history cache, which keeps only the last customer comment's
text), which hold every field change from the creation audit on and every comment with its
author. Authors, requesters and organisations are looked up with `users/show_many` and
`organizations/show_many` per 100 unknown ones.

Why audits and not the incremental ticket-events export: that export streams every event of
the whole account from a start time, so a ticket created before the window needs the stream
from its creation, and it is limited to 10 requests a minute; the audits cost one request per
ticket (500 a minute) for exactly the tickets in the window.
Archived tickets (closed over 120 days ago) are not in search results, so they are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from adapters.past import Window
from adapters.zendesk.mapping import as_int
from adapters.zendesk.read import Json, Reader, export_query
from adapters.zendesk.settings import TERM
from rules.model import Ticket

#: A backtest reads every ticket's requester and organisation, whatever the policy reads, so a
#: --compare policy finds them too.
EVERYONE = frozenset({"requester", "organization"})

_STATUS = re.compile(r"-?status(?:<=|>=|:|<|>)", re.IGNORECASE)


def history_queries(history_scope: str | None, scope: str, window: Window) -> list[str]:
    """The two search-export queries (without `type:ticket`) for the tickets of `window`."""
    base = export_query(history_scope if history_scope is not None else without_status(scope))
    created = f"created<{window.after_day}"
    return [  # open ones first: one solved meanwhile has a new updated_at, so the second finds it
        f"{base} {created} status<solved".strip(),
        f"{base} {created} updated>={window.first_day}".strip(),
    ]


def without_status(scope: str) -> str:
    """The scope without its `status` terms ("type:ticket status<solved" -> "type:ticket")."""
    return " ".join(t for t in TERM.findall(scope) if not _STATUS.match(t))


def read_past(reader: Reader, window: Window) -> Iterator[Ticket]:
    """Every ticket open at some time in `window`, with the events of all its audits.

    Not through the history cache: it keeps the text of the last customer comment only (a
    replay reads each one as it was), and a backtest writes no state."""
    reader.lookups.prepare()
    settings = reader.settings
    now = datetime.fromtimestamp(reader.client.session.clock(), UTC)
    seen: set[int] = set()
    for query in history_queries(settings.history_scope, settings.scope, window):
        for raws in reader.pages(query):
            fresh = []
            for raw in raws:
                tid = as_int(raw.get("id"))
                if tid is not None and tid not in seen:
                    seen.add(tid)
                    fresh.append(raw)
            yield from whole(reader, fresh, window, now)


def whole(reader: Reader, raws: Sequence[Json], window: Window, now: datetime) -> list[Ticket]:
    """The tickets of `raws` open at some time in `window`, each with its whole history."""
    inside = [(raw, t) for raw in raws if window.holds(t := reader.map(raw, None))]
    if not inside:
        return []
    reader.learn_people([raw for raw, _ in inside], EVERYONE)
    events = reader.histories(inside, now, cached=False)
    return [reader.map(raw, None, events[t.id]) for raw, t in inside]
