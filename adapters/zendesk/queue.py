"""The agents' escalation queue on Zendesk: a shared view "Escalated tickets".

It shows the open tickets (status below solved) whose escalation level is set and is not the
policy's first level, with the level and SLA-due columns, soonest SLA deadline first. Views
API ("Create View"): `all` conditions, custom fields as `custom_fields_<id>`, and `output`
columns and `sort_by` naming a custom field by its id. Found by its title and never changed;
created only when missing (a shared view needs an admin: a 403 is reported, not raised).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.doctor import sentence
from adapters.errors import AdapterError, MaybeLanded, PermissionDenied
from adapters.results import Queue
from adapters.zendesk.fields import resolve
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import as_int

Json = dict[str, Any]
TITLE = "Escalated tickets"
WHERE = "Admin Center > Workspaces > Agent tools > Views"


def view_body(level_id: int | str, first_level: str, sla_id: int | str | None) -> Json:
    """The Create View request for our queue (an id not known yet: a placeholder,
    `adapters.setup.pending_id`)."""
    columns: list[str | int] = ["nice_id", "description", "priority", "group", "assignee", level_id]
    output: Json = {"columns": columns}
    if sla_id is not None:
        columns.append(sla_id)
        output |= {"sort_by": sla_id, "sort_order": "asc"}
    level = f"custom_fields_{level_id}"
    return {
        "view": {
            "title": TITLE,
            "description": "Tickets the escalation connector escalated, soonest SLA due first.",
            "active": True,
            "all": [
                {"field": "status", "operator": "less_than", "value": "solved"},
                {"field": level, "operator": "present"},
                {"field": level, "operator": "is_not", "value": first_level},
            ],
            "output": output,
        }
    }


def definition(titles: Mapping[str, str], first_level: str) -> str:
    level = titles.get("level", "level")
    order = f"sorted by {titles['sla_due']!r} ascending" if "sla_due" in titles else "unsorted"
    return f"status < solved AND {level!r} is present AND {level!r} is not {first_level!r}; {order}"


def queue(look: Lookups, *, create: bool) -> Queue:
    """Find the view by title; with `create`, create it once. Problems go in `Queue.problem`."""
    titles = look.titles
    first = look.policy.levels[0].name
    shows = definition(titles, first)
    try:
        found = find(look)
    except AdapterError as exc:
        return Queue("view", TITLE, None, definition=shows, problem=problem_for("GET", exc, shows))
    if found is not None:
        return _queue(look, found, created=False, shows=_shown(found))
    if not create:
        return Queue("view", TITLE, None, definition=shows)
    _, fmap = resolve(look.client.ticket_fields(), titles, [])
    level_id = fmap.tracking.get("level")
    if level_id is None:
        problem = f"the tracking field {titles.get('level', 'level')!r} is not usable yet:"
        problem += " create the tracking fields first (escalate setup does)"
        return Queue("view", TITLE, None, definition=shows, problem=problem)
    try:
        made = look.client.create_view(view_body(level_id, first, fmap.tracking.get("sla_due")))
    except MaybeLanded as exc:
        again = find(look)  # it may have been created before the answer was lost
        if again is None:
            return Queue("view", TITLE, None, definition=shows, problem=str(exc))
        return _queue(look, again, created=True, shows=shows)
    except AdapterError as exc:
        return Queue("view", TITLE, None, definition=shows, problem=problem_for("POST", exc, shows))
    return _queue(look, made.get("view") or {}, created=True, shows=shows)


def find(look: Lookups) -> Json | None:
    views = [v for v in look.client.views() if v.get("title") == TITLE]
    active = [v for v in views if v.get("active") is not False]
    return next(iter(active or views), None)


def found(look: Lookups, view: Json) -> Queue:
    """An existing view as a `Queue` (it is never changed)."""
    return _queue(look, view, created=False, shows=_shown(view))


def _queue(look: Lookups, view: Json, *, created: bool, shows: str) -> Queue:
    vid = as_int(view.get("id"))
    problem = ""
    if view.get("active") is False:
        problem = f"the view is inactive: activate it in {WHERE}"
    return Queue(
        "view",
        TITLE,
        str(vid) if vid is not None else None,
        url=f"{look.settings.url}/agent/filters/{vid}" if vid is not None else None,
        definition=shows,
        created=created,
        problem=problem,
    )


def _shown(view: Json) -> str:
    """An existing view's conditions, as Zendesk holds them (it is never changed here)."""
    conditions = (view.get("conditions") or {}).get("all") or []
    parts = [
        " ".join(str(c.get(k)) for k in ("field", "operator", "value") if c.get(k) is not None)
        for c in conditions
        if isinstance(c, dict)
    ]
    return " AND ".join(parts) or "(conditions not shown)"


def problem_for(method: str, exc: AdapterError, shows: str) -> str:
    if isinstance(exc, PermissionDenied):
        return (
            f"{method} /api/v2/views answered 403: only an admin (or an agent whose role may"
            " manage shared views) can list and create shared views. Run `escalate setup` with"
            f" an admin's credentials, or create the view by hand in {WHERE}: {shows}"
        )
    return f"{sentence(exc)} Create the view by hand in {WHERE}: {shows}"
