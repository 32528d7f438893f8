"""The values the write protocol (`adapters.writer`) passes around: what one write request did
(typed: the protocol decides on these, never on strings or on attributes patched onto
exceptions), a ticket as just read (`Fresh`), and a change as the platform's requests (`Draft`).

    Sent        it went in (`stamp`: the ticket's version after it, where the platform says)
    Conflicted  someone changed the ticket since it was read (a 409): re-read, re-evaluate
    Uncertain   it may have gone in (a timeout after sending, a 5xx): re-read before anything
    Gone        the ticket no longer exists (404)
    Failed      refused, or failed before it was sent: it did not go in

`classify` runs one send and maps what it raised; AuthError and SetupError are not outcomes of
one write (every write would fail the same way): they propagate and stop the instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    MaybeLanded,
    NotFound,
    SetupError,
)
from rules.model import Ticket
from rules.plan import TicketChange

B = TypeVar("B")


@dataclass(frozen=True, slots=True)
class Sent:
    stamp: str | None = None


@dataclass(frozen=True, slots=True)
class _Not:
    """A request that did not (or may not have) gone in, and the error that says so."""

    error: AdapterError


class Conflicted(_Not):
    __slots__ = ()


class Uncertain(_Not):
    __slots__ = ()


class Gone(_Not):
    __slots__ = ()


class Failed(_Not):
    __slots__ = ()


Outcome = Sent | Conflicted | Uncertain | Gone | Failed


def classify(send: Callable[[], str | None]) -> Outcome:
    """Run one send (returning the ticket's new version stamp, if known) and say what it did."""
    try:
        return Sent(send())
    except (AuthError, SetupError):
        raise
    except NotFound as exc:
        return Gone(exc)
    except Conflict as exc:
        return Conflicted(exc)
    except MaybeLanded as exc:
        return Uncertain(exc)
    except AdapterError as exc:
        return Failed(exc)


@dataclass(frozen=True, slots=True)
class Fresh:
    """A ticket as just read: the platform's JSON, the neutral ticket, and its version stamp
    for a compare-and-set write (Zendesk's `updated_at`; None where the platform has none)."""

    raw: Mapping[str, Any]
    ticket: Ticket
    stamp: str | None = None


@dataclass(frozen=True, slots=True)
class Draft(Generic[B]):
    """One change as the platform's requests: `body` (the backend's own form), and `second`,
    the body of a second comment request where the change takes two (its text in
    `second_text`, to recognise it once it landed)."""

    change: TicketChange
    body: B
    second: dict[str, Any] | None = None
    second_text: str = ""
    #: The version the write is sent on (compare-and-set), where the platform has one.
    stamp: str | None = None
    #: The ticket as read just before, where the draft was made from a read.
    basis: Fresh | None = None
