"""Views: list (cursor or offset pages) and create, validated roughly as Zendesk does.

Create View (API reference): `title` and `all` are required; `all` must test one of status,
type, group_id, assignee_id or requester_id; conditions name system fields or
`custom_fields_<id>` of an existing field, with an operator that field takes; `output.columns`
holds at most 10 columns, a custom field by its id; `sort_by` names a column; a view shared
with every agent (no `restriction`) needs an admin here (agents may only make personal ones).
"""

from __future__ import annotations

from collections.abc import Mapping

from emulators.zendesk.wire import FORBIDDEN, Json, Refused, cursor_page, invalid, stamp

ANCHORS = frozenset({"status", "type", "group_id", "assignee_id", "requester_id"})
SYSTEM = {
    "status": {"is", "is_not", "less_than", "greater_than"},
    "type": {"is", "is_not"},
    "priority": {"is", "is_not", "less_than", "greater_than"},
    "group_id": {"is", "is_not"},
    "assignee_id": {"is", "is_not"},
    "requester_id": {"is", "is_not"},
    "current_tags": {"includes", "not_includes"},
}
CUSTOM = {"is", "is_not", "present", "not_present", "includes", "not_includes"}
COLUMNS = frozenset(
    {
        "assigned",
        "assignee",
        "due_date",
        "group",
        "nice_id",
        "updated",
        "updated_assignee",
        "updated_requester",
        "updated_by_type",
        "organization",
        "priority",
        "created",
        "requester",
        "locale_id",
        "satisfaction_score",
        "solved",
        "status",
        "description",
        "submitter",
        "ticket_form",
        "type",
        "brand",
        "custom_status_id",
    }
)
UNSORTABLE = frozenset({"description", "submitter", "custom_status_id"})


def list_views(views: Mapping[int, Json], q: Mapping[str, str]) -> Json:
    items = sorted(views.values(), key=lambda v: v["id"])
    if "page[size]" in q or "page[after]" in q:
        return cursor_page("views", items, q, 100)
    return {"views": items, "count": len(items), "next_page": None, "previous_page": None}


def create_view(
    data: Json, fields: Mapping[int, Json], role: str, vid: int, base_url: str, now: float
) -> Json:
    """The stored view, or a refusal shaped like Zendesk's."""
    spec = data.get("view")
    if not isinstance(spec, dict):
        raise Refused(400, {"error": "InvalidValue", "description": "view missing"})
    if role != "admin" and not spec.get("restriction"):
        raise Refused(403, FORBIDDEN)
    title = spec.get("title")
    conditions = spec.get("all")
    if not isinstance(title, str) or not title.strip():
        raise invalid("Title: cannot be blank")
    if not isinstance(conditions, list) or not conditions:
        raise invalid("View must have at least one condition in the ALL section")
    for c in [*conditions, *(spec.get("any") or [])]:
        _condition(c, fields)
    if not any(isinstance(c, dict) and c.get("field") in ANCHORS for c in conditions):
        raise invalid(
            "View must test for at least one of the following ticket properties in the ALL"
            " conditions section: Status, Type, Group, Assignee, Requester"
        )
    output = spec.get("output") or {}
    columns = list(output.get("columns") or ["status", "description", "requester", "created"])
    for column in columns:
        _column(column, fields)
    if len(columns) > 10:
        raise invalid("Columns: a view can have at most 10 columns")
    sort_by = output.get("sort_by")
    if sort_by is not None and (sort_by not in columns or sort_by in UNSORTABLE):
        raise invalid(f"Sort by: {sort_by!r} is not a sortable column of this view")
    order = output.get("sort_order", "asc")
    if order not in ("asc", "desc"):
        raise invalid("Sort order: must be asc or desc")
    return {
        "id": vid,
        "url": f"{base_url}/api/v2/views/{vid}.json",
        "title": title,
        "raw_title": title,
        "description": spec.get("description"),
        "active": spec.get("active", True) is not False,
        "position": 0,
        "default": False,
        "restriction": spec.get("restriction"),
        "conditions": {"all": conditions, "any": list(spec.get("any") or [])},
        "execution": {
            "columns": [_shown(c, fields) for c in columns],
            "sort_by": sort_by,
            "sort_order": order,
            "sort": _shown(sort_by, fields) | {"order": order} if sort_by is not None else None,
            "group_by": output.get("group_by"),
            "group": None,
        },
        "created_at": stamp(now),
        "updated_at": stamp(now),
    }


def _condition(c: object, fields: Mapping[int, Json]) -> None:
    if not isinstance(c, dict):
        raise invalid("Conditions: each condition is an object with field and operator")
    name, operator = str(c.get("field")), c.get("operator")
    if name.startswith("custom_fields_"):
        fid = name.removeprefix("custom_fields_")
        if not fid.isdigit() or int(fid) not in fields:
            raise invalid(f"Conditions: {name} is not a ticket field")
        allowed = CUSTOM
    elif name in SYSTEM:
        allowed = SYSTEM[name]
    else:
        raise invalid(f"Conditions: unknown field {name!r}")
    if operator not in allowed:
        raise invalid(f"Conditions: operator {operator!r} is not valid for {name}")
    if operator not in ("present", "not_present") and "value" not in c:
        raise invalid(f"Conditions: {name} {operator} needs a value")


def _column(column: object, fields: Mapping[int, Json]) -> None:
    if isinstance(column, int) and not isinstance(column, bool):
        if column not in fields:
            raise invalid(f"Columns: {column} is not a ticket field")
    elif column not in COLUMNS:
        raise invalid(f"Columns: unknown column {column!r}")


def _shown(column: object, fields: Mapping[int, Json]) -> Json:
    if isinstance(column, int) and column in fields:
        f = fields[column]
        return {"id": column, "title": f["title"], "type": f["type"], "url": f["url"]}
    return {"id": column, "title": str(column).replace("_", " ").title()}
