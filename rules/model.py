"""The neutral ticket model that both platforms map into.

Every datetime here is tz-aware UTC. A `Ticket` carries no platform objects, only plain values,
so the engine can be tested and replayed from JSON alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from rules.frozen import fast_init
from rules.tracking import Tracking


class StatusCategory(StrEnum):
    """The normalised status every platform status maps to."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def done(self) -> bool:
        return self in (StatusCategory.SOLVED, StatusCategory.CLOSED)


class Actor(StrEnum):
    """Who caused a history event: `connector` marks our own writes, which never reset clocks."""

    AGENT = "agent"
    CUSTOMER = "customer"
    CONNECTOR = "connector"
    SYSTEM = "system"


class EventKind(StrEnum):
    STATUS = "status"
    ASSIGNEE = "assignee"
    GROUP = "group"
    PRIORITY = "priority"
    COMMENT = "comment"
    FIELD = "field"


# The members hot loops compare with, as module names: `Actor.AGENT` is looked up on the enum's
# class each time, about four times the cost of a global in Python 3.11 (`from rules.model
# import AGENT` binds a global), and a sweep does it several times per event.
AGENT, CUSTOMER, CONNECTOR, SYSTEM = Actor.AGENT, Actor.CUSTOMER, Actor.CONNECTOR, Actor.SYSTEM
STATUS, COMMENT = EventKind.STATUS, EventKind.COMMENT


@fast_init
@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a ticket's history: a field change or a comment.

    A `field` event names its field (`FIELD_NAMES`, or `custom.<name>` for a custom field of
    the policy) and gives the value it set: `value`, or `values` for a list (tags,
    components, a multi-select). An approval (`tracking.approved_by`) says who set it in `by`,
    as the platform recorded it."""

    at: datetime
    kind: EventKind
    actor: Actor
    value: str | None = None
    public: bool = True
    text: str | None = None
    category: StatusCategory | None = None
    field: str | None = None
    values: tuple[str, ...] | None = None
    by: Approval | None = None


#: The fields a `field` event may name besides `custom.<name>`: the ticket's tags (Jira
#: labels) and components, and the two tracking fields agents set (an escalation request,
#: an approval).
FIELD_NAMES = ("tags", "components", "tracking.request", "tracking.approved_by")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str | None = None
    email: str | None = None

    @property
    def domain(self) -> str | None:
        if self.email and "@" in self.email:
            return self.email.rsplit("@", 1)[1].lower()
        return None


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Approval:
    """Who set the approval field (`approved_by`), as the platform's own record says: the
    author of the Zendesk audit or Jira changelog entry that put its current value there. The
    adapter looks it up only when the field is not empty. `by` is empty when no record names
    anyone (the value was there before any record, or set by the system): never an approval.

    `names`: every way an approver list may name that person (user id, account id, username,
    display name, e-mail), lower-cased. `groups`: the policy's approver groups they are a
    member of, lower-cased, as the platform lists the members."""

    by: str
    names: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    at: datetime | None = None


_EMPTY: Mapping[str, object] = MappingProxyType({})


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    """A Zendesk ticket or a Jira issue, as the engine sees it.

    `history` is None when the adapter did not fetch it; the summary fields (`reopens`,
    `customer_replies`, `first_response_at`, ...) are then the platform's own figures, or the
    values `rules.history.summarise` derived from `history` when it was fetched.
    """

    id: str
    instance: str
    platform: str
    url: str = ""
    title: str = ""
    status: str
    status_category: StatusCategory
    priority: str | None = None
    priority_rank: int | None = None
    priority_raw: str | None = None
    type: str | None = None
    group: str | None = None
    assignee: str | None = None
    requester: Person | None = None
    organization: Organization | None = None
    tags: frozenset[str] = frozenset()
    components: tuple[str, ...] = ()
    custom: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    created_at: datetime
    updated_at: datetime
    status_since: datetime | None = None
    first_response_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    awaiting_reply_since: datetime | None = None
    customer_replies: int = 0
    reopens: int = 0
    last_customer_comment: str | None = None
    last_activity_at: datetime | None = None
    last_ack_at: datetime | None = None
    history: tuple[Event, ...] | None = None
    tracking: Tracking = field(default_factory=Tracking)
    #: Who set the approval field, when it is set and the adapter looked (None: not looked up).
    approval: Approval | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.updated_at.tzinfo is None:
            name = "created_at" if self.created_at.tzinfo is None else "updated_at"
            raise ValueError(f"ticket {self.id}: {name} must be timezone-aware")


def utc(value: datetime) -> datetime:
    """Return `value` in UTC; naive datetimes are refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} (add a UTC offset such as Z)")
    return value.astimezone(UTC)
