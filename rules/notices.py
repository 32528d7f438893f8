"""Notice intents: which channels a change tells, about what, and when (no sending here).

A `notify` entry that names a channel of `notify.channels` is a notice to that channel; any
other entry is a person mentioned in the internal note, as before. A change carries one
`Notice` per (level entered or rule fired, channel), each with a key that is the same however
often the change is evaluated, so the connector records it once (`notify.outbox`):

    level:<level>#<cycle>.<escalation count>      the entered level's channels
    rule:<rule>#<cycle>.<firing count>            a rule's channels (a repeat is a new notice)

Its `due` instant is the change's `now`, or, when the channel names a calendar and `now` is
outside its hours, the next working minute of that calendar, unless the ticket's priority or
the level is in the channel's `bypass_hours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.channels import ChannelModel
from rules.clock import Calendar
from rules.markup import Rendered
from rules.policy import Policy, Rule
from rules.tracking import format_time, parse_time


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice a change owes a channel."""

    channel: str
    key: str
    level: str
    rule: str
    due: datetime
    deferred: bool
    title: Rendered
    body: Rendered
    priority: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "key": self.key,
            "level": self.level,
            "rule": self.rule,
            "due": format_time(self.due),
            "deferred": self.deferred,
            "priority": self.priority,
            "title": self.title.to_json(),
            "body": self.body.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        due = parse_time(str(data["due"]))
        if due is None:
            raise ValueError(f"a notice's due is not a time: {data['due']!r}")
        return cls(
            channel=str(data["channel"]),
            key=str(data["key"]),
            level=str(data["level"]),
            rule=str(data.get("rule") or ""),
            due=due,
            deferred=bool(data.get("deferred")),
            title=Rendered.from_json(data["title"]),
            body=Rendered.from_json(data["body"]),
            priority=None if data.get("priority") is None else str(data["priority"]),
        )


def channels_in(policy: Policy, names: tuple[str, ...] | list[str]) -> list[str]:
    """The entries of a notify list that are channels, in order."""
    return [n for n in names if n in policy.channels]


def people_in(policy: Policy, names: tuple[str, ...] | list[str]) -> list[str]:
    """The entries of a notify list that are people (mentioned in the note)."""
    return [n for n in names if n not in policy.channels]


def next_working(calendar: Calendar, now: datetime) -> datetime:
    """`now` if it is working time, else the first working minute after it."""
    if calendar.is_working(now):
        return now
    later = calendar.add(now, 60.0)
    return now if later is None else (later - timedelta(seconds=60)).astimezone(UTC)


def due_at(
    policy: Policy, channel: ChannelModel, now: datetime, priority: str | None, level: str
) -> datetime:
    """When a notice to `channel` may go out (see the module docstring)."""
    if channel.calendar is None or priority in channel.bypass_hours:
        return now
    if level in channel.bypass_hours:
        return now
    return next_working(policy.calendars[channel.calendar], now)


@dataclass(frozen=True, slots=True)
class Occasion:
    """What a change tells: the ticket, where it goes, why (filled by rules.merge)."""

    ticket_id: str
    title: str
    url: str
    priority: str | None
    level_from: str
    level_to: str
    reasons: tuple[str, ...]
    now: datetime
    awaiting: str | None = None  # the level an approval is asked for (the approvers' notice)


def default_text(o: Occasion) -> tuple[Rendered, Rendered]:
    """The title and body of a notice without a template of its own."""
    d = _data
    moved = o.level_from != o.level_to
    head = Rendered.literal("Ticket ") + d(o.ticket_id)
    if o.awaiting is not None:
        head += Rendered.literal(" awaits approval for ") + d(o.awaiting)
    elif moved:
        head += Rendered.literal(" escalated to ") + d(o.level_to)
    else:
        head += Rendered.literal(" at ") + d(o.level_to)
    title = head + Rendered.literal(": ") + d(o.title)
    body = title + Rendered.literal("\nPriority: ") + d(o.priority or "none")
    if moved:
        body += Rendered.literal("\nFrom: ") + d(o.level_from)
    if o.reasons:
        body += Rendered.literal("\nWhy: ") + d("; ".join(o.reasons))
    body += Rendered.literal("\nTicket: ") + d(o.url)
    return title, body


def _data(text: str) -> Rendered:
    return Rendered(((True, text),))


def make_notice(
    policy: Policy,
    o: Occasion,
    channel: str,
    key: str,
    rule: Rule | None,
    context: dict[str, Any] | None,
) -> Notice:
    """One notice, its text from the channel's template (if any) and its due instant."""
    model = policy.channels[channel]
    title, body = default_text(o)
    if model.template is not None and context is not None:
        body = policy.templates.render(model.template, context)
    due = due_at(policy, model, o.now, o.priority, o.awaiting or o.level_to)
    return Notice(
        channel=channel,
        key=key,
        level=o.awaiting or o.level_to,
        rule=rule.name if rule else "",
        due=due,
        deferred=due > o.now,
        title=title,
        body=body,
        priority=o.priority,
    )
