"""The ticket JSON format read by `escalate explain` and backtesting (docs/tickets.md).

A file holds one ticket object, a list of them, or {"tickets": [...]}. A ticket is the neutral
model plus, optionally, its history; summary figures missing from the record are derived from
the history. Errors name the file, the record and the key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime, Field, TypeAdapter, field_validator

from rules import mapping
from rules.basics import Model
from rules.errors import ConfigError
from rules.history import summarise
from rules.loader import Located, Problems, check, load_yaml
from rules.model import (
    FIELD_NAMES,
    Actor,
    Approval,
    Event,
    EventKind,
    Organization,
    Person,
    StatusCategory,
    Ticket,
)
from rules.platforms import PlatformName
from rules.policy import Policy
from rules.tracking import Tracking


class PersonRecord(Model):
    id: str = ""
    name: str | None = None
    email: str | None = None


class OrgRecord(Model):
    id: str = ""
    name: str | None = None
    tags: list[str] = []


class ApprovalRecord(Model):
    """Who set the approval field, as the platform recorded it (see `rules.model.Approval`)."""

    by: str
    names: list[str] = []
    groups: list[str] = []
    at: AwareDatetime | None = None


class EventRecord(Model):
    at: AwareDatetime
    kind: EventKind
    actor: Actor
    value: str | list[str] | None = None
    category: StatusCategory | None = None
    public: bool = True
    text: str | None = None
    field: str | None = None
    by: ApprovalRecord | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, name: str | None) -> str | None:
        if name is None or name in FIELD_NAMES or (name.startswith("custom.") and name[7:]):
            return name
        raise ValueError(
            f"unknown field {name!r}: expected one of {', '.join(FIELD_NAMES)} or custom.NAME"
        )


class TicketRecord(Model):
    id: str
    instance: str = "file"
    platform: PlatformName = "zendesk"
    url: str = ""
    title: str = ""
    status: str
    status_category: StatusCategory | None = None
    priority: str | None = None
    type: str | None = None
    group: str | None = None
    assignee: str | None = None
    requester: PersonRecord | None = None
    organization: OrgRecord | None = None
    tags: list[str] = []
    components: list[str] = []
    custom: dict[str, Any] = {}
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    status_since: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None
    last_agent_reply_at: AwareDatetime | None = None
    awaiting_reply_since: AwareDatetime | None = None
    customer_replies: int | None = Field(default=None, ge=0)
    reopens: int | None = Field(default=None, ge=0)
    last_customer_comment: str | None = None
    last_activity_at: AwareDatetime | None = None
    last_ack_at: AwareDatetime | None = None
    tracking: dict[str, Any] = {}
    approval: ApprovalRecord | None = None
    history: list[EventRecord] | None = None


def read_tickets(text: str, source: str, policy: Policy) -> list[Ticket]:
    """Parse a ticket file; any bad record raises ConfigError naming it."""
    return [to_ticket(record, policy) for record in read_records(text, source)]


def read_records(text: str, source: str) -> list[TicketRecord]:
    """The records of a ticket file, checked, not yet mapped by a policy (a backtest maps each
    with two); any bad record raises ConfigError naming it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    base: tuple[str, ...] | None
    if isinstance(data, dict) and "tickets" in data:
        records, base = data["tickets"], ("tickets",)
    elif isinstance(data, list):
        records, base = data, ()
    else:
        records, base = [data], None
    if not isinstance(records, list):
        raise ConfigError(f'{source}: expected a ticket, a list of tickets or {{"tickets": [...]}}')
    valid = _records(Located(data, source), records, base, final=False)
    if valid is None:  # a bad record: check again with line numbers (slow on big files)
        valid = _records(_locate(text, source, data), records, base, final=True)
    assert valid is not None
    return valid


def _records(
    doc: Located, records: list[Any], base: tuple[str, ...] | None, *, final: bool
) -> list[TicketRecord] | None:
    """Every record checked. A bad one: None on the first pass, which skips line numbers
    (reading a large file as YAML for them is slow), a ConfigError listing every bad record
    on the `final` one."""
    problems = Problems(doc)
    valid = []
    for i, _ in enumerate(records):
        record = check(TicketRecord, doc, () if base is None else (*base, i), problems)
        if record is not None:
            valid.append(record)
    if problems.items and not final:
        return None
    problems.raise_if_any()
    return valid


def to_ticket(r: TicketRecord, policy: Policy) -> Ticket:
    events = None
    derived: dict[str, Any] = {}
    if r.history is not None:
        events = tuple(_event(e, r.platform, policy) for e in r.history)
        s = summarise(events)
        derived = {name: getattr(s, name) for name in s.__slots__}
    explicit = {k: getattr(r, k) for k in r.model_fields_set}

    def pick(name: str, default: Any = None) -> Any:
        if name in explicit:
            return explicit[name]
        return derived.get(name, default)

    # The record's category is the platform's word; the policy's own mapping goes first, as
    # on a live read, so two policies replaying one file (--compare) each map statuses.
    category = mapping.status_category(policy, r.platform, r.status, r.status_category)
    neutral, rank = mapping.priority(policy, r.platform, r.priority)
    return Ticket(
        id=r.id,
        instance=r.instance,
        platform=r.platform,
        url=r.url,
        title=r.title,
        status=r.status,
        status_category=category,
        priority=neutral,
        priority_rank=rank,
        priority_raw=r.priority,
        type=r.type,
        group=r.group,
        assignee=r.assignee,
        requester=Person(**r.requester.model_dump()) if r.requester else None,
        organization=Organization(
            r.organization.id, r.organization.name, frozenset(r.organization.tags)
        )
        if r.organization
        else None,
        tags=frozenset(r.tags),
        components=tuple(r.components),
        custom=dict(r.custom),
        created_at=r.created_at,
        updated_at=r.updated_at or r.created_at,
        status_since=pick("status_since"),
        first_response_at=pick("first_response_at"),
        last_agent_reply_at=pick("last_agent_reply_at"),
        awaiting_reply_since=pick("awaiting_reply_since"),
        customer_replies=pick("customer_replies", 0) or 0,
        reopens=pick("reopens", 0) or 0,
        last_customer_comment=pick("last_customer_comment"),
        last_activity_at=pick("last_activity_at"),
        last_ack_at=r.last_ack_at,
        history=events,
        tracking=Tracking.parse(r.tracking),
        approval=_approval(r.approval),
    )


def _approval(r: ApprovalRecord | None) -> Approval | None:
    """The record's approval; its `by` counts as one of its names."""
    if r is None:
        return None
    names = frozenset(n.strip().lower() for n in (r.by, *r.names) if n.strip())
    groups = frozenset(g.strip().lower() for g in r.groups if g.strip())
    return Approval(r.by, names, groups, r.at)


#: The summary figures a record carries only without history (with it, they are derived).
_SUMMARY = (
    "first_response_at",
    "last_agent_reply_at",
    "awaiting_reply_since",
    "customer_replies",
    "reopens",
    "last_customer_comment",
    "last_activity_at",
    "last_ack_at",
)


def to_record(ticket: Ticket, *, tracking: bool = False, text: bool = False) -> TicketRecord:
    """A ticket read from a platform, in this format, to replay later (`escalate backtest
    --instance`, `--save`): its raw priority (each policy maps it), its statuses with the
    categories they had, its history. Its tracking fields only with `tracking` (a backtest
    starts them empty); comment text only where the engine reads it (public customer
    comments), or all of it with `text`."""
    found: dict[str, Any] = {
        "id": ticket.id,
        "instance": ticket.instance,
        "platform": ticket.platform,
        "url": ticket.url,
        "title": ticket.title,
        "status": ticket.status,
        "status_category": ticket.status_category,
        "priority": ticket.priority_raw,
        "type": ticket.type,
        "group": ticket.group,
        "assignee": ticket.assignee,
        "tags": sorted(ticket.tags),
        "components": list(ticket.components),
        "custom": dict(ticket.custom),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "status_since": ticket.status_since,
    }
    if ticket.requester is not None:
        p = ticket.requester
        found["requester"] = PersonRecord(id=p.id, name=p.name, email=p.email)
    if ticket.organization is not None:
        o = ticket.organization
        found["organization"] = OrgRecord(id=o.id, name=o.name, tags=sorted(o.tags))
    if tracking:
        found["tracking"] = ticket.tracking.to_raw()
        if (a := ticket.approval) is not None:
            found["approval"] = _approval_record(a)
    if ticket.history is None:
        found |= {name: getattr(ticket, name) for name in _SUMMARY}
    else:
        found["history"] = [_event_record(e, text) for e in ticket.history]
    return TicketRecord(**found)


def _approval_record(a: Approval) -> ApprovalRecord:
    return ApprovalRecord(by=a.by, names=sorted(a.names), groups=sorted(a.groups), at=a.at)


def _event_record(e: Event, text: bool) -> EventRecord:
    read = text or (e.kind is EventKind.COMMENT and e.actor is Actor.CUSTOMER and e.public)
    extra: dict[str, Any] = {}
    if e.field is not None:
        extra["field"] = e.field
    if e.by is not None:
        extra["by"] = _approval_record(e.by)
    return EventRecord(
        at=e.at,
        kind=e.kind,
        actor=e.actor,
        value=list(e.values) if e.values is not None else e.value,
        category=e.category,
        public=e.public,
        text=e.text if read else None,
        **extra,
    )


_EVENTS = TypeAdapter(list[EventRecord])


def events_to_json(events: Sequence[Event]) -> str:
    """History events in this format (without the status categories, which the policy maps)."""
    records = [_event_record(e, True).model_copy(update={"category": None}) for e in events]
    return _EVENTS.dump_json(records, exclude_defaults=True).decode()


def events_from_json(text: str, platform: str, policy: Policy) -> tuple[Event, ...]:
    """The events `events_to_json` wrote, with the status categories of `policy` today."""
    return tuple(_event(e, platform, policy) for e in _EVENTS.validate_json(text))


def _event(e: EventRecord, platform: str, policy: Policy) -> Event:
    """A history event; a status change is mapped like a ticket status (its category, if
    given, is the fallback)."""
    category = e.category
    value = e.value if not isinstance(e.value, list) else None
    if e.kind is EventKind.STATUS and value:
        category = mapping.status_category(policy, platform, value, e.category)
    values = tuple(e.value) if isinstance(e.value, list) else None
    by = _approval(e.by.model_copy(update={"at": e.at})) if e.by is not None else None
    return Event(e.at, e.kind, e.actor, value, e.public, e.text, category, e.field, values, by=by)


def _locate(text: str, source: str, data: Any) -> Located:
    """Line numbers for error messages: JSON is read as YAML for its marks where it can be."""
    try:
        doc = load_yaml(text, source)
    except ConfigError:
        doc = Located(data, source)
    doc.data = data
    return doc
