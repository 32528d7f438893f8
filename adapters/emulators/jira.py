"""A stateful in-process Jira, Cloud or Data Center, answering like the REST API does.

`JiraEmulator.handle(method, path, query, headers, body) -> (status, headers, body)` is pure
code: no sockets, no `responses`, and time comes from the injected `clock`. Bind it to
`responses` (tests) or to `adapters.emulators.server.EmulatorServer` (end-to-end runs).

What it models (payload shapes from the API reference and the OpenAPI examples):
- serverInfo (`deploymentType` Cloud or Server), myself, field (GET/POST), status, user (exact
  lookup) and user/search (answered, and logged, so tests can prove it is never called);
- Cloud: `search/jql` (GET/POST, `nextPageToken`/`isLast`, no total) and 410 on the old
  `/search`; `changelog/bulkfetch`; API v3 comment bodies in ADF, v2 in wiki text;
- Data Center: `/rest/api/2/search` (`startAt`/`maxResults`/`total`, `expand=changelog`),
  404 on `search/jql` and on API v3;
- issues: GET (fields, expand=changelog), PUT (fields + update verbs, the edit-screen check and
  its 400, priorities allowed per project, option values, users by accountId or name),
  editmeta, comments (GET, POST with the JSM `sd.public.comment` property or `visibility`, the
  per-issue comment limit: 413), a changelog entry per edit;
- a small JQL subset: `field op value` clauses joined by AND (statusCategory, status, project,
  priority, labels, key; `=`, `!=`, `in`, `not in`), `ORDER BY key|created ASC|DESC`.

Fault injection (`fail`, `timeout_after_landing`, `conflict`): a given answer for the next N
requests matching a predicate, a Retry-After in seconds or as an HTTP date, "apply the write
then raise `LandedTimeout`" (the binding turns it into a read timeout), and "an agent edits the
issue just before our next request to it lands".
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

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
Json = Any
Answer = tuple[int, dict[str, str], bytes]


class LandedTimeout(Exception):
    """The client must now see a read timeout (the write was applied, unless it was "lost")."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Json


@dataclass
class Fault:
    when: Callable[[Request], bool]
    times: int
    status: int = 0
    retry_after: float | None = None
    http_date: bool = False
    body: Json = None
    kind: str = "status"  # "status" | "timeout" (after landing) | "lost" | "before"
    action: Callable[[], None] | None = None


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


