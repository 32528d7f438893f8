"""The wire: the emulator's constants (system fields, statuses, priorities, permissions),
request and fault records, and JSON helpers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.http import Answer

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
SCREEN_ERROR = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."
KINDS = {  # kind -> (schema type, plugin type)
    "text": ("string", CF + "textfield"),
    "textarea": ("string", CF + "textarea"),
    "number": ("number", CF + "float"),
    "datetime": ("datetime", CF + "datetime"),
    "select": ("option", CF + "select"),
    "group": ("group", CF + "grouppicker"),
}
#: The searcher each creatable type takes (the REST API's "Create custom field": "You must
#: specify a searcher that is valid for the field type"); none: the field is not searchable.
SEARCHERS = {
    CF + "textfield": {CF + "textsearcher"},
    CF + "textarea": {CF + "textsearcher"},
    CF + "float": {CF + "exactnumber", CF + "numberrange"},
    CF + "datetime": {CF + "datetimerange"},
    CF + "select": {CF + "multiselectsearcher"},
    CF + "grouppicker": {CF + "grouppickersearcher"},
}
Json = Any
#: Every permission the emulated connector account holds unless a test takes some away.
PERMISSIONS = frozenset(
    {
        "BROWSE_PROJECTS",
        "EDIT_ISSUES",
        "ADD_COMMENTS",
        "ASSIGN_ISSUES",
        "ASSIGNABLE_USER",
        "TRANSITION_ISSUES",
        "CREATE_ISSUES",
        "CREATE_SHARED_OBJECTS",
        "ADMINISTER",
        "USER_PICKER",
    }
)
PRIORITY_NAMES = ("Highest", "High", "Medium", "Low", "Lowest")
STATUSES = {  # name -> (id, status category)
    "Open": ("1", "new"),
    "In Progress": ("3", "indeterminate"),
    "Waiting for customer": ("10001", "indeterminate"),
    "Done": ("10002", "done"),
}
READ_ONLY = {
    "created",
    "updated",
    "statuscategorychangedate",
    "status",
    "project",
    "comment",
    "reporter",
    "issuetype",
}
#: The system fields every site has, in the order GET /field lists them.
SYSTEM_FIELDS = (
    "summary",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "created",
    "updated",
    "statuscategorychangedate",
    "issuetype",
    "components",
    "project",
    "comment",
    "description",
)
SYSTEM_TYPES = {  # field id -> schema type; the others are datetimes
    "summary": "string",
    "description": "string",
    "labels": "array",
    "components": "array",
    "assignee": "user",
    "reporter": "user",
    "comment": "comments-page",
    "issuetype": "issuetype",
    "project": "project",
    "status": "status",
    "priority": "priority",
}
SYSTEM_TITLES = {"statuscategorychangedate": "Status Category Changed", "issuetype": "Issue Type"}


@dataclass
class Call:
    """A request as the emulator logs and routes it: its JSON body parsed."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Json


@dataclass
class Fault:
    when: Callable[[Call], bool]
    times: int
    status: int = 0
    retry_after: float | None = None
    http_date: bool = False
    body: Json = None  # JSON, or bytes sent as they are (b"": an empty body)
    kind: str = "status"  # "status" | "timeout" (after landing) | "lost" | "before"
    action: Callable[[], None] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Issue:
    id: str
    key: str
    project: str
    fields: dict[str, Json]
    comments: list[dict[str, Json]] = field(default_factory=list)
    changelog: list[dict[str, Json]] = field(default_factory=list)


def adf_text(node: Json) -> str:
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [adf_text(c) for c in node.get("content") or []]
    return "\n\n".join(parts) if node.get("type") == "doc" else "".join(parts)


def is_adf(body: Json) -> bool:
    return (
        isinstance(body, dict)
        and body.get("type") == "doc"
        and body.get("version") == 1
        and isinstance(body.get("content"), list)
    )


def answer(status: int, body: Json, headers: dict[str, str] | None = None) -> Answer:
    """A JSON answer."""
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def stamp(t: float) -> str:
    """Jira's time format: `2026-03-02T08:00:00.000+0000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}+0000"


DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")


def as_adf(text: str) -> Json:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}] if text else []}
        ],
    }


def ident(value: Json) -> Json:
    if isinstance(value, dict):
        return value.get("id") or value.get("accountId") or value.get("name") or value.get("value")
    return None if value is None else (" ".join(value) if isinstance(value, list) else str(value))


def string(value: Json) -> str | None:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or value.get("displayName"))
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return None if value is None else str(value)


def one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def names(r: Call, key: str) -> bool:
    """Whether request `r` is about issue `key`: its path, a bulk fetch naming it, or a
    search whose JQL names it (`key in (...)`)."""
    if f"/issue/{key}" in r.path:
        return True
    if r.path.endswith("/issue/bulkfetch") and isinstance(r.body, dict):
        return key in (r.body.get("issueIdsOrKeys") or ())
    jql = str(request_args(r).get("jql") or "") if "/search" in r.path else ""
    return re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", jql, re.I) is not None


def request_args(r: Call) -> dict[str, Json]:
    """A request's parameters, from the query string (GET) or the JSON body (POST)."""
    if r.method == "POST" and isinstance(r.body, dict):
        args = dict(r.body)
        if isinstance(args.get("fields"), list):
            args["fields"] = ",".join(args["fields"])
        return args
    args = {k: v[0] for k, v in r.query.items() if v}
    if "fields" in r.query:
        args["fields"] = ",".join(r.query["fields"])
    return args


def system_field(fid: str) -> Json:
    """A system field as GET /field shows it."""
    schema: Json = {"type": SYSTEM_TYPES.get(fid, "datetime"), "system": fid}
    if fid in ("labels", "components"):
        schema["items"] = "string" if fid == "labels" else "component"
    return {
        "id": fid,
        "key": fid,
        "name": SYSTEM_TITLES.get(fid, fid.capitalize()),
        "custom": False,
        "orderable": fid not in READ_ONLY,
        "navigable": True,
        "searchable": True,
        "clauseNames": [fid],
        "schema": schema,
    }
