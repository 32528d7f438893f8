"""What evaluation produces: one `TicketChange` per ticket, with its reasons, as plain values.

`TicketChange.to_json()` is the per-ticket record of the documented plan format (docs/policy.md,
"Plan JSON"); adapters read the typed attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rules.frozen import fast_init
from rules.markup import Rendered
from rules.notices import Notice
from rules.tracking import format_time, parse_time


@fast_init  # a sweep builds these per diff, change and ticket: rules.frozen, the same __init__
@dataclass(frozen=True, slots=True)
class Diff:
    old: object
    new: object


@fast_init
@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    text: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.text}" if self.rule else self.text


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TicketChange:
    """Everything one run writes to one ticket, merged from every rule that fired."""

    instance: str
    ticket: str
    platform: str
    url: str
    ticket_updated_at: datetime
    level_from: str
    level_to: str
    group: Diff | None = None
    assignee: Diff | None = None
    priority: Diff | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    fields: dict[str, Diff] = field(default_factory=dict)
    tracking: dict[str, Diff] = field(default_factory=dict)
    internal_note: Rendered | None = None
    public_reply: Rendered | None = None
    notify: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    rules: tuple[str, ...] = ()
    #: The ticket's tags as read when the change was planned (None: not known, e.g. a plan
    #: saved by an earlier version): a platform that can only set the whole tag list (Zendesk's
    #: single update) writes these plus `add_tags` minus `remove_tags`.
    tags_read: frozenset[str] | None = field(default=None, compare=False)
    #: The ticket as evaluated, before the change (rules.profile): what reports group by.
    about: dict[str, Any] | None = field(default=None, compare=False)
    #: Notices to channels (rules.notices), sent by the connector once the change is written.
    notices: tuple[Notice, ...] = ()

    def actions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.level_from != self.level_to:
            out.append({"type": "set_level", "from": self.level_from, "to": self.level_to})
        for name in ("group", "assignee", "priority"):
            diff = getattr(self, name)
            if diff is not None:
                out.append({"type": f"set_{name}", "from": diff.old, "to": diff.new})
        if self.add_tags:
            out.append({"type": "add_tags", "tags": list(self.add_tags)})
        if self.remove_tags:
            out.append({"type": "remove_tags", "tags": list(self.remove_tags)})
        for name, diff in sorted(self.fields.items()):
            out.append({"type": "set_field", "field": name, "from": diff.old, "to": diff.new})
        for name, diff in self.tracking.items():
            out.append({"type": "set_tracking", "field": name, "from": diff.old, "to": diff.new})
        if self.internal_note is not None:
            out.append(
                {
                    "type": "internal_note",
                    "body": self.internal_note.plain(),
                    "notify": list(self.notify),
                    "parts": self.internal_note.to_json(),
                }
            )
        if self.public_reply is not None:
            out.append(
                {
                    "type": "public_reply",
                    "body": self.public_reply.plain(),
                    "parts": self.public_reply.to_json(),
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "platform": self.platform,
            "ticket": self.ticket,
            "url": self.url,
            "level": {"from": self.level_from, "to": self.level_to},
            "actions": self.actions(),
            "reasons": [str(r) for r in self.reasons],
            "rules": list(self.rules),
            "ticket_updated_at": format_instant(self.ticket_updated_at),
            "tags_read": None if self.tags_read is None else sorted(self.tags_read),
            "about": self.about,
            "notices": [n.to_json() for n in self.notices],
        }


def format_instant(value: datetime) -> str:
    """ISO 8601 UTC with `Z`, keeping milliseconds where the platform gave them (Jira), so a
    saved plan can tell the ticket it read from one edited a moment later."""
    utc = value.astimezone(UTC)
    if not utc.microsecond:
        return format_time(utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_json(data: dict[str, Any]) -> TicketChange:
    """The change a `to_json()` record describes (a saved plan); KeyError/ValueError/TypeError
    on a malformed record, for the caller to report with the record's place."""
    kw: dict[str, Any] = {"fields": {}, "tracking": {}}
    for action in data["actions"]:
        kind = action["type"]
        if kind in ("set_group", "set_assignee", "set_priority"):
            kw[kind.removeprefix("set_")] = Diff(action["from"], action["to"])
        elif kind in ("add_tags", "remove_tags"):
            kw[kind] = tuple(str(t) for t in action["tags"])
        elif kind in ("set_field", "set_tracking"):
            bucket = "fields" if kind == "set_field" else "tracking"
            kw[bucket][str(action["field"])] = Diff(action["from"], action["to"])
        elif kind in ("internal_note", "public_reply"):
            kw[kind] = Rendered.from_json(action["parts"])
            if kind == "internal_note":
                kw["notify"] = tuple(str(n) for n in action.get("notify") or ())
        elif kind != "set_level":
            raise ValueError(f"unknown action type {kind!r}")
    updated = parse_time(data["ticket_updated_at"])
    if updated is None:
        raise ValueError(f"ticket_updated_at is not a time: {data['ticket_updated_at']!r}")
    rules = tuple(str(r) for r in data.get("rules") or ())
    read = data.get("tags_read")
    return TicketChange(
        instance=str(data["instance"]),
        ticket=str(data["ticket"]),
        platform=str(data["platform"]),
        url=str(data["url"]),
        ticket_updated_at=updated,
        level_from=str(data["level"]["from"]),
        level_to=str(data["level"]["to"]),
        reasons=tuple(_reason(str(r), rules) for r in data.get("reasons") or ()),
        rules=rules,
        about=data.get("about") if isinstance(data.get("about"), dict) else None,
        tags_read=frozenset(str(t) for t in read) if isinstance(read, list) else None,
        notices=tuple(Notice.from_json(n) for n in data.get("notices") or ()),
        **kw,
    )


def _reason(text: str, rules: tuple[str, ...]) -> Reason:
    rule, sep, rest = text.partition(": ")
    return Reason(rule, rest) if sep and rule in rules else Reason("", text)


def _chain(first: Diff | None, second: Diff | None) -> Diff | None:
    if first is None or second is None:
        return first or second
    return None if first.old == second.new else Diff(first.old, second.new)


def _chain_all(first: dict[str, Diff], second: dict[str, Diff]) -> dict[str, Diff]:
    out = dict(first)
    for name, diff in second.items():
        chained = _chain(out.get(name), diff)
        if chained is None:
            out.pop(name, None)
        else:
            out[name] = chained
    return out


def combine(first: TicketChange, second: TicketChange) -> TicketChange:
    """One change equal to applying `first` then `second` (a ticket's cascade within one run)."""
    note = first.internal_note
    if second.internal_note is not None:
        note = (
            second.internal_note
            if note is None
            else note + Rendered.literal("\n\n") + (second.internal_note)
        )
    added = dict.fromkeys((*first.add_tags, *second.add_tags))
    removed = dict.fromkeys(t for t in (*first.remove_tags, *second.remove_tags) if t not in added)
    return TicketChange(
        instance=first.instance,
        ticket=first.ticket,
        platform=first.platform,
        url=first.url,
        ticket_updated_at=first.ticket_updated_at,
        level_from=first.level_from,
        level_to=second.level_to,
        group=_chain(first.group, second.group),
        assignee=_chain(first.assignee, second.assignee),
        priority=_chain(first.priority, second.priority),
        add_tags=tuple(added),
        remove_tags=tuple(removed),
        fields=_chain_all(first.fields, second.fields),
        tracking=_chain_all(first.tracking, second.tracking),
        internal_note=note,
        public_reply=second.public_reply or first.public_reply,
        notify=tuple(dict.fromkeys((*first.notify, *second.notify))),
        reasons=first.reasons + second.reasons,
        rules=first.rules + second.rules,
        tags_read=first.tags_read,
        about=first.about,
        notices=_join_notices(first.notices, second.notices),
    )


def _join_notices(first: tuple[Notice, ...], second: tuple[Notice, ...]) -> tuple[Notice, ...]:
    """A cascade's notices, each (key, channel) once."""
    seen: dict[tuple[str, str], Notice] = {}
    for n in (*first, *second):
        seen.setdefault((n.key, n.channel), n)
    return tuple(seen.values())


def with_tracking(change: TicketChange, name: str, diff: Diff | None) -> TicketChange:
    tracking = {k: v for k, v in change.tracking.items() if k != name}
    if diff is not None:
        tracking[name] = diff
    return replace(change, tracking=tracking)


@fast_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of evaluating one ticket: a change, or None, and which rules fired."""

    ticket: str
    instance: str
    change: TicketChange | None
    fired: tuple[str, ...] = ()
    skipped: str | None = None
    #: When evaluating the unchanged ticket could next give something else (`rules.due`;
    #: None: only an update can, or not computed).
    next_at: datetime | None = None


@dataclass
class Summary:
    """Counters over a stream of outcomes (the plan's `summary`)."""

    evaluated: int = 0
    matched: int = 0
    changed: int = 0
    skipped: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    by_rule: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.evaluated += 1
        self.skipped += outcome.skipped is not None
        self.matched += bool(outcome.fired)
        change = outcome.change
        if change is None:
            return
        self.changed += 1
        if change.level_to != change.level_from:
            self.by_level[change.level_to] = self.by_level.get(change.level_to, 0) + 1
        for rule in change.rules:
            self.by_rule[rule] = self.by_rule.get(rule, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "matched": self.matched,
            "changed": self.changed,
            "skipped": self.skipped,
            "escalations_by_level": dict(sorted(self.by_level.items())),
            "changes_by_rule": dict(sorted(self.by_rule.items())),
        }
