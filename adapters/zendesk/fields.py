"""Tracking and policy custom fields: found by title, checked, created on request.

Types the connector creates (`escalate setup`, `create_body` and `policy_body`):
- `count` is an `integer` field (agents can sort and search it numerically);
- every other tracking field is a single-line `text` field: `escalated_at` and `sla_due` hold
  ISO 8601 times to the second, which Zendesk `date` fields (day only) cannot; `level` is text
  rather than a drop-down, because a drop-down's values double as ticket tags and would need an
  option per policy level kept in step with the policy; `state` needs up to 255 characters;
- a policy field is a `checkbox` when the policy reads it as a customer's yes/no
  (`customer_request.field`) or writes only true/false to it, a `decimal` when it writes only
  numbers to it, else `text` (a drop-down would need its options, which the policy does not
  list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.errors import SetupError
from adapters.results import FieldStatus
from adapters.zendesk.mapping import as_int

Json = dict[str, Any]
TEXT_TYPES = frozenset({"text", "textarea", "regexp"})
DROPDOWNS = frozenset({"tagger", "multiselect"})  # values are their options' tags
REQUIRED = ("level", "state")  # without these the connector cannot tell what it already did
DESCRIPTIONS = {
    "level": "Escalation level (written by the escalation connector).",
    "escalated_at": "When the current escalation level was entered (ISO 8601, UTC).",
    "rule": "The rule behind the last escalation.",
    "count": "How many times this ticket was escalated.",
    "sla_due": "Next SLA deadline (ISO 8601, UTC).",
    "state": "Escalation connector bookkeeping; do not edit.",
    "request": "Set to ask for an escalation (a level name, or anything for one level up).",
    "approved_by": "Your name, to approve an escalation that awaits approval.",
    "outcome": "How the escalation ended.",
}


def field_type(logical: str) -> str:
    return "integer" if logical == "count" else "text"


@dataclass
class FieldMap:
    tracking: dict[str, int] = field(default_factory=dict)  # logical name -> id
    custom: dict[str, int] = field(default_factory=dict)  # policy field name -> id
    types: dict[int, str] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)
    #: Drop-down fields (tagger, multiselect) -> their options as (tag, name).
    options: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def _find(definitions: Sequence[Json], title: str) -> list[Json]:
    exact = [d for d in definitions if d.get("title") == title]
    if exact:
        return exact
    return [d for d in definitions if str(d.get("title") or "").lower() == title.lower()]


def _tracking_problem(logical: str, found: Json) -> str:
    kind = str(found.get("type"))
    if found.get("active") is False:
        return "the field is inactive: activate it in Admin Center > Objects and rules > Fields"
    allowed = TEXT_TYPES | ({"integer", "decimal"} if logical == "count" else set())
    if kind not in allowed:
        hint = " (date fields hold days only)" if kind == "date" else ""
        return f"it is a {kind} field{hint}; the connector needs a {field_type(logical)} field"
    return ""


def resolve(
    definitions: Sequence[Json], tracking: Mapping[str, str], custom: Sequence[str]
) -> tuple[list[FieldStatus], FieldMap]:
    """Match tracking fields (logical name -> title) and policy custom fields to definitions."""
    statuses: list[FieldStatus] = []
    fmap = FieldMap()
    for item in definitions:
        if (fid := as_int(item.get("id"))) is not None:
            fmap.types[fid] = str(item.get("type"))
            fmap.titles[fid] = str(item.get("title"))
            if fmap.types[fid] in DROPDOWNS:
                fmap.options[fid] = [
                    (str(o.get("value")), str(o.get("name")))
                    for o in item.get("custom_field_options") or ()
                    if isinstance(o, dict)
                ]
    for name in REQUIRED:
        if name not in tracking:
            statuses.append(
                FieldStatus(name, "", None, f"not mapped: set platforms.zendesk.fields.{name}")
            )
    for name, title in tracking.items():
        statuses.append(_status(name, title, _find(definitions, title), fmap.tracking, name))
    for name in custom:
        found = _status(name, name, _find(definitions, name), fmap.custom, None)
        statuses.append(replace(found, kind="policy"))
    return statuses, fmap


def _status(
    name: str, title: str, found: list[Json], into: dict[str, int], logical: str | None
) -> FieldStatus:
    if not found:
        return FieldStatus(name, title, None, "missing")
    if len(found) > 1:
        ids = ", ".join(str(f.get("id")) for f in found)
        return FieldStatus(name, title, None, f"ambiguous: several fields have this title ({ids})")
    fid = as_int(found[0].get("id"))
    problem = _tracking_problem(logical, found[0]) if logical else ""
    if not problem and found[0].get("active") is False:
        problem = "the field is inactive"
    if fid is not None and not problem:
        into[name] = fid
    return FieldStatus(name, title, str(fid) if fid is not None else None, problem)


def create_body(logical: str, title: str) -> Json:
    """The Create Ticket Field request for a tracking field."""
    field = {"type": field_type(logical), "title": title}
    return {"ticket_field": field | {"description": DESCRIPTIONS.get(logical, "")}}


def policy_body(name: str, kind: str, used_by: str) -> Json:
    """A policy field as `escalate setup` creates it: a checkbox for a yes/no ("flag"), a
    decimal for numbers, else single-line text (`custom:` conditions compare text)."""
    ztype = {"flag": "checkbox", "number": "decimal"}.get(kind, "text")
    description = f"Read by the escalation policy ({used_by})."
    return {"ticket_field": {"type": ztype, "title": name, "description": description}}


def setup_error(statuses: Sequence[FieldStatus], instance: str) -> None:
    """Raise SetupError naming every unusable tracking field, and how to fix each. Unusable
    policy fields only switch off what needs them (`rules.fielduse`)."""
    bad = [s for s in statuses if s.problem and s.kind != "policy"]
    if not bad:
        return
    lines = []
    for s in bad:
        title = f" {s.title!r}" if s.title else ""
        lines.append(f"  - tracking field {s.name}{title}: {s.problem}")
    hint = ""
    if any(s.problem == "missing" for s in bad):
        hint = f"\nRun `escalate setup` to create the missing tracking fields on {instance}."
    raise SetupError(
        f"Zendesk instance {instance}: ticket fields are not usable:\n" + "\n".join(lines) + hint
    )
