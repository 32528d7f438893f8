"""Derive a ticket's summary figures and status timeline from its history events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from rules.frozen import fast_init
from rules.model import (
    AGENT,
    COMMENT,
    CONNECTOR,
    CUSTOMER,
    STATUS,
    SYSTEM,
    Actor,
    Event,
    EventKind,
    StatusCategory,
    Ticket,
)


@fast_init
@dataclass(frozen=True, slots=True)
class Summary:
    """What the engine needs from a history, computed once by the adapter or the file reader."""

    first_response_at: datetime | None
    last_agent_reply_at: datetime | None
    awaiting_reply_since: datetime | None
    customer_replies: int
    reopens: int
    last_customer_comment: str | None
    last_activity_at: datetime | None
    status_since: datetime | None


def summarise(events: Sequence[Event]) -> Summary:
    """Fold history events (any order) into the summary figures.

    The first public comment, when the customer wrote it, is the ticket's description: it is
    answered by the first response, so it neither counts as a reply nor starts next_response.
    """
    return _summarise(sorted(events, key=_at))


_at: Callable[[Event], datetime] = attrgetter("at")
_DONE = frozenset({StatusCategory.SOLVED, StatusCategory.CLOSED})
_ACKNOWLEDGING = (EventKind.ASSIGNEE, EventKind.STATUS, EventKind.COMMENT)


def _summarise(ordered: Sequence[Event]) -> Summary:
    """`summarise` of events already in time order (ties in the order given)."""
    first_response = last_agent = awaiting = last_activity = status_since = None
    replies = reopens = 0
    last_customer_text: str | None = None
    was_done = seen_comment = False
    for event in ordered:
        actor, kind = event.actor, event.kind
        if actor is not CONNECTOR and actor is not SYSTEM:
            last_activity = event.at
        if kind is STATUS:
            status_since = event.at
            done = event.category in _DONE
            if was_done and not done:
                reopens += 1
            was_done = done
            continue
        if kind is not COMMENT or not event.public:
            continue
        if actor is AGENT:
            first_response = first_response or event.at
            last_agent = event.at
            replies, awaiting = 0, None
        elif actor is CUSTOMER:
            last_customer_text = event.text
            if seen_comment:  # else the ticket's description, answered by the first response
                replies += 1
                awaiting = awaiting or event.at
        seen_comment = True
    return Summary(  # in the order of its fields (positional: a sweep makes one a ticket)
        first_response,
        last_agent,
        awaiting,
        replies,
        reopens,
        last_customer_text,
        last_activity,
        status_since,
    )


def status_timeline(ticket: Ticket) -> list[tuple[float, str, StatusCategory]]:
    """(start timestamp, raw status, category) spans from creation to now.

    Without history the ticket is assumed open from creation until `status_since` and in its
    current status after that: an approximation, documented in docs/policy.md.
    """
    created = ticket.created_at.timestamp()
    if ticket.history is not None:
        spans = [(created, "new", StatusCategory.NEW)]
        for event in sorted(ticket.history, key=_at):
            if event.kind is STATUS and event.category is not None:
                spans.append((event.at.timestamp(), event.value or "", event.category))
        if spans[-1][2] is not ticket.status_category or len(spans) == 1:
            since = ticket.status_since.timestamp() if ticket.status_since else spans[-1][0]
            spans.append((max(since, spans[-1][0]), ticket.status, ticket.status_category))
        return spans
    since = ticket.status_since.timestamp() if ticket.status_since else created
    if since <= created:
        return [(created, ticket.status, ticket.status_category)]
    return [(created, "open", StatusCategory.OPEN), (since, ticket.status, ticket.status_category)]


def acknowledged_since(ticket: Ticket, since: datetime) -> bool:
    """True if a human changed the assignee or status, or an agent replied, after `since`."""
    if ticket.history is not None:
        return any(
            e.at > since and e.actor is AGENT and e.kind in _ACKNOWLEDGING for e in ticket.history
        )
    marks = (ticket.last_ack_at, ticket.last_agent_reply_at)
    return any(m is not None and m > since for m in marks)


def with_history(ticket: Ticket, events: Sequence[Event]) -> Ticket:
    """`ticket` carrying `events` and the summary figures derived from them; a status time the
    events do not show keeps the platform's own figure."""
    return replace(ticket, **history_fields(events, ticket.status_since))


def history_fields(events: Sequence[Event], status_since: datetime | None) -> dict[str, Any]:
    """The `Ticket` fields `with_history` sets, for an adapter that builds the ticket with its
    history at once (one construction, not two)."""
    ordered = tuple(sorted(events, key=_at))  # sorted once, for both
    s = _summarise(ordered)
    return {
        "history": ordered,
        "status_since": s.status_since or status_since,
        "first_response_at": s.first_response_at,
        "last_agent_reply_at": s.last_agent_reply_at,
        "awaiting_reply_since": s.awaiting_reply_since,
        "customer_replies": s.customer_replies,
        "reopens": s.reopens,
        "last_customer_comment": s.last_customer_comment,
        "last_activity_at": s.last_activity_at,
    }


def without_unread_text(events: Sequence[Event]) -> list[Event]:
    """`events` with the comment text the engine never reads removed: it reads only the last
    public customer comment (`summarise`), so that one keeps its text and the rest lose theirs.
    The summary of the result equals the summary of `events`; a history kept on disk holds no
    more of the conversation than that."""
    ordered = sorted(events, key=lambda e: e.at)
    keep = next(
        (
            i
            for i in range(len(ordered) - 1, -1, -1)
            if ordered[i].kind is EventKind.COMMENT
            and ordered[i].actor is Actor.CUSTOMER
            and ordered[i].public
        ),
        None,
    )
    return [
        e if i == keep or e.text is None else replace(e, text=None) for i, e in enumerate(ordered)
    ]
