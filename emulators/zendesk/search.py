"""Finding tickets: the search export (cursor pages of up to 1,000, the type in `filter[type]`
only) and the plain search (offset pages, never past 1,000 results, `sort_by` updated_at or
created_at), over a small query language:
`status`, `priority` (with `:`, `<`, `>`, `<=`, `>=`), `created` and `updated` (the same, on a
date `YYYY-MM-DD`, compared with the UTC day, or an ISO 8601 instant), `tags`/`tag` and `group`
(with `:`), each optionally negated with `-`. Anything else is refused, so a test cannot pass
on a query the emulator silently ignored."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime

from emulators.zendesk.wire import PRIORITIES, STATUSES, Json, Refused

_TERM = re.compile(r'(-?)(\w+)(<=|>=|:|<|>)("[^"]*"|\S+)')
_ORDER: dict[str, Callable[[int, int], bool]] = {
    ":": int.__eq__,
    "<": int.__lt__,
    ">": int.__gt__,
    "<=": int.__le__,
    ">=": int.__ge__,
}


def export(
    tickets: Iterable[Json], groups: Mapping[int, Json], q: Mapping[str, str], base: str
) -> Json:
    """`GET /api/v2/search/export`: ordered by creation, cursor `page[after]`."""
    if q.get("filter[type]") != "ticket":
        raise Refused(400, {"error": "InvalidFilter", "description": "filter[type] required"})
    if re.search(r"(^|\s)type:", q.get("query", "")):
        raise Refused(400, {"error": "invalid", "description": "type not allowed in query"})
    size = int(q.get("page[size]", "100"))
    if not 1 <= size <= 1000:
        raise Refused(400, {"error": "InvalidPageSize", "description": "1 to 1000"})
    found = matching(tickets, groups, q.get("query", ""))
    found.sort(key=lambda t: (t["created_at"], t["id"]))
    if "page[after]" in q:
        after = json.loads(base64.b64decode(q["page[after]"]))
        found = [t for t in found if (t["created_at"], t["id"]) > (after[0], after[1])]
    page, more = found[:size], len(found) > size
    cursor = None
    if page:
        last = page[-1]
        cursor = base64.b64encode(json.dumps([last["created_at"], last["id"]]).encode()).decode()
    link = None
    if more and cursor:
        link = f"{base}/api/v2/search/export.json?page[after]={cursor}&page[size]={size}"
    return {
        "results": [{**t, "result_type": "ticket"} for t in page],
        "facets": None,
        "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
        "links": {"next": link, "prev": None},
    }


def search(tickets: Iterable[Json], groups: Mapping[int, Json], q: Mapping[str, str]) -> Json:
    """`GET /api/v2/search`: offset pages of up to 100, and never past 1,000 results."""
    per_page, page = min(int(q.get("per_page", "100")), 100), int(q.get("page", "1"))
    if per_page * page > 1000:
        raise Refused(
            422,
            {
                "error": "invalid",
                "description": "Invalid search: Requested response size was greater than"
                " Search Response Limits",
            },
        )
    query = re.sub(r"(^|\s)type:ticket", " ", q.get("query", ""))
    found = _sorted(matching(tickets, groups, query), q)
    chunk = found[(page - 1) * per_page : page * per_page]
    return {"results": [{**t, "result_type": "ticket"} for t in chunk], "count": len(found)}


def _sorted(found: list[Json], q: Mapping[str, str]) -> list[Json]:
    """By `sort_by` (`updated_at` or `created_at`; `sort_order` asc or desc, desc by default),
    else by id (Zendesk's relevance order is not emulated). The other documented keys
    (priority, status, ticket_type) are refused, so that no test relies on an order the
    emulator does not keep."""
    key, order = q.get("sort_by"), q.get("sort_order", "desc")
    if key is None:
        return sorted(found, key=lambda t: t["id"])
    if key not in ("updated_at", "created_at") or order not in ("asc", "desc"):
        raise Refused(400, {"error": "invalid", "description": f"unsupported: sort_by={key}"})
    return sorted(found, key=lambda t: (t[key], t["id"]), reverse=order == "desc")


def matching(tickets: Iterable[Json], groups: Mapping[int, Json], query: str) -> list[Json]:
    terms = _TERM.findall(query)
    if "".join("".join(m) for m in terms).replace(" ", "") != query.replace(" ", ""):
        raise Refused(400, {"error": "invalid", "description": f"unsupported: {query!r}"})
    for _, key, op, _ in terms:
        if key not in ("status", "priority", "created", "updated", "tags", "tag", "group") or (
            key in ("tags", "tag", "group") and op != ":"
        ):
            raise Refused(400, {"error": "invalid", "description": f"unsupported: {key}{op}"})
    return [t for t in tickets if all(_term(t, groups, *m) for m in terms)]


def _term(
    ticket: Json, groups: Mapping[int, Json], neg: str, key: str, op: str, value: str
) -> bool:
    value = value.strip('"')
    if key in ("status", "priority"):
        order = STATUSES if key == "status" else PRIORITIES
        have = order.index(ticket[key]) if ticket[key] in order else -1
        want = order.index(value) if value in order else -1
        hit = _ORDER[op](have, want)
    elif key in ("created", "updated"):
        hit = _when(ticket[f"{key}_at"], value, op)
    elif key in ("tags", "tag"):
        hit = value in ticket["tags"]
    else:  # group
        hit = groups.get(ticket["group_id"] or -1, {}).get("name") == value
    return hit != bool(neg)


def _when(stamp: str, value: str, op: str) -> bool:
    """A ticket's time against a date (its UTC day) or an instant, as Zendesk's search does."""
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if len(value) == 10:
        have, want = at.astimezone(UTC).date().toordinal(), date.fromisoformat(value).toordinal()
    else:
        bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
        have, want = int(at.timestamp()), int(bound.timestamp())
    return _ORDER[op](have, want)
