"""The HTTP surface: fault injection, `handle`, routing, and the read endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from email.utils import formatdate
from functools import partial

from emulators.http import Answer, EmulatedTimeout, Request
from emulators.jira import access, filters, hooks, writes
from emulators.jira.jql import query
from emulators.jira.site import Site
from emulators.jira.wire import Call, Fault, Issue, Json, answer, names, one, request_args


class JiraEmulator(Site):
    """`handle(Request) -> (status, headers, body)`, plus faults."""

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        when: Callable[[Call], bool],
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        http_date: bool = False,
        body: Json = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (and nothing else happens):
        `body` as JSON or raw bytes, `headers` added, a Retry-After in seconds or as a date."""
        self.faults.append(
            Fault(when, times, status, retry_after, http_date, body, headers=dict(headers or {}))
        )

    def timeout_after_landing(self, when: Callable[[Call], bool], times: int = 1) -> None:
        self.faults.append(Fault(when, times, kind="timeout"))

    def timeout_before_landing(self, when: Callable[[Call], bool], times: int = 1) -> None:
        """The request is lost: nothing is applied, and the client sees a timeout."""
        self.faults.append(Fault(when, times, kind="lost"))

    def before(self, when: Callable[[Call], bool], action: Callable[[], None]) -> None:
        """Run `action` (a person's edit) just before the next matching request lands."""
        self.faults.append(Fault(when, 1, kind="before", action=action))

    def conflict(self, key: str, action: Callable[[], None]) -> None:
        """Run `action` just before the next request about issue `key` lands (a read of it
        with others in bulk included)."""
        self.before(lambda r: names(r, key), action)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Call]:
        return [
            r
            for r in self.log
            if (method is None or r.method == method) and (path is None or path in r.path)
        ]

    # --- the HTTP surface ---------------------------------------------------------------------

    def handle(self, sent: Request) -> Answer:
        try:
            data = json.loads(sent.body) if sent.body else None
        except ValueError:
            return answer(400, {"errorMessages": ["Invalid JSON"], "errors": {}})
        request = Call(sent.method.upper(), sent.path, sent.query, data)
        self.log.append(request)
        auth = {k.lower(): v for k, v in sent.headers.items()}.get("authorization", "")
        if not access.signed_in(self, auth):
            refused = {"errorMessages": ["You are not authenticated. Authentication required."]}
            return answer(401, refused, {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
        limits, over = access.rate(self)
        if over:
            return answer(429, {"errorMessages": ["Rate limit exceeded."]}, limits)
        status, out, raw = self._answer(request)
        taken = {k.lower() for k in out}  # a fault's own Retry-After wins
        return status, out | {k: v for k, v in limits.items() if k.lower() not in taken}, raw

    def find(self, ref: str) -> Issue | None:
        """An issue by key or by id, as Jira takes either in a path."""
        issue = self.issues.get(ref)
        if issue is None and ref.isdigit():
            key = self._keys_by_id.get(ref)
            if key is None or key not in self.issues:  # made (or gone) since: index again
                self._keys_by_id = {i.id: k for k, i in self.issues.items()}
                key = self._keys_by_id.get(ref)
            issue = self.issues.get(key) if key is not None else None
        return issue

    def forget_traffic(self) -> None:
        """Forget the requests received so far (the log and the rate-limit window): a sandbox
        after seeding starts as a platform nobody has called yet."""
        self.log.clear()
        self.window.clear()

    def spend_rate_limit(self, count: int) -> None:
        """`count` requests by others (people, other apps) in the current minute."""
        self.window.extend([self.clock()] * count)

    def _answer(self, request: Call) -> Answer:
        method, path = request.method, request.path
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
                raise EmulatedTimeout(f"{method} {path} was lost (not applied), then timed out")
            else:
                return self._fault(fault)
        result = self._route(request)
        if timeout and result[0] < 300:
            raise EmulatedTimeout(f"{method} {path} landed, then timed out")
        return result

    def _fault(self, fault: Fault) -> Answer:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = (
                formatdate(self.clock() + fault.retry_after, usegmt=True)
                if fault.http_date
                else str(int(fault.retry_after))
            )
        if isinstance(fault.body, bytes):
            return fault.status, headers, fault.body
        body = fault.body or {"errorMessages": [f"emulated {fault.status}"], "errors": {}}
        return answer(fault.status, body, headers)

    def changed(self, issue: Issue, event: str, by: str, comment: Json | None) -> None:
        hooks.fire(self, issue, event, by, comment)

    def _route(self, r: Call) -> Answer:
        if r.path.startswith("/rest/webhooks/"):
            return hooks.route(self, r.method, r.path, r.body)
        m = re.fullmatch(r"/rest/api/(2|3|latest)(/.*)", r.path)
        if not m or (m.group(1) == "3" and not self.cloud):
            return answer(404, {"errorMessages": ["Not found"]})
        version, rest = m.group(1), m.group(2)
        v3 = version == "3"
        issue_m = re.fullmatch(r"/issue/([^/]+)(/editmeta|/comment|/assignee|/changelog)?", rest)
        if rest == "/issue/bulkfetch" and self.cloud:
            return self._bulk_issues(r, v3) if r.method == "POST" else answer(405, {})
        if issue_m:
            issue = self.find(issue_m.group(1))
            if issue is None:
                return answer(
                    404,
                    {
                        "errorMessages": [
                            "Issue does not exist or you do not have permission to see it."
                        ]
                    },
                )
            sub = issue_m.group(2) or ""
            handlers: dict[tuple[str, str], Callable[[Call, Issue, bool], Answer]] = {
                ("GET", ""): self._get_issue,
                ("PUT", ""): partial(writes.put_issue, self),
                ("GET", "/editmeta"): self._editmeta,
                ("GET", "/comment"): self._get_comments,
                ("GET", "/changelog"): self._get_changelog,
                ("POST", "/comment"): partial(writes.post_comment, self),
                ("PUT", "/assignee"): partial(writes.assign, self),
            }
            handler = handlers.get((r.method, sub))
            return handler(r, issue, v3) if handler else answer(405, {})
        simple: dict[tuple[str, str], Callable[[Call, bool], Answer]] = {
            ("GET", "/serverInfo"): self._server_info,
            ("GET", "/myself"): lambda r, v3: answer(200, self.users[self.myself]),
            ("GET", "/field"): lambda r, v3: answer(200, self.fields),
            ("POST", "/field"): partial(writes.create_field, self),
            ("GET", "/status"): self._list_statuses,
            ("GET", "/user"): self._get_user,
            ("GET", "/user/search"): self._user_search,
            ("GET", "/group/member"): self._group_members,
            ("GET", "/search/jql"): self._search_jql,
            ("POST", "/search/jql"): self._search_jql,
            ("GET", "/search"): self._search_old,
            ("POST", "/search"): self._search_old,
            ("GET", "/mypermissions"): lambda r, v3: filters.my_permissions(self, r),
            ("GET", "/priority"): lambda r, v3: answer(200, self.priority_list()),
            ("GET", "/priority/search"): self._priority_search,
            ("POST", "/filter"): partial(filters.create_filter, self),
            ("GET", "/filter/search"): partial(filters.search_filters, self),
            ("GET", "/filter/favourite"): partial(filters.favourite_filters, self),
            ("POST", "/changelog/bulkfetch"): self._bulk_changelog,
        }
        fn = simple.get((r.method, rest))
        return fn(r, v3) if fn else answer(404, {"errorMessages": [f"no {rest}"]})

    # --- read endpoints -----------------------------------------------------------------------

    def _server_info(self, r: Call, v3: bool) -> Answer:
        if self.cloud:
            info = {
                "deploymentType": "Cloud",
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
            }
        else:
            info = {"deploymentType": "Server", "version": "9.12.2", "versionNumbers": [9, 12, 2]}
        return answer(
            200, info | {"baseUrl": self.base_url, "serverTitle": "Jira", "buildNumber": 100}
        )

    def _list_statuses(self, r: Call, v3: bool) -> Answer:
        return answer(200, [self.status_json(name) for name in self.statuses])

    def _get_user(self, r: Call, v3: bool) -> Answer:
        uid = one(r.query, "accountId" if self.cloud else "username")
        user = self.users.get(uid or "")
        if user is None:
            return answer(404, {"errorMessages": [f"User {uid!r} does not exist."]})
        return answer(200, user)

    def _group_members(self, r: Call, v3: bool) -> Answer:
        """A group's active members, a page at a time (`groupname`; Cloud also takes
        `groupId`, not modelled): 404 for a group that does not exist."""
        name = one(r.query, "groupname") or ""
        if name not in self.groups:
            return answer(404, {"errorMessages": [f"Group '{name}' does not exist."]})
        start = int(one(r.query, "startAt") or 0)
        size = min(int(one(r.query, "maxResults") or 50), 50)
        members = [self.users[u] for u in self.groups[name]]
        page = members[start : start + size]
        last = start + size >= len(members)
        body = {"startAt": start, "maxResults": size, "total": len(members), "isLast": last}
        return answer(200, body | {"values": page})

    def _user_search(self, r: Call, v3: bool) -> Answer:
        text = (one(r.query, "query") or one(r.query, "username") or "").lower()
        found = [u for u in self.users.values() if text in json.dumps(u).lower()]
        return answer(200, found)

    def _search_jql(self, r: Call, v3: bool) -> Answer:
        if not self.cloud:
            return answer(404, {"errorMessages": ["null for uri: .../search/jql"]})
        args = request_args(r)
        token = str(args.get("nextPageToken") or "")
        try:
            if token:  # "<snapshot>:<offset>": the result list is fixed by the first page
                snap, _, offset = token.partition(":")
                keys, start = self._snapshots[snap], int(offset)
            else:
                keys, start = (
                    query(
                        self.issues,
                        str(args.get("jql", "")),
                        bounded=True,
                        fields=self.fields,
                        now=self.clock(),
                        zone=self.zone(),
                    ),
                    0,
                )
                snap = f"s{len(self._snapshots) + 1}"
                self._snapshots[snap] = keys
        except (KeyError, ValueError) as exc:
            message = str(exc) if isinstance(exc, ValueError) else "Invalid nextPageToken"
            return answer(400, {"errorMessages": [message], "errors": {}})
        size = min(int(args.get("maxResults") or 50), self.page_limit)
        page = [
            self.issue_json(self.issues[k], args, v3, search=True)
            for k in keys[start : start + size]
            if k in self.issues
        ]
        body: Json = {"issues": page, "isLast": start + size >= len(keys)}
        if not body["isLast"]:
            body["nextPageToken"] = f"{snap}:{start + size}"
        return answer(200, body)

    def zone(self) -> str:
        """The caller's time zone (its profile's), in which JQL reads absolute dates."""
        return str(self.users[self.myself].get("timeZone") or "UTC")

    def _search_old(self, r: Call, v3: bool) -> Answer:
        if self.cloud:
            return answer(
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
        args = request_args(r)
        strict = str(args.get("validateQuery", "strict")).lower() in ("strict", "true")
        try:
            keys = query(
                self.issues,
                str(args.get("jql", "")),
                bounded=False,
                fields=self.fields,
                now=self.clock(),
                validate=strict,
                zone=self.zone(),
            )
        except ValueError as exc:
            return answer(400, {"errorMessages": [str(exc)], "errors": {}})
        start = int(args.get("startAt") or 0)
        size = min(int(args.get("maxResults") or 50), self.page_limit)
        page = [
            self.issue_json(self.issues[k], args, v3, search=True)
            for k in keys[start : start + size]
        ]
        return answer(
            200, {"startAt": start, "maxResults": size, "total": len(keys), "issues": page}
        )

    def priority_list(self) -> list[Json]:
        """GET /priority: every priority of the site."""
        return [self.priority_json(p["name"]) | {"description": p["name"]} for p in self.priorities]

    def _priority_search(self, r: Call, v3: bool) -> Answer:
        if not self.cloud:
            return answer(404, {"errorMessages": ["null for uri: .../priority/search"]})
        start, size = int(one(r.query, "startAt") or 0), int(one(r.query, "maxResults") or 50)
        values = self.priority_list()
        page = {"startAt": start, "maxResults": size, "total": len(values)}
        return answer(
            200,
            page | {"isLast": start + size >= len(values), "values": values[start : start + size]},
        )

    def _get_issue(self, r: Call, issue: Issue, v3: bool) -> Answer:
        return answer(200, self.issue_json(issue, request_args(r), v3, search=False))

    def _get_comments(self, r: Call, issue: Issue, v3: bool) -> Answer:
        start = int(one(r.query, "startAt") or 0)
        size = int(one(r.query, "maxResults") or 100)
        values = [self.comment_json(c, v3) for c in issue.comments[start : start + size]]
        return answer(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.comments),
                "comments": values,
            },
        )

    def _get_changelog(self, r: Call, issue: Issue, v3: bool) -> Answer:
        """The paginated changelog, oldest first: Cloud only (Data Center has no such endpoint:
        atlassian-python-api#1396 reports a 404 from Jira Server 9.12.7; DC's reference has
        none; its changelog comes with `expand=changelog`)."""
        if not self.cloud:
            return answer(404, {"errorMessages": ["null for uri: .../changelog"]})
        start = int(one(r.query, "startAt") or 0)
        size = min(int(one(r.query, "maxResults") or 100), 100)
        values = issue.changelog[start : start + size]
        total = len(issue.changelog)
        body = {"startAt": start, "maxResults": size, "total": total, "values": values}
        return answer(200, body | {"isLast": start + size >= total})

    def _editmeta(self, r: Call, issue: Issue, v3: bool) -> Answer:
        out = {}
        editable = self.editable(issue.project)
        for f in self.fields:
            fid = f["id"]
            comment = fid == "comment" and self.may("ADD_COMMENTS", issue.project)
            if fid not in editable and not (comment and editable):
                continue
            meta: Json = {
                "required": fid == "summary",
                "schema": f.get("schema", {}),
                "name": f["name"],
                "key": fid,
                "operations": ["set"],
            }
            if fid == "priority":
                meta["allowedValues"] = [
                    self.priority_json(n) for n in self.allowed_priorities(issue)
                ]
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
        return answer(200, {"fields": out})

    def _bulk_issues(self, r: Call, v3: bool) -> Answer:
        """Cloud's `POST /issue/bulkfetch`: up to 100 issues by id or key, in ascending id
        order; those not found (or not visible) are left out without an error; `fields` as a
        list (default `*navigable`), `expand` as a list (the changelog: its 40 latest
        entries)."""
        body = r.body if isinstance(r.body, dict) else {}
        unknown = set(body) - {"expand", "fields", "fieldsByKeys", "issueIdsOrKeys", "properties"}
        wanted = body.get("issueIdsOrKeys")
        if unknown or not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            return answer(400, {"errorMessages": ["Invalid request payload."], "errors": {}})
        if not 1 <= len(wanted) <= 100:
            message = "The number of issues requested must be between 1 and 100."
            return answer(400, {"errorMessages": [message], "errors": {}})
        fields = body.get("fields") or ["*navigable"]
        expand = body.get("expand") or []
        if not isinstance(fields, list) or not isinstance(expand, list):
            return answer(400, {"errorMessages": ["Invalid request payload."], "errors": {}})
        found = {i.id: i for ref in wanted if (i := self.find(ref)) is not None}
        args: dict[str, Json] = {"fields": ",".join(fields)}
        if "changelog" in expand:
            args["expand"] = "changelog"
        issues = []
        for iid in sorted(found, key=int):
            out = self.issue_json(found[iid], args, v3, search=False)
            if "changelog" in out:
                latest = out["changelog"]["histories"][:40]
                out["changelog"] |= {"histories": latest, "maxResults": len(latest)}
            issues.append(out)
        return answer(200, {"expand": ",".join(expand), "issues": issues, "issueErrors": []})

    def _bulk_changelog(self, r: Call, v3: bool) -> Answer:
        if not self.cloud:
            return answer(404, {})
        body = r.body or {}
        wanted = body.get("issueIdsOrKeys") or []
        if not 1 <= len(wanted) <= 1000:
            return answer(400, {"errorMessages": ["1 to 1000 issues"], "errors": {}})
        fids = set(body.get("fieldIds") or [])
        entries = []
        for ref in wanted:
            issue = self.find(ref) if isinstance(ref, str) else None
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
        return answer(200, out)
