"""Escalation-tracking fields (DESIGN.md section 5) and the compact `state` record.

The `state` field holds what already fired, so evaluation is idempotent from the ticket alone.
It must fit a 255-character single-line text field (Jira's limit), so it is terse:

    v1 c=<cycle> w=<written> h=<activity> a=<awaiting level> q=<asked at> k=<asking rule key>
       m=<reminded at> t=<timeout noted> r=<reopens seen> s=<solved seen>
       f=<key>:<count>:<last>,...

Times are whole minutes since the Unix epoch in base 36. A key is the first 6 hex digits of
sha1(rule name), plus `@<level>` when the rule repeats per level. Unknown or garbled text parses
to an empty state with `corrupt=True`, so a hand-edited field degrades instead of crashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache

from rules.frozen import fast_init

STATE_LIMIT = 255
TRACKING_FIELDS = (
    "level",
    "escalated_at",
    "rule",
    "count",
    "sla_due",
    "state",
    "request",
    "approved_by",
    "outcome",
)


def rule_key(rule_name: str, level: str | None = None) -> str:
    """The short, stable key a rule's firing is recorded under."""
    digest = hashlib.sha1(rule_name.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
    return f"{digest}@{level}" if level else digest


@lru_cache(maxsize=256)  # a sweep writes the same minute (its own) into every change
def _b36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if value <= 0:
        return "0"
    out = []
    while value:
        value, rem = divmod(value, 36)
        out.append(digits[rem])
    return "".join(reversed(out))


def _to_minutes(at: datetime) -> str:
    return _b36(int(at.timestamp() // 60))


@lru_cache(maxsize=4096)  # the runs' minutes: many tickets were written in the same one
def _from_minutes(text: str) -> datetime:
    return datetime.fromtimestamp(int(text, 36) * 60, tz=UTC)


@fast_init
@dataclass(frozen=True, slots=True)
class Fired:
    """A rule's firing record: how often and when last, in the current cycle."""

    key: str
    count: int
    last: datetime


def fired_after(fired: tuple[Fired, ...], key: str, at: datetime) -> tuple[Fired, ...]:
    """The firing records once `key` fires (again) at `at`: counted, and moved to the end."""
    old = next((f for f in fired if f.key == key), None)
    entry = Fired(key, (old.count if old else 0) + 1, at)
    return (*(f for f in fired if f.key != key), entry)


@fast_init
@dataclass(frozen=True, slots=True)
class State:
    cycle: int = 0
    written_at: datetime | None = None
    activity_at: datetime | None = None
    awaiting: str | None = None
    #: When the pending approval was asked for, by which rule (its key), when last reminded,
    #: and whether its timeout was noted (rules.approval).
    asked_at: datetime | None = None
    asked_by: str | None = None
    reminded_at: datetime | None = None
    timeout_noted: bool = False
    reopens_seen: int = 0
    solved_seen: bool = False
    fired: tuple[Fired, ...] = ()
    corrupt: bool = False
    text: str | None = None  # what an unreadable field held, shown as the old value in plans

    def fired_for(self, key: str) -> Fired | None:
        for item in self.fired:
            if item.key == key:
                return item
        return None

    def with_fired(self, key: str, at: datetime) -> State:
        return replace(self, fired=fired_after(self.fired, key, at))

    def encode(self) -> str:
        """Serialise; the oldest firing records are dropped if the text would exceed the limit."""
        head = [f"v1 c={self.cycle}"]
        if self.written_at:
            head.append(f"w={_to_minutes(self.written_at)}")
        if self.activity_at:
            head.append(f"h={_to_minutes(self.activity_at)}")
        if self.awaiting:
            head.append(f"a={self.awaiting}")
            head += self._asked()
        if self.reopens_seen:
            head.append(f"r={self.reopens_seen}")
        if self.solved_seen:
            head.append("s=1")
        fired = sorted(self.fired, key=lambda f: f.last)
        while True:
            parts = [f"{f.key}:{f.count}:{_to_minutes(f.last)}" for f in fired]
            text = " ".join(head + ([f"f={','.join(parts)}"] if parts else []))
            if len(text) <= STATE_LIMIT or not fired:
                return text
            fired = fired[1:]

    def _asked(self) -> list[str]:
        out = [f"q={_to_minutes(self.asked_at)}"] if self.asked_at else []
        out += [f"k={self.asked_by}"] if self.asked_by else []
        out += [f"m={_to_minutes(self.reminded_at)}"] if self.reminded_at else []
        return out + (["t=1"] if self.timeout_noted else [])

    def without_request(self) -> State:
        """No approval pending any more."""
        asked = self.awaiting, self.asked_at, self.asked_by, self.reminded_at, self.timeout_noted
        if asked == (None, None, None, None, False):
            return self  # none was: the same state
        return replace(
            self,
            awaiting=None,
            asked_at=None,
            asked_by=None,
            reminded_at=None,
            timeout_noted=False,
        )

    @classmethod
    def parse(cls, text: str | None) -> State:
        if not text or not text.strip():
            return cls()
        try:
            return cls._parse(text.strip())
        except (ValueError, IndexError):
            return cls(corrupt=True, text=text)

    @classmethod
    def _parse(cls, text: str) -> State:
        words = text.split()
        if words[0] != "v1":
            raise ValueError(text)
        values = dict(word.split("=", 1) for word in words[1:])
        fired: list[Fired] = []
        for item in filter(None, values.get("f", "").split(",")):
            key, count, last = item.split(":")
            fired.append(Fired(key, int(count), _from_minutes(last)))
        return cls(
            cycle=int(values.get("c", "0")),
            written_at=_from_minutes(values["w"]) if "w" in values else None,
            activity_at=_from_minutes(values["h"]) if "h" in values else None,
            awaiting=values.get("a") or None,
            asked_at=_from_minutes(values["q"]) if "q" in values else None,
            asked_by=values.get("k") or None,
            reminded_at=_from_minutes(values["m"]) if "m" in values else None,
            timeout_noted=values.get("t") == "1",
            reopens_seen=int(values.get("r", "0")),
            solved_seen=values.get("s") == "1",
            fired=tuple(fired),
        )


@fast_init
@dataclass(frozen=True, slots=True)
class Tracking:
    """The parsed escalation-tracking fields of one ticket."""

    level: str | None = None
    escalated_at: datetime | None = None
    rule: str | None = None
    count: int = 0
    sla_due: datetime | None = None
    state: State = field(default_factory=State)
    request: str | None = None
    approved_by: str | None = None
    outcome: str | None = None

    def to_raw(self) -> dict[str, str | None]:
        """The field values as written to the platform (the inverse of `parse`)."""
        return {
            "level": self.level,
            "escalated_at": format_time(self.escalated_at) if self.escalated_at else None,
            "rule": self.rule,
            "count": str(self.count),
            "sla_due": format_time(self.sla_due) if self.sla_due else None,
            "state": self.state.text
            if self.state.corrupt
            else (self.state.encode() if self.state != State() else None),
            "request": self.request,
            "approved_by": self.approved_by,
            "outcome": self.outcome,
        }

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Tracking:
        """Build from raw field values (strings, numbers or None) keyed by logical name."""

        def text(name: str) -> str | None:
            value = raw.get(name)
            if value is None:
                return None
            out = str(value).strip()
            return out or None

        return cls(
            level=text("level"),
            escalated_at=parse_time(text("escalated_at")),
            rule=text("rule"),
            count=_int(text("count")),
            sla_due=parse_time(text("sla_due")),
            state=State.parse(text("state")),
            request=text("request"),
            approved_by=text("approved_by"),
            outcome=text("outcome"),
        )


def _int(text: str | None) -> int:
    try:
        return int(float(text)) if text else 0
    except ValueError:
        return 0


def parse_time(text: str | None) -> datetime | None:
    """Parse an ISO 8601 instant; a missing offset means UTC, garbage means None."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@lru_cache(maxsize=1024)  # a run formats its own instant in every change, and the same
def format_time(value: datetime) -> str:  # times again for each diff and template
    """The form written to `escalated_at` and `sla_due`: ISO 8601 UTC to the second, with Z."""
    v = value.astimezone(UTC)
    if v.year < 1000:  # strftime's %Y does not pad: what it always wrote
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The same text at a third of strftime's cost (a sweep formats every change's times).
    parts = (v.year, v.month, v.day, v.hour, v.minute, v.second)
    return "%d-%02d-%02dT%02d:%02d:%02dZ" % parts  # noqa: UP031 (faster than an f-string)
