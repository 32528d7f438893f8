"""What every part of the Zendesk emulator shares: the JSON answer, refusals shaped like Zendesk's
error bodies, time stamps, and the two pagination styles."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from emulators.http import Answer

Json = dict[str, Any]
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "checkbox",
        "date",
        "integer",
        "decimal",
        "regexp",
        "tagger",
        "multiselect",
    }
)


FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner of"
    " this help desk for further help.",
}
#: Custom field types whose values are the tags of their options (`custom_field_options`).
DROPDOWNS = frozenset({"tagger", "multiselect"})


class Refused(Exception):
    """An error answer: `status` with Zendesk's error body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def invalid(description: str, **details: list[Json]) -> Refused:
    """422 RecordInvalid; `details` by attribute, as Zendesk names them."""
    body: Json = {"error": "RecordInvalid", "description": "Record validation errors"}
    body["details"] = details or {"base": [{"description": description}]}
    return Refused(422, body)


def not_found() -> Refused:
    return Refused(404, {"error": "RecordNotFound", "description": "Not found"})


def answer(status: int, body: Json, headers: Mapping[str, str] | None = None) -> Answer:
    out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return status, out, json.dumps(body).encode()


def stamp(moment: float) -> str:
    """Zendesk's time stamps: UTC to the second."""
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def show_many(key: str, items: Mapping[int, Json], q: Mapping[str, str]) -> Json:
    """`<resource>/show_many?ids=`: at most 100 ids, unknown ones left out."""
    ids = [int(i) for i in q.get("ids", "").split(",") if i.strip()]
    if len(ids) > 100:
        raise Refused(400, {"error": "TooManyValues", "description": "at most 100 ids"})
    return {key: [items[i] for i in ids if i in items], "next_page": None, "previous_page": None}


def cursor_page(key: str, items: list[Json], q: Mapping[str, str], limit: int) -> Json:
    """One cursor page of `items` (oldest first; `sort=-created_at` for newest first)."""
    if q.get("sort") == "-created_at":
        items = items[::-1]
    size = min(int(q.get("page[size]", str(limit))), limit)
    start = int(base64.b64decode(q["page[after]"])) if "page[after]" in q else 0
    page, more = items[start : start + size], len(items) > start + size
    cursor = base64.b64encode(str(start + size).encode()).decode() if more else None
    return {
        key: page,
        "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }
