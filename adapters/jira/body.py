"""One change -> the request bodies that write it: one issue edit, plus a comment where needed.

- The edit (`PUT /issue/{key}`) sets the tracking fields, the group field, the policy's
  `set_fields` (a select list's values checked first against the options editmeta lists),
  priority (by id from the project's allowed priorities) and assignee (accountId on Cloud,
  name on Data Center), adds/removes labels one by one (`update.labels`, never the whole
  list), and carries the public reply as `update.comment[{add}]`.
- An internal note needs its own `POST /issue/{key}/comment`: a JSM internal comment is marked
  with the `sd.public.comment` property (which an edit cannot carry), a restricted one with
  `visibility`. On a JSM project (`projectTypeKey` "service_desk") a note is always a JSM
  internal comment, whatever `jsm_internal_comments` says: an ordinary comment there is shown
  to the customer. Elsewhere, without either setting (plain Jira Software has no internal
  comments), the note rides in the edit too, unless a reply already does.
So a change costs one or two write requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.errors import Rejected
from adapters.jira.fields import Field, to_jira
from adapters.jira.markup import adf, body_text, wiki
from adapters.jira.settings import NoteVisibility
from rules.mapping import platform_priority
from rules.markup import Rendered
from rules.plan import TicketChange
from rules.policy import Policy

INTERNAL = [{"key": "sd.public.comment", "value": {"internal": True}}]


@dataclass(frozen=True)
class ProjectMeta:
    """What one project's edit screen allows (from GET /issue/{key}/editmeta)."""

    project: str
    editable: Mapping[str, Any]

    def allowed(self, field_id: str) -> list[Mapping[str, Any]]:
        meta = self.editable.get(field_id) or {}
        return list(meta.get("allowedValues") or ())

    def priority(self, name: str) -> dict[str, str]:
        if "priority" not in self.editable:
            raise Rejected(
                f"the priority field is not on the edit screen of project {self.project}; add"
                " it in Project settings → Screens"
            )
        allowed = self.allowed("priority")
        for value in allowed:
            if str(value.get("name", "")).casefold() == name.casefold():
                return {"id": str(value["id"])} if value.get("id") else {"name": name}
        if not allowed:  # the screen does not list them: let Jira judge the name
            return {"name": name}
        names = ", ".join(str(v.get("name")) for v in allowed)
        raise Rejected(
            f"priority {name!r} is not allowed in project {self.project} (allowed: {names});"
            " map the policy's priority to one of them under platforms.jira.priorities"
        )

    def option(self, fd: Field, value: str) -> None:
        allowed = self.allowed(fd.id)
        values = [str(v.get("value") or v.get("name")) for v in allowed]
        if allowed and value not in values:
            raise Rejected(
                f"{value!r} is not an option of field {fd.describe()} in project"
                f" {self.project} (options: {', '.join(values)})"
            )


@dataclass(frozen=True)
class EditContext:
    cloud: bool
    policy: Policy
    tracking: Mapping[str, Field]
    group: Field | None
    custom: Mapping[str, Field]
    meta: ProjectMeta
    user_ref: Callable[[str], dict[str, str]]
    jsm: bool = False
    visibility: NoteVisibility | None = None
    #: The issue is in a JSM project: its ordinary comments are public to the customer.
    service_desk: bool = False

    def body(self, rendered: Rendered) -> Any:
        return adf(rendered) if self.cloud else wiki(rendered)


@dataclass(frozen=True)
class Edit:
    put: dict[str, Any] | None
    comment: dict[str, Any] | None = None
    #: The comment bodies carried by `put` and `comment`, as text (to recognise them later).
    texts: tuple[str, ...] = field(default=())

    @property
    def put_comments(self) -> int:
        return len(((self.put or {}).get("update") or {}).get("comment") or ())

    def without_comments(self) -> Edit:
        put = dict(self.put or {})
        update = {k: v for k, v in (put.get("update") or {}).items() if k != "comment"}
        put = {k: v for k, v in put.items() if k != "update"} | (
            {"update": update} if update else {}
        )
        return replace(
            self,
            put=put if put.get("fields") or put.get("update") else None,
            comment=None,
            texts=(),
        )


