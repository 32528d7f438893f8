"""A Jira issue's history as neutral events: its changelog's field changes, its comments, and
the opening message (the description at creation, as on Zendesk, so that `summarise` treats the
first reply the same way).

A comment is public unless it is restricted (`visibility`) or JSM marks it internal
(`jsdPublic: false`, Cloud only: Data Center's comment JSON does not say, so a DC JSM internal
comment counts as public).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from adapters.jira.context import Context, parse_time, user_id
from adapters.jira.markup import body_text
from rules.frozen import fast_init
from rules.model import COMMENT, STATUS, SYSTEM, Actor, Event, EventKind


def history(
    issue: Mapping[str, Any],
    histories: Iterable[Mapping[str, Any]],
    ctx: Context,
    *,
    initial: bool = False,
    texts: bool = True,
) -> list[Event]:
    """Field changes, comments, and the opening message, as events. With `initial`, also what
    each changed field held at creation (its earliest change's "from"), as system events at
    creation, first among the events of that instant: a replay then knows a priority raised
    later was lower before (a Zendesk creation audit says as much). Only backtests ask: on a
    live run the extra status span at creation would move SLA clocks that pause on "new".
    Without `texts` (a run's sweep), only the last public customer comment has its text: the
    only one the engine reads (`rules.history.without_unread_text`, which the Zendesk history
    cache keeps likewise); rendering every comment's ADF was a third of the mapping."""
    return combined(talk(issue, ctx, texts=texts), histories, ctx, initial=initial)


@fast_init
@dataclass(frozen=True, slots=True)
class Talk:
    """An issue's opening message (none when its creation time is unknown) and its comments,
    as events, and its reporter's id (who the customer is, in the changelog too)."""

    reporter: str | None
    opening: list[Event]
    comments: list[Event]


def talk(issue: Mapping[str, Any], ctx: Context, *, texts: bool = True) -> Talk:
    """The issue's opening message and comments (`history`, whose `texts` this is)."""
    f: Mapping[str, Any] = issue.get("fields") or {}
    reporter = user_id(f.get("reporter"))
    events: list[Event] = []
    bodies: dict[int, Any] = {}  # without `texts`: event index -> the body of its text
    created = parse_time(f.get("created"))
    if created is not None:
        description = f.get("description")
        if description and not texts:
            bodies[0] = description
        text = body_text(description) if description and texts else None
        actor = ctx.people.actor(f.get("reporter"), reporter)
        events.append(Event(created, COMMENT, actor, None, True, text))
    opened = len(events)
    for comment in comments(issue):
        at = parse_time(comment.get("created"))
        if at is None:
            continue
        if not texts:
            bodies[len(events)] = comment.get("body")
        actor = ctx.people.actor(comment.get("author"), reporter)
        text = body_text(comment.get("body")) if texts else None
        events.append(Event(at, COMMENT, actor, None, is_public(comment), text))
    if bodies:
        _read_text(events, bodies)
    return Talk(reporter, events[:opened], events[opened:])


def combined(
    said: Talk, histories: Iterable[Mapping[str, Any]], ctx: Context, *, initial: bool = False
) -> list[Event]:
    """The history (`history`): the opening message, the changelog's field changes (with
    `initial`, what each field held at creation first among them), then the comments."""
    events = list(said.opening)
    first = _field_changes(events, histories, ctx, said.reporter, initial)
    if said.opening:  # first: a real change at creation sorts after them
        created = said.opening[0].at
        events[1:1] = [replace(e, at=created) for _, e in first.values()]
    events += said.comments
    return events


def _field_changes(
    events: list[Event],
    histories: Iterable[Mapping[str, Any]],
    ctx: Context,
    reporter: str | None,
    initial: bool,
) -> dict[EventKind, tuple[datetime, Event]]:
    """Append the changelog's field changes to `events`; with `initial`, each changed field's
    earliest change's "from" value (what it held at creation), by field. An entry's time and
    author are read only when one of its items is a field of the history (on Data Center the
    changelog holds every field's changes, ours included)."""
    first: dict[EventKind, tuple[datetime, Event]] = {}
    kinds = ctx.history_kinds
    for entry in histories:
        at: datetime | None = None
        actor = SYSTEM
        for item in entry.get("items") or ():
            kind = kinds.get(str(item.get("fieldId") or item.get("field") or ""))
            if kind is None:
                continue
            if at is None:
                at = parse_time(entry.get("created"))
                if at is None:
                    break
                actor = ctx.people.actor(entry.get("author"), reporter)
            event = _change(item, kind, at, actor, ctx)
            events.append(event)
            known = "fromString" in item and (kind is not STATUS or item.get("from"))
            if initial and known and (kind not in first or at < first[kind][0]):
                first[kind] = (at, _change(item, kind, at, SYSTEM, ctx, "from"))
    return first


def _read_text(events: list[Event], bodies: Mapping[int, Any]) -> None:
    """Give its text to the comment the engine reads: the last public one by the customer (in
    time order, ties in the order given, as `summarise` sorts)."""
    read = [
        (events[i].at, i) for i in bodies if events[i].actor is Actor.CUSTOMER and events[i].public
    ]
    if read:
        i = max(read)[1]
        e = events[i]  # a comment (`history`): built anew, several times faster than `replace`
        events[i] = Event(e.at, e.kind, e.actor, e.value, e.public, body_text(bodies[i]))


def _change(
    item: Mapping[str, Any],
    kind: EventKind,
    at: datetime,
    actor: Actor,
    ctx: Context,
    side: str = "to",
) -> Event:
    """The event of one changelog item of a history field (`kind`): the value it set (`side`
    "to"), or the one it replaced ("from")."""
    value = item.get("toString" if side == "to" else "fromString")
    category = None
    if kind is STATUS:
        name = str(value or "")
        key = ctx.statuses.get(str(item.get(side) or "")) or ctx.statuses.get(name)
        category = ctx.category(name, key)
    return Event(at, kind, actor, value, True, None, category)


def comments(issue: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The comments the issue's `comment` field lists (not a copy)."""
    block = (issue.get("fields") or {}).get("comment")
    listed = block.get("comments") if isinstance(block, dict) else None
    return listed if isinstance(listed, list) else ()


def with_comments(issue: Mapping[str, Any], comments: list[Mapping[str, Any]]) -> dict[str, Any]:
    """`issue` with all its `comments` in place of the ones its search result carried."""
    fields = dict(issue.get("fields") or {})
    fields["comment"] = {"comments": comments, "total": len(comments)}
    return {**issue, "fields": fields}


def comments_truncated(issue: Mapping[str, Any]) -> bool:
    block = (issue.get("fields") or {}).get("comment")
    if not isinstance(block, dict):  # JSON objects are dicts: no ABC check per issue
        return False
    return int(block.get("total") or 0) > len(block.get("comments") or ())


def is_public(comment: Mapping[str, Any]) -> bool:
    if comment.get("visibility"):
        return False
    for prop in comment.get("properties") or ():
        if prop.get("key") == "sd.public.comment":
            return not (prop.get("value") or {}).get("internal", False)
    return bool(comment.get("jsdPublic", True))
