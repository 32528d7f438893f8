"""Jira issue JSON -> the neutral `Ticket` (pure: tested with plain dicts).

Who did what (`Actor`), as far as Jira's data allows:
- our own account (GET /myself) -> CONNECTOR, so our writes never reset clocks;
- app and automation accounts (accountType "app") and changes without an author -> SYSTEM;
- JSM portal customers (accountType "customer") and the issue's reporter -> CUSTOMER. This is
  approximate: an agent who reported an issue counts as its customer, and on Data Center
  (no accountType) only the reporter is a customer;
- everyone else -> AGENT.
A comment is public unless it is restricted (`visibility`) or JSM marks it internal
(`jsdPublic: false`, Cloud only: Data Center's comment JSON does not say, so a DC JSM internal
comment counts as public). The issue's creation counts as the customer's opening message (the
description), as on Zendesk, so that `summarise` treats the first reply the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from adapters.jira.fields import Field, from_jira, text_of
from adapters.jira.markup import body_text
from rules.history import history_fields
from rules.mapping import priority, status_category
from rules.model import Actor, Approval, Event, EventKind, Person, StatusCategory, Ticket
from rules.policy import Policy
from rules.tracking import Tracking
from rules.tracking import parse_time as parse_instant

PLATFORM = "jira"
NOT_ESCALATED = Tracking.parse({})
#: Jira's status category keys as hints for statuses the policy does not map.
CATEGORY_HINTS = {
    "new": StatusCategory.NEW,
    "indeterminate": StatusCategory.OPEN,
    "done": StatusCategory.SOLVED,
}
HISTORY_FIELDS = {
    "status": EventKind.STATUS,
    "assignee": EventKind.ASSIGNEE,
    "priority": EventKind.PRIORITY,
}


def parse_time(text: object) -> datetime | None:
    """Jira's `2026-03-02T08:00:00.000+0000` (or any ISO 8601 instant) in UTC."""
    if not isinstance(text, str):
        return None
    try:  # the common case, a UTC time, at once
        value = datetime.fromisoformat(text)
    except ValueError:
        return parse_instant(text)
    return value if value.tzinfo is UTC else parse_instant(text)


def user_id(user: object) -> str | None:
    """accountId on Cloud, the username (name, else key) on Data Center."""
    if not isinstance(user, dict):  # JSON objects are dicts: no ABC check per user
        return None
    for key in ("accountId", "name", "key"):
        if user.get(key):
            return str(user[key])
    return None


@dataclass(frozen=True)
class People:
    """Our own account and the configured users map (name/email -> id), both ways."""

    myself: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    #: The names the policy uses for assignees, so a ticket's assignee reads back the same.
    known: frozenset[str] = frozenset()

    def label(self, user: object) -> str | None:
        """How the policy names this user: its key in `users`, else the id or the email the
        policy uses, else the email (Cloud, when visible), else the id."""
        uid = user_id(user)
        if uid is None or not isinstance(user, dict):
            return None
        for name, value in self.users.items():
            if value == uid:
                return name
        email = str(user.get("emailAddress") or "") or None
        if uid in self.known or email is None:
            return uid
        if email in self.known or "accountId" in user:
            return email
        return uid

    def actor(self, user: object, reporter: str | None) -> Actor:
        uid = user_id(user)
        if uid is None or not isinstance(user, dict):
            return Actor.SYSTEM
        if self.myself is not None and uid == self.myself:
            return Actor.CONNECTOR
        kind = user.get("accountType")
        if kind == "app":
            return Actor.SYSTEM
        if kind == "customer" or uid == reporter:
            return Actor.CUSTOMER
        return Actor.AGENT


