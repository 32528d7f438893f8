"""Jira fields: found by name in GET /field, written in the format their schema type needs.

Field names are not unique in Jira; a name that matches more than one field is refused with
the ids, so the admin can rename one. Writing formats (API reference, "Field input formats"):
text `"x"`, number `3`, datetime `"2026-03-02T08:00:00.000+0000"`, date `"2026-03-02"`,
single select `{"value": "L2"}`, multi select `[{"value": "a"}]`, group `{"name": "x"}`.
A multi-line text field (textarea) takes ADF on Cloud's API v3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from adapters.errors import Rejected, SetupError
from adapters.jira.markup import adf, adf_text
from adapters.results import FieldStatus
from rules.markup import Rendered
from rules.tracking import parse_time

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"

#: What `fields(create=True)` creates for each tracking field: (type, searcher).
#: Text for everything but the count: a text field needs no options to be kept in step with the
#: policy's levels (a select would need one option per level, created per field context), and
#: holds the ISO times we compare as text. `count` is a number so queues can sort and filter it.
CREATE_TYPES: dict[str, tuple[str, str]] = {
    "count": (CF + "float", CF + "numberrange"),
}
TEXT_TYPE = (CF + "textfield", CF + "textsearcher")
TRACKING_KINDS = frozenset({"string", "textarea", "number", "datetime", "date", "option"})
GROUP_KINDS = frozenset({"string", "option", "options", "group", "groups"})
SCREENS = (
    "add each to the Edit screen of each project (Project settings → Screens) before the first"
    " run: Jira's API puts a new field on no screen"
)
CREATED = (
    "created: add it to the Edit screen of each project (Project settings → Screens) before the"
    " first run"
)


@dataclass(frozen=True, slots=True)
class Field:
    id: str
    name: str
    type: str = "string"  # schema.type
    custom: str = ""  # schema.custom (the plugin type), "" for system fields
    items: str = ""  # schema.items for arrays

    @property
    def kind(self) -> str:
        if self.type == "array":
            return {"option": "options", "group": "groups", "string": "labels"}.get(
                self.items, "unsupported"
            )
        if self.type == "string" and self.custom.endswith(":textarea"):
            return "textarea"
        if self.type in ("string", "number", "datetime", "date", "option", "group", "user"):
            return self.type
        return "unsupported"

    def describe(self) -> str:
        return f"{self.name!r} ({self.id})"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Field:
        schema = raw.get("schema") or {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            type=str(schema.get("type") or "any"),
            custom=str(schema.get("custom") or ""),
            items=str(schema.get("items") or ""),
        )


class Catalog:
    """The instance's field definitions, by id and by (case-insensitive) name."""

    def __init__(self, raw: Iterable[Mapping[str, Any]]) -> None:
        self.fields = [Field.from_json(f) for f in raw]
        self._by_name: dict[str, list[Field]] = {}
        for f in self.fields:
            self._by_name.setdefault(f.name.casefold(), []).append(f)

    def add(self, fd: Field) -> None:
        self.fields.append(fd)
        self._by_name.setdefault(fd.name.casefold(), []).append(fd)

    def lookup(self, name: str) -> tuple[Field | None, str]:
        """The field called `name` and "", or None and why ("missing", or ambiguous)."""
        try:
            fd = self.find(name)
        except SetupError as exc:
            return None, str(exc)
        return fd, "" if fd else "missing"

    def find(self, name: str) -> Field | None:
        """The field called `name`; SetupError when several are."""
        found = self._by_name.get(name.casefold(), [])
        exact = [f for f in found if f.name == name] or found
        if len(exact) > 1:
            ids = ", ".join(f.id for f in exact)
            raise SetupError(
                f"Jira has {len(exact)} fields named {name!r} ({ids}); rename all but one"
                " (Settings → Work items → Fields) so the connector knows which to use"
            )
        return exact[0] if exact else None


