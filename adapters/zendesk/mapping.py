"""Zendesk JSON -> the neutral `Ticket`: pure functions, tested with plain dicts.

`Context` holds what the mapping needs besides the ticket JSON (the policy, the field ids, and
`People`: the groups, users and organisations one run has looked up, in bulk), so a ticket maps
without a request of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from rules.history import history_fields
from rules.mapping import Priorities, status_category
from rules.model import (
    Actor,
    Approval,
    Event,
    EventKind,
    Organization,
    Person,
    StatusCategory,
    Ticket,
)
from rules.policy import Policy
from rules.tracking import Tracking

PLATFORM = "zendesk"
NOT_ESCALATED = Tracking.parse({})
Json = dict[str, Any]
AGENT_ROLES = frozenset({"agent", "admin"})
_CHANGE_KINDS = {
    "status": EventKind.STATUS,
    "assignee_id": EventKind.ASSIGNEE,
    "group_id": EventKind.GROUP,
    "priority": EventKind.PRIORITY,
}


@dataclass
class People:
    """Groups, users and organisations looked up in one run, in bulk (never one request per
    ticket), and our own user id."""

    groups: dict[int, str] = field(default_factory=dict)
    users: dict[int, Json] = field(default_factory=dict)
    organizations: dict[int, Json] = field(default_factory=dict)
    me: int | None = None

    def group_id(self, name: str) -> int | None:
        for gid, gname in self.groups.items():
            if gname == name:
                return gid
        lowered = name.lower()
        return next((gid for gid, g in self.groups.items() if g.lower() == lowered), None)

    def agent_id(self, who: str) -> int | None:
        lowered = who.lower()
        for uid, user in self.users.items():
            if user.get("role") not in AGENT_ROLES:
                continue
            names = (str(user.get("email") or "").lower(), str(user.get("name") or "").lower())
            if lowered in names:
                return uid
        return None


@dataclass(frozen=True)
class Context:
    """Everything the mapping needs besides the ticket itself."""

    instance: str
    base_url: str
    policy: Policy
    people: People
    tracking: Mapping[str, int] = field(default_factory=dict)  # logical name -> field id
    custom: Mapping[str, int] = field(default_factory=dict)  # policy field name -> field id
    #: What the policy's mappings made of each status and priority met (a sweep meets few).
    _categories: dict[str, StatusCategory] = field(default_factory=dict, compare=False, repr=False)

    def category(self, status: str) -> StatusCategory:
        found = self._categories.get(status)
        if found is None:
            found = self._categories[status] = status_category(self.policy, PLATFORM, status)
        return found

    @cached_property
    def priority(self) -> Priorities:
        """A platform priority's (neutral name, rank): `rules.mapping.priority`, remembered."""
        return Priorities(self.policy, PLATFORM)


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is UTC:  # Zendesk's times are UTC ("...Z"): nothing to convert
        return parsed
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def field_values(raw: Mapping[str, Any]) -> dict[int, object]:
    """`custom_fields: [{id, value}]` by field id."""
    out: dict[int, object] = {}
    for item in raw.get("custom_fields") or []:
        if isinstance(item, dict) and (fid := as_int(item.get("id"))) is not None:
            out[fid] = item.get("value")
    return out


def person(user_id: int | None, users: Mapping[int, Json]) -> Person | None:
    if user_id is None:
        return None
    user = users.get(user_id, {})
    return Person(str(user_id), user.get("name"), user.get("email"))


def assignee_text(user_id: int | None, users: Mapping[int, Json]) -> str | None:
    """An assignee as the policy names people: e-mail, else name, else the id."""
    if user_id is None:
        return None
    user = users.get(user_id, {})
    return str(user.get("email") or user.get("name") or user_id)


def to_ticket(
    raw: Mapping[str, Any],
    ctx: Context,
    *,
    metrics: Mapping[str, Any] | None = None,
    audits: Iterable[Mapping[str, Any]] | None = None,
    events: Sequence[Event] | None = None,
) -> Ticket:
    """The neutral ticket; `metrics` (a metric set), `audits` or the `events` mapped from them
    add the history figures."""
    return finish(ticket_values(raw, ctx), raw, ctx, metrics=metrics, audits=audits, events=events)