class JiraEmulator:
    def __init__(
        self,
        *,
        flavour: str = "cloud",
        base_url: str = "https://acme.atlassian.net",
        clock: Callable[[], float] = time.time,
        page_limit: int = 100,
        comment_limit: int = 5000,
        search_comment_limit: int | None = None,
    ) -> None:
        self.cloud = flavour == "cloud"
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.page_limit = page_limit
        self.comment_limit = comment_limit
        self.search_comment_limit = search_comment_limit
        self.log: list[Request] = []
        self.faults: list[Fault] = []
        self.users: dict[str, Json] = {}
        self.fields: list[Json] = []
        self.options: dict[str, list[str]] = {}
        self.screens: dict[str, set[str]] = {}
        self.priorities = [
            {"id": str(i), "name": n}
            for i, n in enumerate(["Highest", "High", "Medium", "Low", "Lowest"], 1)
        ]
        self.project_priorities: dict[str, list[str]] = {}
        self.statuses = {
            "Open": ("1", "new"),
            "In Progress": ("3", "indeterminate"),
            "Waiting for customer": ("10001", "indeterminate"),
            "Done": ("10002", "done"),
        }
        self.issues: dict[str, Issue] = {}
        self._next_issue = 10000
        self._next_field = 10050
        self._snapshots: dict[str, list[str]] = {}
        self.myself = self.add_user("connector", "Escalation Bot", "bot@example.com")
        self.agent = self.add_user("agent", "Ann Agent", "ann@example.com")
        self.customer = self.add_user(
            "customer", "Cy Customer", "cy@customer.test", account_type="customer"
        )
        for name in ("summary", "status", "priority", "labels", "assignee", "reporter"):
            self._system(name)
        for name in ("created", "updated", "statuscategorychangedate", "issuetype"):
            self._system(name)
        for name in ("components", "project", "comment", "description"):
            self._system(name)

    # --- setup, and what agents do ------------------------------------------------------------

    def add_user(self, uid: str, name: str, email: str, *, account_type: str = "atlassian") -> str:
        user: dict[str, Json]
        if self.cloud:
            user = {"accountId": uid, "accountType": account_type}
        else:
            user = {"name": uid, "key": f"JIRAUSER{len(self.users) + 10000}"}
        user |= {"displayName": name, "emailAddress": email, "active": True}
        user["self"] = (
            f"{self.base_url}/rest/api/2/user?{'accountId' if self.cloud else 'username'}={uid}"
        )
        self.users[uid] = user
        return uid

    def add_field(
        self, name: str, kind: str = "text", *, options: Iterable[str] = (), screen: bool = True
    ) -> str:
        fid = f"customfield_{self._next_field}"
        self._next_field += 1
        schema_type, plugin = KINDS[kind]
        self.fields.append(
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{fid.split('_')[1]}]", name],
                "schema": {"type": schema_type, "custom": plugin, "customId": int(fid[12:])},
            }
        )
        self.options[fid] = list(options)
        if screen:
            for editable in self.screens.values():
                editable.add(fid)
        return fid

    def add_project(self, key: str, priorities: Iterable[str] | None = None) -> None:
        self.screens[key] = {f["id"] for f in self.fields if f["id"] not in _READ_ONLY}
        if priorities is not None:
            self.project_priorities[key] = list(priorities)

    def field_id(self, name: str) -> str:
        return str(next(f["id"] for f in self.fields if f["name"] == name))

    def create_issue(
        self,
        project: str = "SUP",
        *,
        summary: str = "Printer on fire",
        priority: str = "Medium",
        status: str = "Open",
        labels: Iterable[str] = (),
        values: dict[str, Json] | None = None,
        reporter: str | None = None,
        description: str | None = None,
    ) -> str:
        if project not in self.screens:
            self.add_project(project)
        self._next_issue += 1
        number = sum(1 for i in self.issues.values() if i.project == project) + 1
        key = f"{project}-{number}"
        now = self.now()
        fields: dict[str, Json] = {
            "summary": summary,
            "status": self._status(status),
            "priority": self._priority(priority),
            "labels": sorted(labels),
            "assignee": None,
            "reporter": self.users[reporter or self.customer],
            "created": now,
            "updated": now,
            "statuscategorychangedate": now,
            "issuetype": {"id": "10003", "name": "Task"},
            "components": [],
            "project": {"id": "10000", "key": project, "name": project},
            "description": description,
        }
        for name, value in (values or {}).items():
            fields[self.field_id(name)] = value
        self.issues[key] = Issue(str(self._next_issue), key, project, fields)
        return key

    def edit(
        self,
        key: str,
        *,
        by: str | None = None,
        priority: str | None = None,
        add_labels: Iterable[str] = (),
        values: dict[str, Json] | None = None,
        status: str | None = None,
    ) -> None:
        """A person's edit in the UI: changes, a changelog entry, a new `updated`."""
        issue = self.issues[key]
        changes: dict[str, Json] = {}
        if priority is not None:
            changes["priority"] = self._priority(priority)
        if add_labels:
            changes["labels"] = sorted(set(issue.fields["labels"]) | set(add_labels))
        if status is not None:
            changes["status"] = self._status(status)
            issue.fields["statuscategorychangedate"] = self.now()
        for name, value in (values or {}).items():
            changes[self.field_id(name)] = value
        self._apply(issue, changes, by or self.agent)

    def add_comment(
        self, key: str, text: str, *, by: str | None = None, internal: bool = False
    ) -> None:
        issue = self.issues[key]
        props = [{"key": "sd.public.comment", "value": {"internal": True}}] if internal else []
        issue.comments.append(self._comment(issue, text, by or self.customer, props, None))

    def delete(self, key: str) -> None:
        del self.issues[key]

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        when: Callable[[Request], bool],
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        http_date: bool = False,
        body: Json = None,
    ) -> None:
        self.faults.append(Fault(when, times, status, retry_after, http_date, body))

    def timeout_after_landing(self, when: Callable[[Request], bool], times: int = 1) -> None:
        self.faults.append(Fault(when, times, kind="timeout"))

    def timeout_before_landing(self, when: Callable[[Request], bool], times: int = 1) -> None:
        """The request is lost: nothing is applied, and the client sees a timeout."""
        self.faults.append(Fault(when, times, kind="lost"))

    def before(self, when: Callable[[Request], bool], action: Callable[[], None]) -> None:
        """Run `action` (a person's edit) just before the next matching request lands."""
        self.faults.append(Fault(when, 1, kind="before", action=action))

    def conflict(self, key: str, action: Callable[[], None]) -> None:
        """Run `action` just before the next request about issue `key` lands."""
        self.before(lambda r: f"/issue/{key}" in r.path, action)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [
            r
            for r in self.log
            if (method is None or r.method == method) and (path is None or path in r.path)
        ]

    # --- the HTTP surface ---------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return self._json(400, {"errorMessages": ["Invalid JSON"], "errors": {}})
        request = Request(method.upper(), path, query, data)
        self.log.append(request)
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not auth.startswith("Basic " if self.cloud else "Bearer "):
            return self._json(401, {"errorMessages": ["You are not authenticated."]})
        timeout = False
        for fault in list(self.faults):
            if fault.times <= 0 or not fault.when(request):
                continue
            fault.times -= 1
            if fault.kind == "before" and fault.action is not None:
                fault.action()
            elif fault.kind == "timeout":
                timeout = True
            elif fault.kind == "lost":
                raise LandedTimeout(f"{method} {path} was lost (not applied), then timed out")
            else:
                return self._fault(fault)
        answer = self._route(request)
        if timeout and answer[0] < 300:
            raise LandedTimeout(f"{method} {path} landed, then timed out")
        return answer

    def _fault(self, fault: Fault) -> Answer:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = (
                formatdate(self.clock() + fault.retry_after, usegmt=True)
                if fault.http_date
                else str(int(fault.retry_after))
            )
        body = fault.body or {"errorMessages": [f"emulated {fault.status}"], "errors": {}}
        return self._json(fault.status, body, headers)

    def _route(self, r: Request) -> Answer:
        m = re.fullmatch(r"/rest/api/(2|3|latest)(/.*)", r.path)
        if not m or (m.group(1) == "3" and not self.cloud):
            return self._json(404, {"errorMessages": ["Not found"]})
        version, rest = m.group(1), m.group(2)
        v3 = version == "3"
        issue_m = re.fullmatch(r"/issue/([^/]+)(/editmeta|/comment)?", rest)
        if issue_m:
            issue = self.issues.get(issue_m.group(1))
            if issue is None:
                return self._json(
                    404,
                    {
                        "errorMessages": [
                            "Issue does not exist or you do not have permission to see it."
                        ]
                    },
                )
            sub = issue_m.group(2) or ""
            handler = {
                ("GET", ""): self._get_issue,
                ("PUT", ""): self._put_issue,
                ("GET", "/editmeta"): self._editmeta,
                ("GET", "/comment"): self._get_comments,
                ("POST", "/comment"): self._post_comment,
            }.get((r.method, sub))
            return handler(r, issue, v3) if handler else self._json(405, {})
        simple: dict[tuple[str, str], Callable[[Request, bool], Answer]] = {
            ("GET", "/serverInfo"): self._server_info,
            ("GET", "/myself"): lambda r, v3: self._json(200, self.users[self.myself]),
            ("GET", "/field"): lambda r, v3: self._json(200, self.fields),
            ("POST", "/field"): self._create_field,
            ("GET", "/status"): self._list_statuses,
            ("GET", "/user"): self._get_user,
            ("GET", "/user/search"): self._user_search,
            ("GET", "/search/jql"): self._search_jql,
            ("POST", "/search/jql"): self._search_jql,
            ("GET", "/search"): self._search_old,
            ("POST", "/search"): self._search_old,
            ("POST", "/changelog/bulkfetch"): self._bulk_changelog,
        }
        fn = simple.get((r.method, rest))
        return fn(r, v3) if fn else self._json(404, {"errorMessages": [f"no {rest}"]})

    # --- read endpoints -----------------------------------------------------------------------

    def _server_info(self, r: Request, v3: bool) -> Answer:
        if self.cloud:
            info = {
                "deploymentType": "Cloud",
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
            }
        else:
            info = {"deploymentType": "Server", "version": "9.12.2", "versionNumbers": [9, 12, 2]}
        return self._json(
            200, info | {"baseUrl": self.base_url, "serverTitle": "Jira", "buildNumber": 100}
        )

    def _list_statuses(self, r: Request, v3: bool) -> Answer:
        return self._json(200, [self._status(name) for name in self.statuses])

    def _get_user(self, r: Request, v3: bool) -> Answer:
        uid = _one(r.query, "accountId" if self.cloud else "username")
        user = self.users.get(uid or "")
        if user is None:
            return self._json(404, {"errorMessages": [f"User {uid!r} does not exist."]})
        return self._json(200, user)

    def _user_search(self, r: Request, v3: bool) -> Answer:
        text = (_one(r.query, "query") or _one(r.query, "username") or "").lower()
        found = [u for u in self.users.values() if text in json.dumps(u).lower()]
        return self._json(200, found)

    def _search_jql(self, r: Request, v3: bool) -> Answer:
        if not self.cloud:
            return self._json(404, {"errorMessages": ["null for uri: .../search/jql"]})
        args = _args(r)
        token = str(args.get("nextPageToken") or "")
        try:
            if token:  # "<snapshot>:<offset>": the result list is fixed by the first page
                snap, _, offset = token.partition(":")
                keys, start = self._snapshots[snap], int(offset)
            else:
                keys, start = self._query(str(args.get("jql", "")), bounded=True), 0
                snap = f"s{len(self._snapshots) + 1}"
                self._snapshots[snap] = keys
        except (KeyError, ValueError) as exc:
            message = str(exc) if isinstance(exc, ValueError) else "Invalid nextPageToken"
            return self._json(400, {"errorMessages": [message], "errors": {}})
        size = min(int(args.get("maxResults") or 50), self.page_limit)
        page = [
            self._issue_json(self.issues[k], args, v3, search=True)
            for k in keys[start : start + size]
            if k in self.issues
        ]
        body: Json = {"issues": page, "isLast": start + size >= len(keys)}
        if not body["isLast"]:
            body["nextPageToken"] = f"{snap}:{start + size}"
        return self._json(200, body)

    def _search_old(self, r: Request, v3: bool) -> Answer:
        if self.cloud:
            return self._json(
                410,
                {
                    "errorMessages": [
                        "The requested API has been removed. Please migrate to the"
                        " /rest/api/3/search/jql API. A full migration guideline is available at"
                        " https://developer.atlassian.com/changelog/#CHANGE-2046"
                    ],
                    "errors": {},
                },
            )
        args = _args(r)
        try:
            keys = self._query(str(args.get("jql", "")), bounded=False)
        except ValueError as exc:
            return self._json(400, {"errorMessages": [str(exc)], "errors": {}})
        start = int(args.get("startAt") or 0)
        size = min(int(args.get("maxResults") or 50), self.page_limit)
        page = [
            self._issue_json(self.issues[k], args, v3, search=True)
            for k in keys[start : start + size]
        ]
        return self._json(
            200, {"startAt": start, "maxResults": size, "total": len(keys), "issues": page}
        )

    def _get_issue(self, r: Request, issue: Issue, v3: bool) -> Answer:
        return self._json(200, self._issue_json(issue, _args(r), v3, search=False))

    def _get_comments(self, r: Request, issue: Issue, v3: bool) -> Answer:
        start = int(_one(r.query, "startAt") or 0)
        size = int(_one(r.query, "maxResults") or 100)
        values = [self._comment_json(c, v3) for c in issue.comments[start : start + size]]
        return self._json(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.comments),
                "comments": values,
            },
        )

    def _editmeta(self, r: Request, issue: Issue, v3: bool) -> Answer:
        out = {}
        for f in self.fields:
            fid = f["id"]
            if fid not in self.screens[issue.project] and fid != "comment":
                continue
            meta: Json = {
                "required": fid == "summary",
                "schema": f.get("schema", {}),
                "name": f["name"],
                "key": fid,
                "operations": ["set"],
            }
            if fid == "priority":
                meta["allowedValues"] = [self._priority(n) for n in self._allowed(issue)]
            elif self.options.get(fid):
                meta["allowedValues"] = [
                    {
                        "self": f"{self.base_url}/rest/api/2/customFieldOption/{i}",
                        "value": v,
                        "id": str(i),
                    }
                    for i, v in enumerate(self.options[fid], 10100)
                ]
            out[fid] = meta
        return self._json(200, {"fields": out})

    def _bulk_changelog(self, r: Request, v3: bool) -> Answer:
        if not self.cloud:
            return self._json(404, {})
        body = r.body or {}
        wanted = body.get("issueIdsOrKeys") or []
        if not 1 <= len(wanted) <= 1000:
            return self._json(400, {"errorMessages": ["1 to 1000 issues"], "errors": {}})
        fids = set(body.get("fieldIds") or [])
        entries = []
        for ref in wanted:
            issue = next((i for i in self.issues.values() if ref in (i.id, i.key)), None)
            for h in issue.changelog if issue else ():
                items = [it for it in h["items"] if not fids or it["fieldId"] in fids]
                if items:
                    entries.append((issue.id, {**h, "items": items}))  # type: ignore[union-attr]
        start = int(body.get("nextPageToken") or 0)
        size = int(body.get("maxResults") or 1000)
        logs: dict[str, list[Json]] = {}
        for iid, h in entries[start : start + size]:
            logs.setdefault(iid, []).append(h)
        out: Json = {
            "issueChangeLogs": [{"issueId": i, "changeHistories": hs} for i, hs in logs.items()]
        }
        if start + size < len(entries):
            out["nextPageToken"] = str(start + size)
        return self._json(200, out)

    # --- write endpoints ----------------------------------------------------------------------

    def _create_field(self, r: Request, v3: bool) -> Answer:
        body = r.body or {}
        plugin = str(body.get("type", ""))
        kind = next((k for k, (_, p) in KINDS.items() if p == plugin), None)
        if kind is None or not body.get("name"):
            return self._json(400, {"errorMessages": [f"unknown type {plugin!r}"], "errors": {}})
        fid = self.add_field(str(body["name"]), kind, screen=False)  # the API adds no screens
        return self._json(201, next(f for f in self.fields if f["id"] == fid))

    def _put_issue(self, r: Request, issue: Issue, v3: bool) -> Answer:
        body = r.body if isinstance(r.body, dict) else {}
        editable = self.screens[issue.project]
        errors: dict[str, str] = {}
        changes: dict[str, Json] = {}
        for fid, value in (body.get("fields") or {}).items():
            if fid not in editable:
                errors[fid] = SCREEN_ERROR.format(fid)
                continue
            try:
                changes[fid] = self._value(fid, value, issue, v3)
            except ValueError as exc:
                errors[fid] = str(exc)
        added: list[Json] = []
        for fid, ops in (body.get("update") or {}).items():
            if fid == "comment":
                for op in ops:
                    text = (op.get("add") or {}).get("body")
                    if not (is_adf(text) if v3 else isinstance(text, str)):
                        errors["comment"] = "Comment body is not valid!"
                    added.append(op.get("add") or {})
            elif fid == "labels" and fid in editable:
                labels = set(issue.fields["labels"])
                for op in ops:
                    labels |= {op["add"]} if "add" in op else set()
                    labels -= {op["remove"]} if "remove" in op else set()
                    labels = set(op["set"]) if "set" in op else labels
                changes["labels"] = sorted(labels)
            else:
                errors[fid] = SCREEN_ERROR.format(fid)
        if errors:
            return self._json(400, {"errorMessages": [], "errors": errors})
        if added and len(issue.comments) + len(added) > self.comment_limit:
            return self._json(413, {"errorMessages": ["This issue has reached its comment limit."]})
        self._apply(issue, changes, self.myself)
        for add in added:
            issue.comments.append(self._comment(issue, add["body"], self.myself, [], None))
        return 204, {}, b""

    def _post_comment(self, r: Request, issue: Issue, v3: bool) -> Answer:
        body = r.body if isinstance(r.body, dict) else {}
        text = body.get("body")
        if not (is_adf(text) if v3 else isinstance(text, str)):
            return self._json(400, {"errorMessages": ["Comment body is not valid!"], "errors": {}})
        if len(issue.comments) >= self.comment_limit:
            return self._json(413, {"errorMessages": ["This issue has reached its comment limit."]})
        comment = self._comment(
            issue, text, self.myself, body.get("properties") or [], body.get("visibility")
        )
        issue.comments.append(comment)
        issue.fields["updated"] = comment["created"]
        return self._json(201, self._comment_json(comment, v3))

    def _value(self, fid: str, value: Json, issue: Issue, v3: bool) -> Json:
        if fid == "priority":
            allowed = self._allowed(issue)
            by_id = {p["id"]: p["name"] for p in self.priorities}
            name = value.get("name") or by_id.get(str(value.get("id")))
            if name not in allowed:
                raise ValueError("The priority selected is invalid.")
            return self._priority(name)
        if fid == "assignee":
            if value is None:
                return None
            uid = value.get("accountId" if self.cloud else "name")
            if uid not in self.users:
                raise ValueError(f"User '{uid}' does not exist.")
            return self.users[uid]
        if fid == "summary":
            return str(value)
        spec = next(f for f in self.fields if f["id"] == fid)["schema"]
        kind = spec["type"]
        if value is None:
            return None
        if kind == "string" and spec.get("custom", "").endswith("textarea") and v3:
            if not is_adf(value):
                raise ValueError("Operation value must be an Atlassian Document (see ADF).")
            return value
        if kind == "string" and isinstance(value, str):
            return value
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind == "datetime" and isinstance(value, str) and _DATETIME.fullmatch(value):
            return value
        if kind == "option" and isinstance(value, dict):
            options = self.options.get(fid, [])
            if value.get("value") in options:
                return {
                    "self": "",
                    "value": value["value"],
                    "id": str(10100 + options.index(value["value"])),
                }
            raise ValueError(f"Option value '{value.get('value')}' is not valid")
        if kind == "group" and isinstance(value, dict) and value.get("name"):
            return {"name": value["name"]}
        raise ValueError(f"Operation value must be a {kind}")

    def _apply(self, issue: Issue, changes: dict[str, Json], by: str) -> None:
        items = []
        for fid, new in changes.items():
            old = issue.fields.get(fid)
            if old == new:
                continue
            if fid == "status" and old and old["statusCategory"] != new["statusCategory"]:
                issue.fields["statuscategorychangedate"] = self.now()
            issue.fields[fid] = new
            spec = next((f for f in self.fields if f["id"] == fid), {"name": fid})
            items.append(
                {
                    "field": spec["name"] if fid.startswith("customfield_") else fid,
                    "fieldtype": "custom" if fid.startswith("customfield_") else "jira",
                    "fieldId": fid,
                    "from": _ident(old),
                    "fromString": _string(old),
                    "to": _ident(new),
                    "toString": _string(new),
                }
            )
        if items:
            now = self.now()
            issue.changelog.append(
                {
                    "id": str(len(issue.changelog) + 1000),
                    "author": self.users[by],
                    "created": now,
                    "items": items,
                }
            )
            issue.fields["updated"] = now

    def _comment(
        self, issue: Issue, body: Json, by: str, props: list[Json], visibility: Json
    ) -> dict[str, Json]:
        now = self.now()
        issue.fields["updated"] = now
        return {
            "id": str(20000 + sum(len(i.comments) for i in self.issues.values())),
            "author": self.users[by],
            "body": body,
            "created": now,
            "updated": now,
            "properties": props,
            "visibility": visibility,
        }

    # --- rendering ----------------------------------------------------------------------------

    def _issue_json(self, issue: Issue, args: dict[str, Json], v3: bool, search: bool) -> Json:
        requested = [f for f in str(args.get("fields") or "").split(",") if f]
        if not requested:
            requested = ["id"] if search and self.cloud else ["*all"]
        names = [f["id"] for f in self.fields]
        wanted = names if "*all" in requested or "*navigable" in requested else requested
        fields = {}
        for fid in wanted:
            if fid not in names:
                continue
            value = issue.fields.get(fid)
            if fid == "comment":
                shown = issue.comments
                if search and self.search_comment_limit is not None:
                    shown = shown[: self.search_comment_limit]
                value = {
                    "comments": [self._comment_json(c, v3) for c in shown],
                    "maxResults": len(shown),
                    "total": len(issue.comments),
                    "startAt": 0,
                }
            elif v3 and isinstance(value, str) and (fid == "description" or self._textarea(fid)):
                value = _as_adf(value)
            fields[fid] = value
        out: Json = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }
        if "changelog" in str(args.get("expand") or ""):
            histories = list(reversed(issue.changelog))
            if self.cloud and not search:
                histories = histories[:100]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(issue.changelog),
                "histories": histories,
            }
        return out

    def _comment_json(self, c: dict[str, Json], v3: bool) -> Json:
        body = c["body"]
        body = (_as_adf(body) if isinstance(body, str) else body) if v3 else adf_text(body)
        out = {
            "self": "",
            "id": c["id"],
            "author": c["author"],
            "updateAuthor": c["author"],
            "body": body,
            "created": c["created"],
            "updated": c["updated"],
        }
        internal = any(
            p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal")
            for p in c["properties"]
        )
        if self.cloud:
            out["jsdPublic"] = not internal
        if c["visibility"]:
            out["visibility"] = c["visibility"]
        return out

    def _textarea(self, fid: str) -> bool:
        spec: Json = next((f for f in self.fields if f["id"] == fid), {})
        return str(spec.get("schema", {}).get("custom", "")).endswith("textarea")

    def _status(self, name: str) -> Json:
        sid, cat = self.statuses[name]
        return {
            "self": f"{self.base_url}/rest/api/2/status/{sid}",
            "id": sid,
            "name": name,
            "statusCategory": {
                "id": {"new": 2, "indeterminate": 4, "done": 3}[cat],
                "key": cat,
                "name": CATEGORY_NAMES[cat],
            },
        }

    def _priority(self, name: str) -> Json:
        pid = next(p["id"] for p in self.priorities if p["name"] == name)
        return {"self": f"{self.base_url}/rest/api/2/priority/{pid}", "id": pid, "name": name}

    def _allowed(self, issue: Issue) -> list[str]:
        return self.project_priorities.get(issue.project) or [p["name"] for p in self.priorities]

    def _system(self, fid: str) -> None:
        types = {
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
        schema: Json = {"type": types.get(fid, "datetime"), "system": fid}
        if fid in ("labels", "components"):
            schema["items"] = "string" if fid == "labels" else "component"
        title = {
            "statuscategorychangedate": "Status Category Changed",
            "issuetype": "Issue Type",
        }.get(fid, fid.capitalize())
        self.fields.append(
            {
                "id": fid,
                "key": fid,
                "name": title,
                "custom": False,
                "orderable": fid not in _READ_ONLY,
                "navigable": True,
                "searchable": True,
                "clauseNames": [fid],
                "schema": schema,
            }
        )

    def now(self) -> str:
        t = self.clock()
        return (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}+0000"
        )

    def _json(self, status: int, body: Json, headers: dict[str, str] | None = None) -> Answer:
        return (
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(body).encode(),
        )

    # --- JQL ----------------------------------------------------------------------------------

    def _query(self, jql: str, *, bounded: bool) -> list[str]:
        text, order = jql.strip(), ("key", "asc")
        m = re.search(r"\border\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", text, re.I)
        if m:
            text, order = (
                text[: m.start()].strip(),
                (m.group(1).lower(), (m.group(2) or "asc").lower()),
            )
        if not text and bounded:
            raise ValueError(
                "Unbounded JQL queries are not allowed here. Please add a search"
                " restriction to your query."
            )
        tests = [self._clause(c) for c in re.split(r"\s+and\s+", text, flags=re.I) if c]
        keys = [k for k, i in self.issues.items() if all(t(i) for t in tests)]

        def sort_key(k: str) -> tuple[str, int, str]:
            project, number = k.rsplit("-", 1)
            created = self.issues[k].fields["created"] if order[0] == "created" else ""
            return created, 0, "" if order[0] == "created" else f"{project}-{int(number):09d}"

        return sorted(keys, key=sort_key, reverse=order[1] == "desc")

    def _clause(self, clause: str) -> Callable[[Issue], bool]:
        m = re.fullmatch(r'\s*"?([\w ]+?)"?\s*(!=|=|not in|in)\s*(.+?)\s*', clause, re.I)
        if not m:
            raise ValueError(f"Error in the JQL Query: cannot parse {clause!r}")
        name, op, raw = m.group(1).lower(), m.group(2).lower(), m.group(3)
        values = {v.strip().strip('"').lower() for v in raw.strip("()").split(",")}
        getters: dict[str, Callable[[Issue], set[str]]] = {
            "statuscategory": lambda i: {
                i.fields["status"]["statusCategory"]["name"].lower(),
                i.fields["status"]["statusCategory"]["key"].lower(),
            },
            "status": lambda i: {i.fields["status"]["name"].lower()},
            "project": lambda i: {i.project.lower()},
            "priority": lambda i: {(i.fields["priority"] or {}).get("name", "").lower()},
            "labels": lambda i: {t.lower() for t in i.fields["labels"]},
            "key": lambda i: {i.key.lower()},
        }
        get = getters.get(name)
        if get is None:
            raise ValueError(
                f"Field '{m.group(1)}' does not exist or you do not have permission to view it."
            )
        negate = op in ("!=", "not in")
        return lambda i: bool(get(i) & values) != negate


_READ_ONLY = {
    "created",
    "updated",
    "statuscategorychangedate",
    "status",
    "project",
    "comment",
    "reporter",
    "issuetype",
}
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")


def _as_adf(text: str) -> Json:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}] if text else []}
        ],
    }


def _ident(value: Json) -> Json:
    if isinstance(value, dict):
        return value.get("id") or value.get("accountId") or value.get("name") or value.get("value")
    return None if value is None else (" ".join(value) if isinstance(value, list) else str(value))


def _string(value: Json) -> str | None:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or value.get("displayName"))
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return None if value is None else str(value)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _args(r: Request) -> dict[str, Json]:
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