def to_jira(field: Field, value: object, *, cloud: bool) -> Any:
    """`value` (a neutral string, number or list) in the format `field` takes; None clears."""
    if value is None or value == "":
        return None
    kind = field.kind
    text = str(value)
    if kind == "string":
        return text
    if kind == "textarea":
        return adf(Rendered.literal(text)) if cloud else text
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise Rejected(f"field {field.describe()} takes a number, not {text!r}") from None
        return int(number) if number.is_integer() else number
    if kind in ("datetime", "date"):
        when = parse_time(text)
        if when is None:
            raise Rejected(f"field {field.describe()} takes a time, not {text!r}")
        when = when.astimezone(UTC)
        if kind == "date":
            return when.date().isoformat()
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    if kind == "option":
        return {"value": text}
    if kind == "group":
        return {"name": text}
    values = value if isinstance(value, list | tuple) else [value]
    if kind == "options":
        return [{"value": str(v)} for v in values]
    if kind == "groups":
        return [{"name": str(v)} for v in values]
    if kind == "labels":
        return [str(v) for v in values]
    raise Rejected(
        f"field {field.describe()} has type {field.type}"
        f"{' (' + field.custom + ')' if field.custom else ''}, which the connector cannot"
        " write; use a text, number, date/time, select or group field"
    )


