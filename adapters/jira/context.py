"""Who is who, and what a Jira status or priority is to the policy: what mapping an issue needs
besides the issue itself (`Context`), and the small parsers every part of the mapping uses.

Who did what (`Actor`), as far as Jira's data allows:
- our own account (GET /myself) -> CONNECTOR, so our writes never reset clocks;
- app and automation accounts (accountType "app") and changes without an author -> SYSTEM;
- JSM portal customers (accountType "customer") and the issue's reporter -> CUSTOMER. This is
  approximate: an agent who reported an issue counts as its customer, and on Data Center
  (no accountType) only the reporter is a customer;
- everyone else -> AGENT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from adapters.jira.fields import Field
from rules.mapping import Priorities, status_category
from rules.model import (
    AGENT,
    CONNECTOR,
    CUSTOMER,
    SYSTEM,
    Actor,
    Approval,
    EventKind,
    Person,
    StatusCategory,
)
from rules.policy import Policy
from rules.tracking import parse_time as parse_instant

PLATFORM = "jira"
#: Jira's status category keys as hints for statuses the policy does not map.
CATEGORY_HINTS = {
    "new": StatusCategory.NEW,
    "indeterminate": StatusCategory.OPEN,
    "done": StatusCategory.SOLVED,
}
#: The changelog's fields (besides the policy's group field) whose changes are history events.
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
    return _uid(user)


def _uid(user: dict[str, Any]) -> str | None:
    uid = user.get("accountId") or user.get("name") or user.get("key")
    return str(uid) if uid else None


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
        if not isinstance(user, dict) or (uid := _uid(user)) is None:
            return SYSTEM
        if self.myself is not None and uid == self.myself:
            return CONNECTOR
        kind = user.get("accountType")
        if kind == "app":
            return SYSTEM
        if kind == "customer" or uid == reporter:
            return CUSTOMER
        return AGENT


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
    #: The requesters met, one `Person` each (a sweep meets each customer many times).
    _persons: dict[tuple[str, object, object], Person] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def history_kinds(self) -> dict[str, EventKind]:
        """Changelog field id (or name) -> the kind of event its changes make."""
        group = {} if self.group is None else dict.fromkeys(self.group_ids, EventKind.GROUP)
        return HISTORY_FIELDS | group

    @property
    def group_ids(self) -> tuple[str, ...]:
        """How the changelog names the group field: its id, or its name."""
        return () if self.group is None else (self.group.id, self.group.name)

    def person(self, user: object) -> Person | None:
        """The requester a reporter (a user's JSON) is."""
        if not isinstance(user, dict) or (uid := _uid(user)) is None:
            return None
        name, email = user.get("displayName"), user.get("emailAddress")
        key = (uid, name, email)
        try:
            found = self._persons.get(key)
        except TypeError:  # not JSON's strings: not kept
            return Person(id=uid, name=name, email=str(email) if email else None)
        if found is None:
            found = Person(id=uid, name=name, email=str(email) if email else None)
            self._persons[key] = found
        return found

    def category(self, name: str, key: str | None) -> StatusCategory:
        found = self._categories.get((name, key))
        if found is None:
            hint = CATEGORY_HINTS.get(key or "")
            found = self._categories[name, key] = status_category(self.policy, PLATFORM, name, hint)
        return found

    @cached_property
    def priority(self) -> Priorities:
        """A platform priority's (neutral name, rank): `rules.mapping.priority`, remembered."""
        return Priorities(self.policy, PLATFORM)