def finish(
    values: Mapping[str, Any],
    raw: Mapping[str, Any],
    ctx: Context,
    *,
    metrics: Mapping[str, Any] | None = None,
    audits: Iterable[Mapping[str, Any]] | None = None,
    events: Sequence[Event] | None = None,
) -> Ticket:
    """The ticket from `ticket_values(raw, ctx)` and its history figures, built at once (a
    reader that maps a ticket twice, without its events and then with them, keeps `values`)."""
    if audits is not None:
        requester = as_int(raw.get("requester_id"))
        events = events_from_audits(audits, ctx.policy, ctx.people, requester, ctx=ctx)
    if events is not None:
        return Ticket(**values, **history_fields(events, None))
    if metrics is not None:
        summary = summary_from_metrics(metrics, values["created_at"], values["updated_at"])
        return Ticket(**values, **summary)
    return Ticket(**values)


def ticket_values(raw: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The ticket's fields without its history figures (`finish` adds those)."""
    people = ctx.people
    tid = as_int(raw.get("id"))
    created = parse_time(raw.get("created_at"))
    if tid is None or created is None:
        raise ValueError(f"ticket without id or created_at: {dict(raw).get('id')!r}")
    updated = parse_time(raw.get("updated_at")) or created
    status = str(raw.get("status") or "open")
    raw_priority = raw.get("priority") if isinstance(raw.get("priority"), str) else None
    neutral, rank = ctx.priority(raw_priority)
    values = field_values(raw)
    org_id = as_int(raw.get("organization_id"))
    org = people.organizations.get(org_id, {}) if org_id is not None else {}
    requester_id = as_int(raw.get("requester_id"))
    return {
        "id": str(tid),
        "instance": ctx.instance,
        "platform": PLATFORM,
        "url": f"{ctx.base_url}/agent/tickets/{tid}",
        "title": str(raw.get("subject") or raw.get("raw_subject") or ""),
        "status": status,
        "status_category": ctx.category(status),
        "priority": neutral,
        "priority_rank": rank,
        "priority_raw": raw_priority,
        "type": raw.get("type") if isinstance(raw.get("type"), str) else None,
        "group": people.groups.get(as_int(raw.get("group_id")) or -1),
        "assignee": assignee_text(as_int(raw.get("assignee_id")), people.users),
        "requester": person(requester_id, people.users),
        "organization": Organization(str(org_id), org.get("name"), frozenset(org.get("tags") or ()))
        if org_id is not None
        else None,
        "tags": frozenset(str(t) for t in raw.get("tags") or ()),
        "custom": {name: values.get(fid) for name, fid in ctx.custom.items()},
        "created_at": created,
        "updated_at": updated,
        "tracking": _tracking({name: values.get(fid) for name, fid in ctx.tracking.items()}),
    }


def _tracking(raw: dict[str, object]) -> Tracking:
    """Parsed, except on a ticket never escalated (most of a sweep), which shares one value."""
    escalated = any(v is not None and v != "" for v in raw.values())
    return Tracking.parse(raw) if escalated else NOT_ESCALATED


def summary_from_metrics(
    metrics: Mapping[str, Any], created: datetime, updated: datetime
) -> dict[str, Any]:
    """What a ticket metric set tells: status since, reopens, first reply, awaiting reply.

    Approximations (docs/zendesk.md): the first reply is `created_at` plus the calendar reply
    time in whole minutes; a customer is taken to await a reply since their last update when
    that is later than the assignee's last update (Zendesk keeps no "first unanswered" time).
    """
    out: dict[str, Any] = {"reopens": as_int(metrics.get("reopens")) or 0}
    if since := parse_time(metrics.get("status_updated_at")):
        out["status_since"] = since
    reply = metrics.get("reply_time_in_minutes")
    minutes = as_int(reply.get("calendar")) if isinstance(reply, dict) else None
    if minutes is not None:
        out["first_response_at"] = min(created + timedelta(minutes=minutes), updated)
    customer = parse_time(metrics.get("requester_updated_at"))
    agent = parse_time(metrics.get("assignee_updated_at"))
    if customer is not None and customer > created and (agent is None or customer > agent):
        out["awaiting_reply_since"] = customer
    return out


def actor_of(author: int | None, via: object, people: People, requester: int | None) -> Actor:
    if isinstance(via, dict) and via.get("channel") == "rule":
        return Actor.SYSTEM
    if author is None or author < 0:
        return Actor.SYSTEM
    if people.me is not None and author == people.me:
        return Actor.CONNECTOR
    if author == requester:
        return Actor.CUSTOMER
    role = people.users.get(author, {}).get("role")
    return Actor.CUSTOMER if role == "end-user" else Actor.AGENT


#: Who set an approval field, from the author of the audit that did (`Approvals.by`).
Approver = Callable[[int | None, datetime], Approval]


def events_from_audits(
    audits: Iterable[Mapping[str, Any]],
    policy: Policy,
    people: People,
    requester: int | None,
    fields: Mapping[str, str] | None = None,
    approver: Approver | None = None,
    ctx: Context | None = None,
) -> list[Event]:
    """Comments and status/assignee/group/priority changes; our own marked CONNECTOR. With
    `fields` (a backtest: audit `field_name` -> event field name, e.g. "tags", a custom
    field's id -> "custom.Product area"), the changes of those fields too, an approval with who
    set it (`approver`)."""
    events: list[Event] = []
    for audit in audits:
        at = parse_time(audit.get("created_at"))
        if at is None:
            continue
        audit_author = as_int(audit.get("author_id"))
        for item in audit.get("events") or ():
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind in ("Comment", "VoiceComment"):
                author = as_int(item.get("author_id"))
                actor = actor_of(
                    author if author is not None else audit_author, None, people, requester
                )
                text = item.get("body") if isinstance(item.get("body"), str) else None
                events.append(
                    Event(at, EventKind.COMMENT, actor, public=bool(item.get("public")), text=text)
                )
            elif kind in ("Change", "Create") and item.get("field_name") in _CHANGE_KINDS:
                name = str(item["field_name"])
                actor = actor_of(audit_author, item.get("via"), people, requester)
                value = _named(name, item.get("value"), people)
                category: StatusCategory | None = None
                if name == "status" and value:
                    category = (
                        ctx.category(value) if ctx else status_category(policy, PLATFORM, value)
                    )
                events.append(Event(at, _CHANGE_KINDS[name], actor, value=value, category=category))
            elif kind in ("Change", "Create") and fields and str(item.get("field_name")) in fields:
                named = fields[str(item.get("field_name"))]
                actor = actor_of(audit_author, item.get("via"), people, requester)
                by = (
                    approver(audit_author, at)
                    if approver and named.endswith("approved_by")
                    else None
                )
                events.append(field_event(at, actor, named, item.get("value"), by))
    return events


def _named(field_name: str, value: object, people: People) -> str | None:
    """An audit's value as the ticket names it: a group by its name and an assignee as the
    policy names people (the audits hold their ids), else the text as it is."""
    number = as_int(value)
    if value is None:
        return None
    if field_name == "group_id" and number is not None:
        return people.groups.get(number) or str(value)
    if field_name == "assignee_id" and number is not None:
        return assignee_text(number, people.users)
    return str(value)


def field_event(
    at: datetime, actor: Actor, name: str, value: object, by: Approval | None = None
) -> Event:
    """A `field` event: a list value (tags, a multi-select) as `values`, another as text."""
    if isinstance(value, list):
        return Event(at, EventKind.FIELD, actor, field=name, values=tuple(str(v) for v in value))
    text = None if value is None else str(value)
    return Event(at, EventKind.FIELD, actor, value=text, field=name, by=by)


def author_ids(audits: Iterable[Mapping[str, Any]]) -> set[int]:
    """Everyone who wrote in these audits (to look up whether they are agents or customers)."""
    out: set[int] = set()
    for audit in audits:
        if (author := as_int(audit.get("author_id"))) is not None and author > 0:
            out.add(author)
        for item in audit.get("events") or ():
            author = as_int(item.get("author_id")) if isinstance(item, dict) else None
            if author is not None and author > 0:
                out.add(author)
    return out