@dataclass(frozen=True)
class Context:
    """Everything the mapping needs besides the issue itself."""

    instance: str
    base_url: str
    policy: Policy
    tracking: Mapping[str, Field]  # logical name -> field
    group: Field | None = None
    custom: Mapping[str, Field] = field(default_factory=dict)  # policy field name -> field
    people: People = People()
    statuses: Mapping[str, str] = field(default_factory=dict)  # status id or name -> category
    #: A backtest's read: who set an approval (a changelog entry's author), as recorded.
    approver: Callable[[Mapping[str, Any], datetime], Approval] | None = None
    #: What the policy's mappings made of each status and priority met (a sweep meets few).
    _categories: dict[tuple[str, str | None], StatusCategory] = field(
        default_factory=dict, compare=False, repr=False
    )
    _priorities: dict[str | None, tuple[str | None, int | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def category(self, name: str, key: str | None) -> StatusCategory:
        found = self._categories.get((name, key))
        if found is None:
            hint = CATEGORY_HINTS.get(key or "")
            found = self._categories[name, key] = status_category(self.policy, PLATFORM, name, hint)
        return found

    def priority(self, raw: str | None) -> tuple[str | None, int | None]:
        found = self._priorities.get(raw)
        if found is None:
            found = self._priorities[raw] = priority(self.policy, PLATFORM, raw)
        return found


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
    values = {
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
        "requester": _person(reporter),
        "tags": frozenset(str(t) for t in f.get("labels") or ()),
        "components": tuple(str(c.get("name")) for c in f.get("components") or ()),
        "custom": {name: from_jira(f.get(fd.id)) for name, fd in ctx.custom.items()},
        "created_at": created,
        "updated_at": updated,
        "status_since": parse_time(f.get("statuscategorychangedate")),
        "tracking": _tracking(f, ctx.tracking),
    }
    if histories is not None:
        events = history(issue, histories, ctx, initial=initial, texts=texts)
        values |= history_fields(events, values["status_since"])  # type: ignore[arg-type]
    return Ticket(**values)  # type: ignore[arg-type]


def _tracking(f: Mapping[str, Any], fields: Mapping[str, Field]) -> Tracking:
    """Parsed, except on a ticket never escalated (most of a sweep: its tracking fields are
    all null), which shares one value."""
    raw = {name: f.get(fd.id) for name, fd in fields.items()}
    if all(value is None for value in raw.values()):
        return NOT_ESCALATED
    texts = {name: text_of(value) for name, value in raw.items()}
    return Tracking.parse(texts) if any(texts.values()) else NOT_ESCALATED


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
    f: Mapping[str, Any] = issue.get("fields") or {}
    reporter = user_id(f.get("reporter"))
    events: list[Event] = []
    bodies: dict[int, Any] = {}  # without `texts`: event index -> the body of its text
    created = parse_time(f.get("created"))
    if created is not None:
        description = f.get("description")
        if description and not texts:
            bodies[0] = description
        events.append(
            Event(
                at=created,
                kind=EventKind.COMMENT,
                actor=ctx.people.actor(f.get("reporter"), reporter),
                text=body_text(description) if description and texts else None,
            )
        )
    first = _field_changes(events, histories, ctx, reporter, initial)
    if created is not None:  # first: a real change at creation sorts after them
        events[1:1] = [replace(e, at=created) for _, e in first.values()]
    for comment in comments(issue):
        at = parse_time(comment.get("created"))
        if at is None:
            continue
        if not texts:
            bodies[len(events)] = comment.get("body")
        events.append(
            Event(
                at=at,
                kind=EventKind.COMMENT,
                actor=ctx.people.actor(comment.get("author"), reporter),
                public=is_public(comment),
                text=body_text(comment.get("body")) if texts else None,
            )
        )
    if bodies:
        _read_text(events, bodies)
    return events


def _field_changes(
    events: list[Event],
    histories: Iterable[Mapping[str, Any]],
    ctx: Context,
    reporter: str | None,
    initial: bool,
) -> dict[EventKind, tuple[datetime, Event]]:
    """Append the changelog's field changes to `events`; with `initial`, each changed field's
    earliest change's "from" value (what it held at creation), by field."""
    first: dict[EventKind, tuple[datetime, Event]] = {}
    for entry in histories:
        at = parse_time(entry.get("created"))
        if at is None:
            continue
        actor = ctx.people.actor(entry.get("author"), reporter)
        for item in entry.get("items") or ():
            event = _change(item, at, actor, ctx)
            if event is None:
                continue
            events.append(event)
            known = "fromString" in item and (
                event.kind is not EventKind.STATUS or item.get("from")
            )
            if initial and known and (event.kind not in first or at < first[event.kind][0]):
                before = _change(item, at, Actor.SYSTEM, ctx, "from")
                assert before is not None  # the same field as `event`
                first[event.kind] = (at, before)
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
    item: Mapping[str, Any], at: datetime, actor: Actor, ctx: Context, side: str = "to"
) -> Event | None:
    """The event of one changelog item: the value it set (`side` "to"), or replaced ("from")."""
    fid = str(item.get("fieldId") or item.get("field") or "")
    value = item.get(f"{side}String")
    if ctx.group is not None and fid in (ctx.group.id, ctx.group.name):
        return Event(at=at, kind=EventKind.GROUP, actor=actor, value=value)
    kind = HISTORY_FIELDS.get(fid)
    if kind is None:
        return None
    category = None
    if kind is EventKind.STATUS:
        name = str(value or "")
        key = ctx.statuses.get(str(item.get(side) or "")) or ctx.statuses.get(name)
        category = ctx.category(name, key)
    return Event(at=at, kind=kind, actor=actor, value=value, category=category)


def comments(issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    block = (issue.get("fields") or {}).get("comment") or {}
    return list(block.get("comments") or ()) if isinstance(block, Mapping) else []


def with_comments(issue: Mapping[str, Any], comments: list[Mapping[str, Any]]) -> dict[str, Any]:
    """`issue` with all its `comments` in place of the ones its search result carried."""
    fields = dict(issue.get("fields") or {})
    fields["comment"] = {"comments": comments, "total": len(comments)}
    return {**issue, "fields": fields}


def comments_truncated(issue: Mapping[str, Any]) -> bool:
    block = (issue.get("fields") or {}).get("comment") or {}
    if not isinstance(block, Mapping):
        return False
    return int(block.get("total") or 0) > len(block.get("comments") or ())


def is_public(comment: Mapping[str, Any]) -> bool:
    if comment.get("visibility"):
        return False
    for prop in comment.get("properties") or ():
        if prop.get("key") == "sd.public.comment":
            return not (prop.get("value") or {}).get("internal", False)
    return bool(comment.get("jsdPublic", True))


def _person(user: object) -> Person | None:
    uid = user_id(user)
    if uid is None or not isinstance(user, dict):
        return None
    email = user.get("emailAddress")
    return Person(id=uid, name=user.get("displayName"), email=str(email) if email else None)
