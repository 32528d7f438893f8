"""A stateful Zendesk Support API, in process: tickets, fields, users, groups, comments, audits,
metric sets, update_many jobs and OAuth tokens, answering like the real API (shapes from the
published OpenAPI document and the API reference), with faults on demand.

    zd = ZendeskEmulator(clock=fake.clock)
    tid = zd.add_ticket(subject="Printer on fire", priority="urgent", group="Support L1")
    status, headers, body = zd.handle("GET", "/api/v2/tickets/1.json", {}, auth_headers, None)

What it enforces, as Zendesk does: authentication (API token, OAuth bearer, client-credentials
tokens that expire), `safe_update` (409 UpdateConflict when `updated_stamp` is not the ticket's
`updated_at`), `tags` replacing the tag list while `additional_tags`/`remove_tags` do not, one
comment per update with `public` defaulting to true, 422 RecordInvalid naming the custom field,
404 RecordNotFound, at most 100 tickets per `update_many` job and per `show_many`, 1,000 per
search export page, `type:` refused in the export query, and the plain search's 1,000-result cap.
`updated_at` has one-second resolution and always moves forward on a change, so `safe_update`
works with a frozen test clock.

Faults: `fail(method, path_regex, status, times, headers, when)` answers a status;
`timeout_after_landing(method, path_regex)` applies the request and then raises
`EmulatedTimeout` (the `responses` binding turns it into `requests.ReadTimeout`; an HTTP server
should drop the connection), `timeout_before_landing` raises it without applying;
`before_write(ticket_id, fn)` runs `fn` just before the next write to that ticket lands (a human
edit racing the connector).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
Answer = tuple[int, dict[str, str], bytes]
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
CONTRACT_FIELDS = (
    ("Escalation level", "text"),
    ("Escalated at", "text"),
    ("Escalation rule", "text"),
    ("Escalation count", "integer"),
    ("SLA due", "text"),
    ("Escalation state", "text"),
)
_TERM = re.compile(r'(-?)(\w+)(<=|>=|:|<|>)("[^"]*"|\S+)')


class EmulatedTimeout(Exception):
    """The request was applied; the client must now see a timeout."""


class _Refused(Exception):
    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _invalid(description: str, **details: list[Json]) -> _Refused:
    body: Json = {"error": "RecordInvalid", "description": "Record validation errors"}
    body["details"] = details or {"base": [{"description": description}]}
    return _Refused(422, body)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Json | None = None
    when: Callable[[Mapping[str, list[str]]], bool] | None = None
    after_landing: bool = False


class ZendeskEmulator:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        base_url: str = "https://acme.zendesk.com",
        fields: Iterable[tuple[str, str]] = CONTRACT_FIELDS,
        groups: Iterable[str] = ("Support L1", "Support L2"),
        token_lifetime: int = 1800,
        job_polls: int = 1,
    ) -> None:
        self.clock, self.base_url = clock, base_url.rstrip("/")
        self.token_lifetime, self.job_polls = token_lifetime, job_polls
        self._ids = 1000
        self.users: dict[int, Json] = {}
        self.groups: dict[int, Json] = {}
        self.organizations: dict[int, Json] = {}
        self.fields: dict[int, Json] = {}
        self.tickets: dict[int, Json] = {}
        self.comments: dict[int, list[Json]] = {}
        self.audits: dict[int, list[Json]] = {}
        self.jobs: dict[str, Json] = {}
        self.faults: list[Fault] = []
        self.hooks: dict[int, list[Callable[[], None]]] = {}
        self.log: list[tuple[str, str]] = []
        self.api_tokens: dict[str, str] = {}  # email -> token
        self.bearer: dict[str, tuple[int, float | None]] = {}  # token -> (user, expires at)
        self.clients: dict[str, tuple[str, int]] = {}  # client id -> (secret, acting user)
        self.me = self.add_user("Escalation Bot", "bot@acme.example", "admin")
        self.agent = self.add_user("Ann Agent", "ann@acme.example", "agent")
        for title, kind in fields:
            self.add_field(title, kind)
        for name in groups:
            self.add_group(name)

    # --- seeding and inspection --------------------------------------------------------------

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def _stamp(self, at: float | None = None) -> str:
        moment = self.clock() if at is None else at
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def add_user(self, name: str, email: str, role: str = "end-user") -> int:
        uid = self._next()
        self.users[uid] = {
            "id": uid,
            "url": f"{self.base_url}/api/v2/users/{uid}.json",
            "name": name,
            "email": email,
            "role": role,
            "active": True,
            "created_at": self._stamp(),
            "updated_at": self._stamp(),
        }
        return uid

    def add_group(self, name: str) -> int:
        gid = self._next()
        self.groups[gid] = {"id": gid, "name": name, "deleted": False, "created_at": self._stamp()}
        return gid

    def add_organization(self, name: str, tags: Iterable[str] = ()) -> int:
        oid = self._next()
        self.organizations[oid] = {"id": oid, "name": name, "tags": list(tags)}
        return oid

    def add_field(self, title: str, kind: str = "text", active: bool = True) -> int:
        fid = self._next()
        self.fields[fid] = {
            "id": fid,
            "url": f"{self.base_url}/api/v2/ticket_fields/{fid}.json",
            "type": kind,
            "title": title,
            "raw_title": title,
            "description": "",
            "active": active,
            "required": False,
            "removable": True,
            "created_at": self._stamp(),
            "updated_at": self._stamp(),
        }
        return fid

    def field_id(self, title: str) -> int:
        return next(fid for fid, f in self.fields.items() if f["title"] == title)

    def group_id(self, name: str) -> int:
        return next(gid for gid, g in self.groups.items() if g["name"] == name)

    def add_ticket(
        self,
        *,
        subject: str = "Printer on fire",
        status: str = "open",
        priority: str | None = "normal",
        tags: Iterable[str] = (),
        group: str | None = None,
        requester: int | None = None,
        assignee: int | None = None,
        organization: int | None = None,
        fields: Mapping[str, object] | None = None,
        created_at: float | None = None,
    ) -> int:
        tid = self._next()
        requester = requester or self.add_user(f"Customer {tid}", f"customer{tid}@example.com")
        created = self._stamp(created_at)
        values = {self.field_id(t): v for t, v in (fields or {}).items()}
        self.tickets[tid] = {
            "id": tid,
            "url": f"{self.base_url}/api/v2/tickets/{tid}.json",
            "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created,
            "updated_at": created,
            "type": "incident",
            "subject": subject,
            "raw_subject": subject,
            "description": subject,
            "priority": priority,
            "status": status,
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": assignee,
            "organization_id": organization,
            "group_id": self.group_id(group) if group else None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(dict.fromkeys(tags)),
            "custom_fields": [{"id": fid, "value": values.get(fid)} for fid in self._custom()],
            "satisfaction_rating": None,
            "brand_id": 360000000001,
            "allow_attachments": True,
        }
        self.comments[tid], self.audits[tid] = [], []
        events: list[Json] = [
            {"type": "Create", "field_name": "status", "value": status},
            {"type": "Create", "field_name": "priority", "value": priority},
        ]
        self._audit(tid, requester, events, created, comment=(subject, True))
        return tid

    def _custom(self) -> list[int]:
        return [fid for fid, f in self.fields.items() if f["type"] in FIELD_TYPES]

    def field_value(self, ticket_id: int, title: str) -> object:
        fid = self.field_id(title)
        values = {c["id"]: c["value"] for c in self.tickets[ticket_id]["custom_fields"]}
        return values.get(fid)

    def delete_ticket(self, ticket_id: int) -> None:
        self.tickets.pop(ticket_id, None)

    def agent_edit(self, ticket_id: int, changes: Json, author: int | None = None) -> None:
        """A human's update (same rules as the API, no safe_update)."""
        self._update(ticket_id, dict(changes), author or self.agent, queued=None)

    # --- faults --------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Json | None = None,
        when: Callable[[Mapping[str, list[str]]], bool] | None = None,
    ) -> None:
        error = body or {"error": "ServerError", "description": f"emulated {status}"}
        self.faults.append(
            Fault(method.upper(), re.compile(path), status, times, dict(headers or {}), error, when)
        )

    def timeout_after_landing(self, method: str, path: str, *, times: int = 1) -> None:
        self.faults.append(Fault(method.upper(), re.compile(path), 0, times, after_landing=True))

    def timeout_before_landing(self, method: str, path: str, *, times: int = 1) -> None:
        """The client sees a timeout and nothing was applied (it cannot tell the two apart)."""
        self.faults.append(Fault(method.upper(), re.compile(path), 0, times))

    def before_write(self, ticket_id: int, fn: Callable[[], None]) -> None:
        self.hooks.setdefault(ticket_id, []).append(fn)

    def _fault(self, method: str, path: str, query: Mapping[str, list[str]]) -> Fault | None:
        for fault in self.faults:
            if fault.times <= 0 or fault.method not in (method, "*"):
                continue
            if fault.path.search(path) and (fault.when is None or fault.when(query)):
                fault.times -= 1
                return fault
        return None

    # --- HTTP ----------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        method = method.upper()
        path = path.removesuffix(".json")
        self.log.append((method, path))
        fault = self._fault(method, path, query)
        if fault is not None and not fault.after_landing:
            if fault.status == 0:
                raise EmulatedTimeout(f"{method} {path} timed out before it was applied")
            return _answer(fault.status, fault.body or {}, fault.headers)
        try:
            data = json.loads(body) if body else {}
            created = 201 if method == "POST" else 200  # as the published document says
            if path == "/oauth/tokens" and method == "POST":
                answer = _answer(created, self._token(data))
            else:
                user = self._authenticate(headers)
                answer = _answer(created, self._route(method, path, query, data, user))
        except _Refused as refused:
            answer = _answer(refused.status, refused.body)
        except (ValueError, TypeError) as exc:
            answer = _answer(400, {"error": "InvalidJSON", "description": str(exc)})
        if fault is not None and answer[0] < 300:
            raise EmulatedTimeout(f"{method} {path} applied, then timed out")
        return answer

    def _authenticate(self, headers: Mapping[str, str]) -> int:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, credential = value.partition(" ")
        if scheme == "Basic":
            try:
                login, _, secret = base64.b64decode(credential).decode().partition(":")
            except ValueError:
                login, secret = "", ""
            email = login.removesuffix("/token")
            if login.endswith("/token") and self.api_tokens.get(email) == secret:
                return next(u for u, d in self.users.items() if d["email"] == email)
        elif scheme == "Bearer" and credential in self.bearer:
            user, expires = self.bearer[credential]
            if expires is None or self.clock() < expires:
                return user
        raise _Refused(401, {"error": "Couldn't authenticate you"})

    def _token(self, data: Json) -> Json:
        client = self.clients.get(str(data.get("client_id")))
        if data.get("grant_type") != "client_credentials" or client is None:
            raise _Refused(400, {"error": "invalid_request", "error_description": "bad grant"})
        if client[0] != data.get("client_secret"):
            raise _Refused(401, {"error": "invalid_client", "error_description": "bad client"})
        lifetime = int(data.get("expires_in") or self.token_lifetime)
        token = f"zd-token-{self._next()}"
        self.bearer[token] = (client[1], self.clock() + lifetime)
        return {
            "access_token": token,
            "token_type": "bearer",
            "scope": data.get("scope") or "read write",
            "expires_in": lifetime,
        }

    def _route(self, method: str, path: str, query: Json, data: Json, user: int) -> Json:
        parts = path.strip("/").split("/")[2:]  # after api/v2
        q = {k: v[-1] for k, v in query.items()}
        key = (method, *("{id}" if p.isdigit() else p for p in parts))
        ids = [int(p) for p in parts if p.isdigit()]
        if key == ("GET", "users", "me"):
            return {"user": self.users[user]}
        if key == ("GET", "users", "show_many"):
            return _many("users", self.users, q)
        if key == ("GET", "organizations", "show_many"):
            return _many("organizations", self.organizations, q)
        if key == ("GET", "groups"):
            groups = sorted(self.groups.values(), key=lambda g: g["id"])
            return {"groups": groups, "meta": {"has_more": False, "after_cursor": None}}
        if key == ("GET", "ticket_fields"):
            fields = list(self.fields.values())
            return {"ticket_fields": fields, "next_page": None, "previous_page": None}
        if key == ("POST", "ticket_fields"):
            return {"ticket_field": self._create_field(data.get("ticket_field") or {})}
        if key == ("GET", "search", "export"):
            return self._export(q)
        if key == ("GET", "search"):
            return self._search(q)
        if key == ("GET", "tickets", "show_many"):
            return self._show_many(q)
        if key == ("GET", "tickets", "{id}"):
            return {"ticket": self._ticket(ids[0])}
        if key == ("PUT", "tickets", "{id}"):
            changes = data.get("ticket")
            if not isinstance(changes, dict):
                raise _Refused(400, {"error": "InvalidValue", "description": "ticket missing"})
            audit = self._update(ids[0], changes, user, queued=None)
            return {"ticket": self.tickets[ids[0]], "audit": audit}
        if key == ("PUT", "tickets", "update_many"):
            return {"job_status": self._job(data, q, user)}
        if key == ("GET", "job_statuses", "{id}") or key[:2] == ("GET", "job_statuses"):
            return {"job_status": self._poll(parts[-1])}
        if key in (("GET", "tickets", "{id}", "comments"), ("GET", "tickets", "{id}", "audits")):
            self._ticket(ids[0])
            items = (self.comments if parts[-1] == "comments" else self.audits)[ids[0]]
            return _cursor_page(parts[-1], items, q, 100)
        raise _Refused(404, {"error": "InvalidEndpoint", "description": "Not found"})

    # --- reads ---------------------------------------------------------------------------------

    def _ticket(self, ticket_id: int) -> Json:
        if ticket_id not in self.tickets:
            raise _Refused(404, {"error": "RecordNotFound", "description": "Not found"})
        return self.tickets[ticket_id]

    def _export(self, q: Mapping[str, str]) -> Json:
        if q.get("filter[type]") != "ticket":
            raise _Refused(400, {"error": "InvalidFilter", "description": "filter[type] required"})
        if re.search(r"(^|\s)type:", q.get("query", "")):
            raise _Refused(400, {"error": "invalid", "description": "type not allowed in query"})
        size = int(q.get("page[size]", "100"))
        if not 1 <= size <= 1000:
            raise _Refused(400, {"error": "InvalidPageSize", "description": "1 to 1000"})
        found = sorted(self._matching(q.get("query", "")), key=lambda t: (t["created_at"], t["id"]))
        if "page[after]" in q:
            after = json.loads(base64.b64decode(q["page[after]"]))
            found = [t for t in found if (t["created_at"], t["id"]) > (after[0], after[1])]
        page, more = found[:size], len(found) > size
        cursor = None
        if page:
            last = page[-1]
            cursor = base64.b64encode(
                json.dumps([last["created_at"], last["id"]]).encode()
            ).decode()
        link = None
        if more and cursor:
            link = (
                f"{self.base_url}/api/v2/search/export.json?page[after]={cursor}&page[size]={size}"
            )
        return {
            "results": [{**t, "result_type": "ticket"} for t in page],
            "facets": None,
            "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
            "links": {"next": link, "prev": None},
        }

    def _search(self, q: Mapping[str, str]) -> Json:
        """The plain search: offset pages of up to 100, and never past 1,000 results."""
        per_page, page = min(int(q.get("per_page", "100")), 100), int(q.get("page", "1"))
        if per_page * page > 1000:
            raise _Refused(
                422,
                {
                    "error": "invalid",
                    "description": "Invalid search: Requested response size was greater than"
                    " Search Response Limits",
                },
            )
        query = re.sub(r"(^|\s)type:ticket", " ", q.get("query", ""))
        found = sorted(self._matching(query), key=lambda t: t["id"])
        chunk = found[(page - 1) * per_page : page * per_page]
        return {"results": [{**t, "result_type": "ticket"} for t in chunk], "count": len(found)}

    def _matching(self, query: str) -> list[Json]:
        terms = _TERM.findall(query)
        if "".join(m[0] + m[1] + m[2] + m[3] for m in terms).replace(" ", "") != query.replace(
            " ", ""
        ):
            raise _Refused(400, {"error": "invalid", "description": f"unsupported: {query!r}"})
        for _, key, op, _ in terms:
            if key not in ("status", "priority", "tags", "tag", "group") or (
                key in ("tags", "tag", "group") and op != ":"
            ):
                raise _Refused(400, {"error": "invalid", "description": f"unsupported: {key}{op}"})
        return [t for t in self.tickets.values() if all(self._term(t, *m) for m in terms)]

    def _term(self, ticket: Json, neg: str, key: str, op: str, value: str) -> bool:
        value = value.strip('"')
        if key in ("status", "priority"):
            order = STATUSES if key == "status" else PRIORITIES
            have = order.index(ticket[key]) if ticket[key] in order else -1
            want = order.index(value) if value in order else -1
            ops: dict[str, Callable[[int, int], bool]] = {
                ":": int.__eq__,
                "<": int.__lt__,
                ">": int.__gt__,
                "<=": int.__le__,
                ">=": int.__ge__,
            }
            hit = ops[op](have, want)
        elif key in ("tags", "tag"):
            hit = value in ticket["tags"]
        else:  # group
            hit = self.groups.get(ticket["group_id"] or -1, {}).get("name") == value
        return hit != bool(neg)

    def _show_many(self, q: Mapping[str, str]) -> Json:
        ids = [int(i) for i in q.get("ids", "").split(",") if i.strip()]
        if len(ids) > 100:
            raise _Refused(400, {"error": "TooManyValues", "description": "at most 100 ids"})
        tickets = [self.tickets[i] for i in ids if i in self.tickets]
        out: Json = {"tickets": tickets, "next_page": None, "previous_page": None}
        if "metric_sets" in q.get("include", "").split(","):
            out["metric_sets"] = [self._metrics(t) for t in tickets]
        return out

    def _metrics(self, ticket: Json) -> Json:
        """A ticket metric set derived from the audits, as Zendesk keeps it."""
        tid, created = ticket["id"], _time(ticket["created_at"])
        reopens = replies = 0
        first_reply = status_at = requester_at = assignee_at = None
        was_done = False
        for audit in self.audits[tid]:
            at = audit["created_at"]
            if audit["author_id"] == ticket["requester_id"]:
                requester_at = at
            if audit["author_id"] == ticket["assignee_id"]:
                assignee_at = at
            for event in audit["events"]:
                if event.get("field_name") == "status" and event["type"] == "Change":
                    status_at = at
                    done = event["value"] in ("solved", "closed")
                    reopens += was_done and not done
                    was_done = done
                agent = self.users.get(event.get("author_id", -1), {}).get("role") != "end-user"
                if event["type"] == "Comment" and event["public"] and agent:
                    replies += 1
                    first_reply = first_reply or at
        minutes = int((_time(first_reply) - created) // 60) if first_reply else None
        return {
            "id": tid + 500000,
            "ticket_id": tid,
            "url": f"{self.base_url}/api/v2/ticket_metrics/{tid + 500000}.json",
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "reopens": reopens,
            "replies": replies,
            "status_updated_at": status_at or ticket["created_at"],
            "requester_updated_at": requester_at,
            "assignee_updated_at": assignee_at,
            "reply_time_in_minutes": {"calendar": minutes, "business": minutes},
        }

    # --- writes --------------------------------------------------------------------------------

    def _update(self, tid: int, changes: Json, user: int, queued: str | None) -> Json:
        """Validate everything, then apply everything (or nothing), with an audit."""
        for hook in self.hooks.pop(tid, []):
            hook()
        ticket = self._ticket(tid)
        if ticket["status"] == "closed":
            raise _invalid("", status=[{"description": "Status: closed prevents ticket update"}])
        stamp = changes.get("updated_stamp")
        if changes.get("safe_update") and stamp is None and queued is None:
            raise _Refused(400, {"error": "InvalidValue", "description": "updated_stamp missing"})
        # A job item without a stamp is checked against the queue time: always passes here.
        if stamp is not None and _time(stamp) != _time(ticket["updated_at"]):
            raise _Refused(
                409,
                {
                    "error": "UpdateConflict",
                    "description": "Safe Update prevented the update due to outdated ticket"
                    " data. Please fetch the latest ticket data and try again.",
                },
            )
        new = dict(ticket)
        if "group_id" in changes:
            if changes["group_id"] is not None and changes["group_id"] not in self.groups:
                raise _invalid("", group=[{"description": "Group: is invalid"}])
            new["group_id"] = changes["group_id"]
        if "assignee_email" in changes:
            email = changes["assignee_email"]
            match = [u for u, d in self.users.items() if d["email"] == email]
            changes = {**changes, "assignee_id": match[0] if match else -1}
        if "assignee_id" in changes:
            who = changes["assignee_id"]
            if who is not None and self.users.get(who, {}).get("role") not in ("agent", "admin"):
                raise _invalid("", assignee=[{"description": "Assignee: is not an agent"}])
            new["assignee_id"] = who
        if "priority" in changes:
            if changes["priority"] not in (*PRIORITIES, None):
                raise _invalid("", priority=[{"description": "Priority: is invalid"}])
            new["priority"] = changes["priority"]
        if "status" in changes:
            new["status"] = changes["status"]
        tags = list(changes["tags"]) if "tags" in changes else list(ticket["tags"])
        tags += [t for t in changes.get("additional_tags") or () if t not in tags]
        new["tags"] = [t for t in tags if t not in set(changes.get("remove_tags") or ())]
        new["custom_fields"] = self._fields_after(ticket, changes.get("custom_fields") or [])
        comment = changes.get("comment")
        if comment is not None and not (comment.get("body") or comment.get("html_body")):
            raise _invalid("", comment=[{"description": "Comment: body is required"}])
        events = [
            {"type": "Change", "field_name": k, "value": new[k], "previous_value": ticket[k]}
            for k in ("status", "priority", "group_id", "assignee_id")
            if new[k] != ticket[k]
        ]
        if events or comment or new != ticket:
            new["updated_at"] = self._stamp(max(self.clock(), _time(ticket["updated_at"]) + 1))
        self.tickets[tid] = new
        text = None
        if comment is not None:
            text = (comment.get("body") or comment.get("html_body"), comment.get("public", True))
        return self._audit(tid, user, events, new["updated_at"], comment=text)

    def _fields_after(self, ticket: Json, updates: list[Json]) -> list[Json]:
        values = {c["id"]: c["value"] for c in ticket["custom_fields"]}
        for item in updates:
            fid, value = item.get("id"), item.get("value")
            spec = self.fields.get(fid) if isinstance(fid, int) else None
            if spec is None:
                continue  # Zendesk ignores unknown custom field ids
            if spec["type"] == "integer" and value is not None:
                if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value)):
                    raise _invalid(
                        "",
                        base=[
                            {
                                "description": f"{spec['title']}: is not a number",
                                "ticket_field_id": fid,
                                "ticket_field_type": "FieldInteger",
                            }
                        ],
                    )
                value = str(value)
            values[fid] = value
        return [{"id": fid, "value": values.get(fid)} for fid in self._custom()]

    def _audit(
        self,
        tid: int,
        author: int,
        events: list[Json],
        at: str,
        comment: tuple[str, bool] | None = None,
    ) -> Json:
        audit_id = self._next()
        events = [{**e, "id": self._next()} for e in events]
        if comment is not None:
            body, public = comment
            note = {
                "id": self._next(),
                "type": "Comment",
                "author_id": author,
                "body": body,
                "html_body": f"<p>{body}</p>",
                "plain_body": body,
                "public": bool(public),
                "attachments": [],
                "audit_id": audit_id,
                "created_at": at,
            }
            self.comments[tid].append(note)
            events.append({k: v for k, v in note.items() if k not in ("created_at", "audit_id")})
        audit = {
            "id": audit_id,
            "ticket_id": tid,
            "created_at": at,
            "author_id": author,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {"system": {}, "custom": {}},
            "events": events,
        }
        self.audits[tid].append(audit)
        return audit

    def _create_field(self, spec: Json) -> Json:
        if spec.get("type") not in FIELD_TYPES or not spec.get("title"):
            raise _invalid("Type and title are required")
        fid = self.add_field(str(spec["title"]), str(spec["type"]))
        self.fields[fid]["description"] = str(spec.get("description") or "")
        return self.fields[fid]

    def _job(self, data: Json, q: Mapping[str, str], user: int) -> Json:
        if "tickets" in data:
            entries = list(data["tickets"])
        else:
            ids = [int(i) for i in q.get("ids", "").split(",") if i.strip()]
            entries = [{**data.get("ticket", {}), "id": i} for i in ids]
        if len(entries) > 100:
            raise _Refused(
                400,
                {
                    "error": "TooManyValues",
                    "description": "You cannot specify more than 100 values",
                    "max_count": 100,
                },
            )
        queued = self._stamp()
        results = []
        for entry in entries:
            tid = entry.get("id")
            try:
                self._update(int(tid), {k: v for k, v in entry.items() if k != "id"}, user, queued)
                results.append(
                    {"id": tid, "action": "update", "success": True, "status": "Updated"}
                )
            except _Refused as refused:
                details = [
                    str(item.get("description"))
                    for items in (refused.body.get("details") or {}).values()
                    for item in items
                ]
                results.append(
                    {
                        "id": tid,
                        "action": "update",
                        "success": False,
                        "error": refused.body.get("error", "Failed"),
                        "details": "; ".join(details) or refused.body.get("description", ""),
                    }
                )
        job_id = f"{self._next():032x}"
        self.jobs[job_id] = {"polls": 0, "results": results, "total": len(entries)}
        return self._job_json(job_id, "queued")

    def _job_json(self, job_id: str, status: str) -> Json:
        job = self.jobs[job_id]
        done = status == "completed"
        return {
            "id": job_id,
            "url": f"{self.base_url}/api/v2/job_statuses/{job_id}.json",
            "job_type": "BulkUpdateTicketsJob",
            "status": status,
            "total": job["total"],
            "progress": job["total"] if done else 0,
            "message": "Completed" if done else None,
            "results": job["results"] if done else None,
        }

    def _poll(self, job_id: str) -> Json:
        if job_id not in self.jobs:
            raise _Refused(404, {"error": "RecordNotFound", "description": "Not found"})
        self.jobs[job_id]["polls"] += 1
        done = self.jobs[job_id]["polls"] >= self.job_polls
        return self._job_json(job_id, "completed" if done else "working")


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _answer(status: int, body: Json, headers: Mapping[str, str] | None = None) -> Answer:
    out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return status, out, json.dumps(body).encode()


def _many(key: str, items: Mapping[int, Json], q: Mapping[str, str]) -> Json:
    ids = [int(i) for i in q.get("ids", "").split(",") if i.strip()]
    if len(ids) > 100:
        raise _Refused(400, {"error": "TooManyValues", "description": "at most 100 ids"})
    return {key: [items[i] for i in ids if i in items], "next_page": None, "previous_page": None}


def _cursor_page(key: str, items: list[Json], q: Mapping[str, str], limit: int) -> Json:
    size = min(int(q.get("page[size]", str(limit))), limit)
    start = int(base64.b64decode(q["page[after]"])) if "page[after]" in q else 0
    page, more = items[start : start + size], len(items) > start + size
    cursor = base64.b64encode(str(start + size).encode()).decode() if more else None
    return {
        key: page,
        "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }
