"""Jira issue JSON -> the neutral `Ticket` (pure: tested with plain dicts).

Who is who and what each status means: `adapters.jira.context`; the history's events:
`adapters.jira.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.jira.context import PLATFORM, Context, parse_time
from adapters.jira.events import Talk, combined, history, talk
from adapters.jira.fields import Field, from_jira, text_of
from rules.frozen import fast_init
from rules.history import history_fields
from rules.model import Event, Ticket
from rules.tracking import Tracking

NOT_ESCALATED = Tracking.parse({})


def to_ticket(
    issue: Mapping[str, Any],
    ctx: Context,
    histories: Iterable[Mapping[str, Any]] | None = None,
    *,
    initial: bool = False,
    texts: bool = True,
) -> Ticket:
    """Map one issue; with `histories` (changelog entries), also its events and summary, and
    with `initial` each changed field's value at creation (for a replay: `history`); without
    `texts`, only the comment text the engine reads (`history`)."""
    values = ticket_values(issue, ctx)
    if histories is None:
        return Ticket(**values)
    return with_events(values, history(issue, histories, ctx, initial=initial, texts=texts))


def with_events(values: dict[str, Any], events: list[Event]) -> Ticket:
    """The ticket of `values` (`ticket_values`) with its history `events` and their summary."""
    return Ticket(**(values | history_fields(events, values["status_since"])))


@fast_init
@dataclass(frozen=True, slots=True)
class Staged:
    """An issue of a Jira Cloud sweep mapped as its search page came (`stage`), but for its
    changelog's events (`finish`): the changelogs come a thousand issues at a time, and
    holding a thousand issues' parsed JSON until then doubled the cost of parsing and freeing
    it (BENCHMARKS.md, "Full sweeps"), so each page is freed as soon as it is mapped."""

    id: str
    key: str
    updated: object
    values: dict[str, Any]
    said: Talk


def stage(issue: Mapping[str, Any], ctx: Context) -> Staged:
    """The issue mapped for a sweep (the comment text the engine reads only, as `texts=False`),
    its changelog still to come."""
    updated = (issue.get("fields") or {}).get("updated")
    said = talk(issue, ctx, texts=False)
    return Staged(str(issue["id"]), str(issue["key"]), updated, ticket_values(issue, ctx), said)


def finish(staged: Staged, histories: Iterable[Mapping[str, Any]], ctx: Context) -> Ticket:
    """The staged issue's ticket with its changelog: `to_ticket(issue, ctx, histories,
    texts=False)` of the issue staged."""
    return with_events(staged.values, combined(staged.said, histories, ctx))


def ticket_values(issue: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The `Ticket` fields an issue gives without its history (`to_ticket`)."""
    f: Mapping[str, Any] = issue.get("fields") or {}
    key = str(issue["key"])
    status = f.get("status") or {}
    status_name = str(status.get("name") or "unknown")
    cat_key = (status.get("statusCategory") or {}).get("key")
    prio_raw = (f.get("priority") or {}).get("name")
    neutral, rank = ctx.priority(prio_raw)
    reporter = f.get("reporter")
    created = parse_time(f.get("created")) or datetime.fromtimestamp(0, UTC)
    updated = parse_time(f.get("updated")) or created
    return {
        "id": key,
        "instance": ctx.instance,
        "platform": PLATFORM,
        "url": f"{ctx.base_url}/browse/{key}",
        "title": str(f.get("summary") or ""),
        "status": status_name,
        "status_category": ctx.category(status_name, cat_key),
        "priority": neutral,
        "priority_rank": rank,
        "priority_raw": prio_raw,
        "type": (f.get("issuetype") or {}).get("name"),
        "group": text_of(f.get(ctx.group.id)) if ctx.group else None,
        "assignee": ctx.people.label(f.get("assignee")),
        "requester": ctx.person(reporter),
        "tags": frozenset(map(str, f.get("labels") or ())),
        "components": tuple(str(c.get("name")) for c in f.get("components") or ()),
        "custom": {name: from_jira(f.get(fd.id)) for name, fd in ctx.custom.items()},
        "created_at": created,
        "updated_at": updated,
        "status_since": parse_time(f.get("statuscategorychangedate")),
        "tracking": _tracking(f, ctx.tracking),
    }


def _tracking(f: Mapping[str, Any], fields: Mapping[str, Field]) -> Tracking:
    """Parsed, except on a ticket never escalated (most of a sweep: its tracking fields are
    all null), which shares one value."""
    for fd in fields.values():
        if f.get(fd.id) is not None:
            break
    else:
        return NOT_ESCALATED
    texts = {name: text_of(f.get(fd.id)) for name, fd in fields.items()}
    return Tracking.parse(texts) if any(texts.values()) else NOT_ESCALATED