def from_jira(value: Any) -> Any:
    """A field value as a plain value: options and groups by name, users by display name."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [from_jira(v) for v in value]
    if isinstance(value, dict):  # JSON objects are dicts: no ABC check per value
        if value.get("type") == "doc":
            return adf_text(value)
        for key in ("value", "name", "displayName", "key", "id"):
            if key in value:
                child = value.get("child")
                if key == "value" and isinstance(child, Mapping):
                    return f"{value[key]} - {child.get('value')}"
                return value[key]
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def text_of(value: Any) -> str | None:
    """A field value as tracking text (numbers without a trailing .0)."""
    if value is None or type(value) is str:
        return value
    plain = from_jira(value)
    if plain is None:
        return None
    if isinstance(plain, list):
        return ",".join(str(v) for v in plain) or None
    return str(plain)


def create_body(logical: str, title: str) -> dict[str, Any]:
    kind, searcher = CREATE_TYPES.get(logical, TEXT_TYPE)
    return {
        "name": title,
        "description": f"Escalation tracking ({logical}), written by escalation-connector.",
        "type": kind,
        "searcherKey": searcher,
    }


def policy_body(name: str, kind: str, used_by: str) -> dict[str, Any]:
    """A policy field as `escalate setup` creates it: a number field for numbers, else a
    single-line text field (Jira has no yes/no field, and a select list's options cannot be
    created through Data Center's REST API: a customer's yes/no is typed as "yes")."""
    plugin, searcher = CREATE_TYPES["count"] if kind == "number" else TEXT_TYPE
    return {
        "name": name,
        "description": f"Read by the escalation policy ({used_by}).",
        "type": plugin,
        "searcherKey": searcher,
    }


def group_body(title: str) -> dict[str, Any]:
    """The group field as `escalate setup` creates it: single-line text holding the team's
    name (a select list would need an option per group, which Data Center cannot create)."""
    return {
        "name": title,
        "description": "The owning team, set by escalation-connector on escalation.",
        "type": TEXT_TYPE[0],
        "searcherKey": TEXT_TYPE[1],
    }


def planned(body: Mapping[str, Any]) -> Field:
    """The field a create `body` will make, for what is built on it before it exists."""
    plugin = str(body["type"])
    kind = "number" if plugin == CREATE_TYPES["count"][0] else "string"
    return Field("", str(body["name"]), kind, plugin)


def type_name(body: Mapping[str, Any]) -> str:
    return str(body["type"]).removeprefix(CF)


def screen_problems(
    editable: Mapping[str, Any], wanted: Sequence[Field], project: str
) -> list[str]:
    """The fields of `wanted` missing from an issue's editmeta, with how to fix each. An
    editmeta that lists no field at all means the account may not edit the issue."""
    if wanted and not editable:
        return [
            f"Jira lists no editable field for issues of project {project}: the connector's"
            f" account lacks Edit Issues (EDIT_ISSUES) in project {project} (or the issue's"
            " workflow status is not editable). Fix: grant it in Project settings → Permissions"
        ]
    return [
        f"field {f.describe()} is not on the edit screen of project {project}: add it in"
        " Project settings → Screens → (the Edit screen of each issue type) → add field"
        for f in wanted
        if f.id not in editable
    ]


@dataclass
class Resolved:
    tracking: dict[str, Field] = field(default_factory=dict)
    group: Field | None = None
    custom: dict[str, Field] = field(default_factory=dict)


def resolve(
    catalog: Catalog,
    titles: Mapping[str, str],
    group_field: str | None,
    custom: Iterable[str],
    reassigns: bool,
) -> tuple[list[FieldStatus], Resolved]:
    """Tracking fields (logical name -> title), the group field and the policy's fields, each
    with its problem ("" when usable)."""
    out: list[FieldStatus] = []
    r = Resolved()
    for logical, title in titles.items():
        fd, problem = catalog.lookup(title)
        if fd is not None and fd.kind not in TRACKING_KINDS:
            problem = f"it has type {fd.type}; the connector needs a text or number field"
        elif fd is not None:
            r.tracking[logical] = fd
        out.append(FieldStatus(logical, title, fd.id if fd else None, problem))
    if group_field:
        fd, problem = catalog.lookup(group_field)
        if fd is not None and fd.kind not in GROUP_KINDS:
            problem = (
                f"type {fd.type} {fd.custom} cannot be written (use a select list, a group"
                " picker or a text field)"
            )
        elif fd is not None:
            r.group = fd
        out.append(
            FieldStatus("group_field", group_field, fd.id if fd else None, problem, kind="group")
        )
    elif reassigns:
        problem = "not set: the policy reassigns groups; name the team field in group_field"
        out.append(FieldStatus("group_field", "", None, problem, kind="group"))
    for name in sorted(custom):
        fd, problem = catalog.lookup(name)
        if fd is not None:
            r.custom[name] = fd
        out.append(FieldStatus(name, name, fd.id if fd else None, problem, kind="policy"))
    return out, r


def off_screen(
    statuses: Sequence[FieldStatus], wanted: Sequence[Field], screens: Mapping[str, Any]
) -> list[FieldStatus]:
    """`statuses`, each field missing from a project's edit screen (project -> editmeta
    fields) marked with the projects and the fix."""
    off: dict[str, list[str]] = {}
    for project, editable in screens.items():
        for fd in wanted:
            if fd.id not in editable:
                off.setdefault(fd.id, []).append(project)
    fix = "add it in Project settings → Screens (the Edit screen of each issue type)"
    blind = [p for p, editable in screens.items() if not editable]
    if blind:
        fix += (
            f"; Jira lists no editable field at all in {', '.join(blind)}: the account lacks"
            " Edit Issues (EDIT_ISSUES) there"
        )
    return [
        replace(s, problem=f"not on the edit screen of {', '.join(off[s.id])}: {fix}")
        if s.id in off and not s.problem
        else s
        for s in statuses
    ]


def setup_error(instance: str, statuses: Sequence[FieldStatus]) -> None:
    """Raise SetupError naming every unusable tracking field and the group field, and how to fix
    them. Unusable policy fields only switch off what needs them (`rules.fielduse`)."""
    bad = []
    for s in statuses:
        if not s.problem or s.created or s.kind == "policy":
            continue
        kind = "group_field" if s.kind == "group" else f"tracking field {s.name}"
        bad.append(f"{kind} {s.title!r}: {s.problem}" if s.title else f"{kind}: {s.problem}")
    if bad:
        raise SetupError(
            f"instance {instance}: Jira fields are not usable: " + "; ".join(bad) + ". Create"
            " the missing ones (escalate setup creates missing tracking fields) or fix the names"
            " in the policy's platforms.jira.fields / the instance's fields and group_field."
        )
