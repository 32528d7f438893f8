"""A small ticketing platform in plain Python: the other side of the in-memory adapter, and the
fast fake for runner, executor and service tests.

It keeps what a real platform keeps: tickets with a group, an assignee, a priority (the policy's
neutral names), tags, fields (tracking fields by logical name, the policy's custom fields by
name), comments and a history of who changed what; and a version (`updated`) that moves forward
on every change, however still the clock stands. It refuses what a real one refuses: an update
on a stale version (409, as Zendesk's `safe_update` does), a ticket that is gone (404), a field
it does not have (422). Each call is one request, counted by method.

Faults on demand stand in for the network (`fail`): every page after the first fails, the next
request is rate limited, a write is refused, a write lands and then times out, a person's edit
races ours. With `comments_per_update=1` it takes one comment per update, as Zendesk does, so a
change with a note and a reply takes two updates (and the owed-comment journal is exercised).
Thread-safe: one request at a time, as the emulators answer.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.errors import Conflict, MaybeLanded, NotFound, Rejected, TransientError
from rules.model import Actor, Event, EventKind, StatusCategory
from rules.tracking import TRACKING_FIELDS

Clock = Callable[[], float]
#: What the store's history records a change of, by the record's attribute.
_KINDS = {"status": EventKind.STATUS, "group": EventKind.GROUP, "assignee": EventKind.ASSIGNEE}


@dataclass
class Record:
    id: str
    title: str
    status: str
    priority: str | None
    group: str | None
    created: float
    updated: float
    assignee: str | None = None
    tags: set[str] = field(default_factory=set)
    fields: dict[str, object] = field(default_factory=dict)
    #: Who set each field last (the platform's record of it: an audit, a changelog).
    setters: dict[str, str] = field(default_factory=dict)
    comments: list[tuple[bool, str, Actor]] = field(default_factory=list)  # public, text, who
    events: list[Event] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return StatusCategory(self.status).done


@dataclass
class _Fault:
    kind: str
    ticket: str | None
    times: int
    action: Callable[[], None] | None = None
    skip: int = 0  # matching requests that pass before it strikes


class Store:
    """One in-memory account. `me` is the connector's user; people edit with `edit`."""

    me = "connector"

    def __init__(
        self,
        clock: Clock,
        fields: Iterable[str] = TRACKING_FIELDS,
        *,
        comments_per_update: int | None = None,
    ) -> None:
        self.clock = clock
        self.tickets: dict[str, Record] = {}
        self.fields = set(fields)
        self.comments_per_update = comments_per_update
        self.calls: Counter[str] = Counter()
        self.faults: list[_Fault] = []
        #: Group name -> its members (people, as `edit(by=...)` names them).
        self.groups: dict[str, set[str]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # a person's edit may run inside one of our writes

    # --- what people do ----------------------------------------------------------------------

    def add(
        self,
        title: str = "Printer on fire",
        *,
        status: str = "open",
        priority: str | None = "P3",
        group: str | None = "Support L1",
        tags: Iterable[str] = (),
        fields: Mapping[str, object] | None = None,
    ) -> str:
        with self._lock:
            tid, now = str(next(self._ids)), round(self.clock(), 3)
            record = Record(tid, title, status, priority, group, now, now, tags=set(tags))
            record.fields.update(fields or {})
            self.tickets[tid] = record
            return tid

    def edit(
        self, ticket: str, actor: Actor = Actor.AGENT, *, by: str = "agent", **changes: Any
    ) -> None:
        """A person's edit: `status`, `priority`, `group`, `assignee`, `add_tags`, `fields`;
        `by` names the person (recorded as who set the fields)."""
        with self._lock:
            record = self.tickets[ticket]
            for name in ("status", "priority", "group", "assignee"):
                if name in changes and changes[name] != getattr(record, name):
                    self._record(record, name, changes[name], actor)
                    setattr(record, name, changes[name])
            record.tags |= set(changes.get("add_tags", ()))
            record.fields.update(changes.get("fields", {}))
            record.setters.update(dict.fromkeys(changes.get("fields", {}), by))
            self._touch(record)

    def delete(self, ticket: str) -> None:
        with self._lock:
            del self.tickets[ticket]

    def fail(
        self,
        kind: str,
        *,
        ticket: str | None = None,
        times: int = 1,
        action: Callable[[], None] | None = None,
        skip: int = 0,
    ) -> None:
        """`page_error`, `rate_limited`, `refuse` (a write to `ticket`: 422),
        `timeout_after_landing` (a write to `ticket`), or `before_write` (run `action`, a
        person's edit, just before our next write to `ticket` lands); the first `skip`
        matching requests pass."""
        self.faults.append(_Fault(kind, ticket, times, action, skip))

    # --- the API: one request each ---------------------------------------------------------

    def page(self, cursor: int, size: int) -> tuple[list[Record], int | None]:
        """Open tickets in id order from `cursor`, and the next cursor (None: the last page)."""
        with self._lock:
            self._call("GET", page=cursor > 0)
            open_ = [r for r in self.tickets.values() if not r.done]
            chunk = open_[cursor : cursor + size]
            more = cursor + size < len(open_)
            return [copy.deepcopy(r) for r in chunk], (cursor + size if more else None)

    def get(self, ticket: str) -> Record:
        with self._lock:
            self._call("GET")
            if ticket not in self.tickets:
                raise NotFound(f"GET /tickets/{ticket} answered 404: not found")
            return copy.deepcopy(self.tickets[ticket])

    def update(self, ticket: str, version: float, change: Mapping[str, Any]) -> float:
        """Apply `change` if the ticket is still at `version`; its new version."""
        with self._lock:
            self._call("PUT", ticket=ticket)
            for fault in self._due("before_write", ticket):
                assert fault.action is not None
                fault.action()
            record = self._check(ticket, version, change)
            self._apply(record, change)
            if self._due("timeout_after_landing", ticket):
                raise MaybeLanded(f"PUT /tickets/{ticket}: ReadTimeout after it was sent")
            return record.updated

    # --- inside ----------------------------------------------------------------------------

    def _check(self, ticket: str, version: float, change: Mapping[str, Any]) -> Record:
        """The ticket to update, if the update is one it takes (404, 409, 422 otherwise)."""
        record = self.tickets.get(ticket)
        if record is None:
            raise NotFound(f"PUT /tickets/{ticket} answered 404: not found")
        if record.updated != round(version, 3):
            raise Conflict(f"PUT /tickets/{ticket} answered 409: changed by someone else")
        unknown = sorted(set(change.get("fields", {})) - self.fields)
        most = self.comments_per_update
        if most is not None and len(change.get("comments", ())) > most:
            unknown.append(f"more than {most} comment in one update")
        if unknown or self._due("refuse", ticket):
            raise Rejected(f"PUT /tickets/{ticket} answered 422: refused {unknown}")
        return record

    # --- inside ----------------------------------------------------------------------------

    def _call(self, method: str, *, page: bool = False, ticket: str | None = None) -> None:
        self.calls[method] += 1
        if self._due("rate_limited", None):
            raise TransientError(f"{method} answered 429: rate limited", retry_after=7.0)
        if page and self._due("page_error", None):
            raise TransientError(f"{method} /tickets (page) answered 500")

    def _due(self, kind: str, ticket: str | None) -> list[_Fault]:
        found = [
            f
            for f in self.faults
            if f.kind == kind and f.times > 0 and (f.ticket is None or f.ticket == ticket)
        ]
        for fault in found[:1]:
            if fault.skip:
                fault.skip -= 1
                return []
            fault.times -= 1
        return found[:1]

    def _apply(self, record: Record, change: Mapping[str, Any]) -> None:
        for name in ("priority", "group", "assignee"):
            if name in change:
                self._record(record, name, change[name], Actor.CONNECTOR)
                setattr(record, name, change[name])
        record.tags |= set(change.get("add_tags", ()))
        record.tags -= set(change.get("remove_tags", ()))
        record.fields.update(change.get("fields", {}))
        record.setters.update(dict.fromkeys(change.get("fields", {}), self.me))
        for public, text in change.get("comments", ()):
            record.comments.append((public, text, Actor.CONNECTOR))
            record.events.append(
                Event(
                    _at(self.clock()), EventKind.COMMENT, Actor.CONNECTOR, public=public, text=text
                )
            )
        self._touch(record)

    def _record(self, record: Record, name: str, value: object, actor: Actor) -> None:
        kind = _KINDS.get(name, EventKind.PRIORITY)
        text = None if value is None else str(value)
        category = StatusCategory(str(value)) if name == "status" else None
        record.events.append(Event(_at(self.clock()), kind, actor, value=text, category=category))

    def _touch(self, record: Record) -> None:
        """The version moves forward on every change, even on a clock that stands still."""
        record.updated = round(max(self.clock(), record.updated + 0.001), 3)


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
