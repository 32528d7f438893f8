"""A `TicketChange` -> the body of `PUT /api/v2/tickets/{id}` (pure, tested with plain values).

- Tags: the single update (`PUT /tickets/{id}`) takes only the whole list, `tags` (Zendesk
  documents `additional_tags` / `remove_tags` for `update_many` alone and ignores them, with a
  200, on a single update). So it sends the tags the change was planned on (or just re-read),
  plus its additions, minus its removals, with the option tags of the drop-down fields it
  changes swapped; `safe_update` makes it a 409 if anyone changed the tags since. An
  `update_many` job item (`job_item`) keeps `additional_tags` / `remove_tags`.
- Every comment says `public` explicitly (Zendesk otherwise repeats the ticket's first choice).
- Comments are sent as `body` in Zendesk markdown, ticket text escaped with
  `ESCAPERS["markdown"]` (which also HTML-escapes), so a ticket title cannot become a link,
  image or HTML in the note. `body` rather than `html_body`: policy templates are plain text, and
  markdown renders for agent-authored comments such as the connector's.
- A ticket update carries one comment. With both a note and a public reply, the note goes with
  the change and the reply follows in a second, comment-only update (`reply_body`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from adapters.errors import Rejected
from adapters.zendesk.fields import FieldMap
from adapters.zendesk.mapping import People, as_int
from rules.mapping import platform_priority
from rules.markup import ESCAPERS, Rendered
from rules.plan import TicketChange
from rules.policy import Policy
from rules.tracking import format_time

Json = dict[str, Any]
PRIORITIES = frozenset({"urgent", "high", "normal", "low"})
#: Field types whose values are option tags, kept in the ticket's tags by Zendesk.
OPTION_TYPES = frozenset({"tagger", "multiselect"})


def render(text: Rendered) -> str:
    return text.render(ESCAPERS["markdown"])


def _group(change: TicketChange, people: People) -> int | None:
    assert change.group is not None
    name = change.group.new
    if name is None:
        return None
    gid = people.group_id(str(name))
    if gid is None:
        raise Rejected(f"ticket {change.ticket}: no Zendesk group named {name!r} (group_id)")
    return gid


def _assignee(who: object, people: People, users: Mapping[str, int]) -> Json:
    if who is None:
        return {"assignee_id": None}
    text = str(who).strip()
    if text.isdigit():
        return {"assignee_id": int(text)}
    mapped = users.get(text, next((v for k, v in users.items() if k.lower() == text.lower()), None))
    if mapped is not None:
        return {"assignee_id": mapped}
    known = people.agent_id(text)
    if known is not None:
        return {"assignee_id": known}
    if "@" in text:
        return {"assignee_email": text}
    raise Rejected(
        f"unknown assignee {text!r} (assignee_id): add it to the instance's `users` map"
        " (name -> Zendesk user id) or use the agent's e-mail"
    )


def _value(fid: int, value: object, fields: FieldMap) -> object:
    if fields.types.get(fid) == "integer" and isinstance(value, str):
        number = as_int(value)
        return number if number is not None else value
    return value


def custom_fields(change: TicketChange, fields: FieldMap) -> list[Json]:
    """Tracking and policy fields as `[{id, value}]`; unmapped tracking fields are not kept."""
    out: list[Json] = []
    for name, diff in change.tracking.items():
        if (fid := fields.tracking.get(name)) is not None:
            out.append({"id": fid, "value": _value(fid, diff.new, fields)})
    for name, diff in change.fields.items():
        fid = fields.custom.get(name)
        if fid is None:
            raise Rejected(f"ticket {change.ticket}: no Zendesk ticket field titled {name!r}")
        out.append({"id": fid, "value": _value(fid, diff.new, fields)})
    return out


def _option_tags(value: object) -> set[str]:
    if isinstance(value, list | tuple | set | frozenset):
        return {str(v) for v in value if v}
    return {str(value)} if value else set()


def whole_tags(change: TicketChange, read: Collection[str], fields: FieldMap) -> list[str]:
    """The ticket's tag list after `change`, from the tags `read` before it: additions in,
    removals out, and a drop-down field's old option tag swapped for its new one (Zendesk keeps
    them in the tags, and a whole list without them would clear the field)."""
    tags = set(read)
    for name, diff in change.fields.items():
        fid = fields.custom.get(name)
        if fid is not None and fields.types.get(fid) in OPTION_TYPES:
            tags = (tags - _option_tags(diff.old)) | _option_tags(diff.new)
    return sorted((tags | set(change.add_tags)) - set(change.remove_tags))


def job_item(body: Json, change: TicketChange) -> Json:
    """A single update's body as an `update_many` item: tags as the edits, which jobs take."""
    item = {k: v for k, v in body.items() if k != "tags"}
    if change.add_tags:
        item["additional_tags"] = list(change.add_tags)
    if change.remove_tags:
        item["remove_tags"] = list(change.remove_tags)
    return item


def _followers(notify: tuple[str, ...], people: People, users: Mapping[str, int]) -> list[Json]:
    """People to notify who are agents we can name: they follow the ticket from now on."""
    out: list[Json] = []
    for who in notify:
        uid = users.get(who) or people.agent_id(who)
        if uid is not None:
            out.append({"user_id": str(uid), "action": "put"})
        elif "@" in who:
            out.append({"user_email": who, "action": "put"})
    return out


def note_text(change: TicketChange) -> Rendered | None:
    """The internal note, with a line naming whom it notifies (groups cannot be followers)."""
    note = change.internal_note
    if note is None or not change.notify:
        return note
    return note + Rendered.literal("\n\nNotify: ") + Rendered(((True, ", ".join(change.notify)),))


def update_body(
    change: TicketChange,
    *,
    policy: Policy,
    fields: FieldMap,
    people: People,
    users: Mapping[str, int],
    tags: Collection[str] | None = None,
    stamp: str | None = None,
) -> Json:
    """Everything of `change` but a public reply that has to wait for a second update. `tags`:
    the ticket's tags the change is written on (needed when it edits tags)."""
    body: Json = {}
    if change.group is not None:
        body["group_id"] = _group(change, people)
    if change.assignee is not None:
        body.update(_assignee(change.assignee.new, people, users))
    if change.priority is not None and change.priority.new is not None:
        name = platform_priority(policy, "zendesk", str(change.priority.new)).lower()
        if name not in PRIORITIES:
            raise Rejected(
                f"ticket {change.ticket}: {change.priority.new} maps to Zendesk priority"
                f" {name!r}, which Zendesk does not have (priority); fix"
                " platforms.zendesk.priorities"
            )
        body["priority"] = name
    if change.add_tags or change.remove_tags:
        if tags is None:
            raise ValueError(f"ticket {change.ticket}: its tags are needed to edit them")
        body["tags"] = whole_tags(change, tags, fields)
    values = custom_fields(change, fields)
    if values:
        body["custom_fields"] = values
    followers = _followers(change.notify, people, users)
    if followers:
        body["followers"] = followers
    note = note_text(change)
    if note is not None:
        body["comment"] = {"body": render(note), "public": False}
    elif change.public_reply is not None:
        body["comment"] = {"body": render(change.public_reply), "public": True}
    body["safe_update"] = True
    body["updated_stamp"] = stamp or format_time(change.ticket_updated_at)
    return body


def reply_body(change: TicketChange) -> Json | None:
    """The public reply's own update, when the note took the first update's comment."""
    if change.public_reply is None or change.internal_note is None:
        return None
    return {"comment": {"body": render(change.public_reply), "public": True}}