def build(change: TicketChange, ctx: EditContext) -> Edit:
    """The requests for `change`; Rejected when a value cannot be written here."""
    fields = {**_tracking(change, ctx), **_values(change, ctx)}
    update: dict[str, list[dict[str, Any]]] = {}
    labels = [{"add": t} for t in change.add_tags] + [{"remove": t} for t in change.remove_tags]
    if labels:
        update["labels"] = labels
    inline, comment = _comments(change, ctx)
    if inline:
        update["comment"] = [{"add": {"body": b}} for b in inline]
    texts = [body_text(b) for b in inline] + ([body_text(comment["body"])] if comment else [])
    put: dict[str, Any] = {}
    if fields:
        put["fields"] = fields
    if update:
        put["update"] = update
    return Edit(put=put or None, comment=comment, texts=tuple(texts))


def _tracking(change: TicketChange, ctx: EditContext) -> dict[str, Any]:
    """The tracking fields the instance maps (the others are not stored: fields() says which);
    a select list's value must be one of its options in the issue's project."""
    out: dict[str, Any] = {}
    for name, diff in change.tracking.items():
        fd = ctx.tracking.get(name)
        if fd is None:
            continue
        if fd.kind == "option" and diff.new not in (None, ""):
            ctx.meta.option(fd, str(diff.new))
        out[fd.id] = to_jira(fd, diff.new, cloud=ctx.cloud)
    return out


def _values(change: TicketChange, ctx: EditContext) -> dict[str, Any]:
    """The group, the policy's custom fields, the priority and the assignee."""
    fields: dict[str, Any] = {}
    if change.group is not None:
        fields.update(_group(change.group.new, ctx))
    for name, diff in change.fields.items():
        fd = ctx.custom.get(name)
        if fd is None:
            raise Rejected(f"the policy sets field {name!r}, which Jira does not have")
        if fd.kind in ("option", "options") and diff.new is not None:
            values = diff.new if isinstance(diff.new, list | tuple) else [diff.new]
            for value in values:
                ctx.meta.option(fd, str(value))
        fields[fd.id] = to_jira(fd, diff.new, cloud=ctx.cloud)
    if change.priority is not None and change.priority.new is not None:
        name = platform_priority(ctx.policy, "jira", str(change.priority.new))
        fields["priority"] = ctx.meta.priority(name)
    if change.assignee is not None:
        new = change.assignee.new
        fields["assignee"] = None if new is None else ctx.user_ref(str(new))
    return fields


def _comments(change: TicketChange, ctx: EditContext) -> tuple[list[Any], dict[str, Any] | None]:
    """The comment bodies the edit carries, and the note's own request where it needs one
    (JSM internal, restricted, or a reply already in the edit)."""
    inline: list[Any] = []
    if change.public_reply is not None:
        inline.append(ctx.body(change.public_reply))
    note = change.internal_note
    if note is None:
        return inline, None
    body = ctx.body(note)
    internal = ctx.jsm or ctx.service_desk
    if not (internal or ctx.visibility is not None or inline):
        return [*inline, body], None
    comment: dict[str, Any] = {"body": body}
    if internal:
        comment["properties"] = INTERNAL
    if ctx.visibility is not None:
        comment["visibility"] = {"type": ctx.visibility.type, "value": ctx.visibility.value}
    return inline, comment


def _group(name: object, ctx: EditContext) -> dict[str, Any]:
    fd = ctx.group
    if fd is None:
        raise Rejected(
            "the policy reassigns groups, but the instance has no group_field; set group_field"
            " to the custom field that holds the team (e.g. group_field: Support team)"
        )
    if name is not None and fd.kind in ("option", "options"):
        ctx.meta.option(fd, str(name))
    return {fd.id: to_jira(fd, name, cloud=ctx.cloud)}
