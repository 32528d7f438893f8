"""The HTTP face of the emulated account: sign-in, routing, update_many jobs and faults."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from emulators.http import Answer, EmulatedTimeout, Request
from emulators.outbox import Outbox
from emulators.zendesk import hooks, roles, search, views
from emulators.zendesk.account import CONTRACT_FIELDS, Account
from emulators.zendesk.wire import (
    Json,
    Refused,
    answer,
    cursor_page,
    not_found,
    show_many,
)


@dataclass(frozen=True)
class Asked:
    """A call to /api/v2 as a route sees it: the path's parts after it, the query's last
    values, the numeric ids in the path, the JSON body, and the signed-in user."""

    parts: list[str]
    q: dict[str, str]
    ids: list[int]
    data: Json
    user: int


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int  # 0: a timeout
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Json | None = None
    when: Callable[[Mapping[str, list[str]]], bool] | None = None
    after_landing: bool = False  # apply the request first, then answer the fault


#: Search export requests an account may send a minute (its own limit, within the account's).
EXPORTS_PER_MINUTE = 100


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class ZendeskEmulator(Account):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        base_url: str = "https://acme.zendesk.com",
        fields: Iterable[tuple[str, str]] = CONTRACT_FIELDS,
        groups: Iterable[str] = ("Support L1", "Support L2"),
        token_lifetime: int = 1800,
        job_polls: int = 1,
        rate_limit: int = 700,
    ) -> None:
        super().__init__(clock=clock, base_url=base_url, fields=fields, groups=groups)
        self.token_lifetime, self.job_polls = token_lifetime, job_polls
        self.jobs: dict[str, Json] = {}
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []
        self.api_tokens: dict[str, str] = {}  # email -> token
        self.bearer: dict[str, tuple[int, float | None]] = {}  # token -> (user, expires at)
        self.clients: dict[str, tuple[str, int]] = {}  # client id -> (secret, acting user)
        self.views: dict[int, Json] = {}
        #: Requests a minute the account allows (its plan); every answer reports what is left.
        self.rate_limit = rate_limit
        #: Answer 429 once the limit is used up (off by default: tests use frozen clocks).
        self.enforce_rate_limit = False
        #: Answer show_many without the sideloads asked for (a proxy that strips them).
        self.strip_sideloads = False
        #: Seconds a created or updated ticket stays invisible to search and search export
        #: ("it can take up to a few minutes for new tickets to be indexed"); reads by id see it.
        self.search_lag = 0.0
        self._window: deque[float] = deque()
        self._exports: deque[float] = deque()  # search export's own bucket: 100 a minute
        #: Webhooks by id, their signing secrets, and the triggers that call them (`hooks`);
        #: deliveries go to `outbox` once one is given (none: changes notify nobody).
        self.webhooks: dict[str, Json] = {}
        self.webhook_secrets: dict[str, str] = {}
        self.triggers: dict[int, Json] = {}
        self.outbox: Outbox | None = None

    def _changed(self, tid: int, author: int, created: bool) -> None:
        hooks.fire(self, tid, author, created)

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
        after_landing: bool = False,
    ) -> None:
        """Answer `status` to the next `times` requests matching; with `after_landing`, apply
        each of them first (a gateway error after the write went in)."""
        error = body or {"error": "ServerError", "description": f"emulated {status}"}
        self.faults.append(
            Fault(
                method.upper(),
                re.compile(path),
                status,
                times,
                dict(headers or {}),
                error,
                when,
                after_landing,
            )
        )

    def timeout_after_landing(self, method: str, path: str, *, times: int = 1) -> None:
        self.faults.append(Fault(method.upper(), re.compile(path), 0, times, after_landing=True))

    def timeout_before_landing(self, method: str, path: str, *, times: int = 1) -> None:
        """The client sees a timeout and nothing was applied (it cannot tell the two apart)."""
        self.faults.append(Fault(method.upper(), re.compile(path), 0, times))

    def _fault(self, method: str, path: str, query: Mapping[str, list[str]]) -> Fault | None:
        for fault in self.faults:
            if fault.times <= 0 or fault.method not in (method, "*"):
                continue
            if fault.path.search(path) and (fault.when is None or fault.when(query)):
                fault.times -= 1
                return fault
        return None

    # --- HTTP ----------------------------------------------------------------------------------

    def forget_traffic(self) -> None:
        """Forget the requests received so far (the log and the rate-limit window): a sandbox
        after seeding starts as an account nobody has called yet."""
        self.log.clear()
        self._window.clear()
        self._exports.clear()

    def spend_rate_limit(self, count: int) -> None:
        """`count` requests by others (agents, other apps) in the current minute."""
        self._window.extend([self.clock()] * count)

    def handle(self, request: Request) -> Answer:
        """One request; every answer carries the rate-limit headers Zendesk sends."""
        method, path, query = request.method, request.path, request.query
        now = self.clock()
        while self._window and self._window[0] <= now - 60.0:
            self._window.popleft()
        self._window.append(now)
        left = max(0, self.rate_limit - len(self._window))
        reset = int(self._window[0] + 60.0 - now) if self._window else 60
        limits = {
            "X-Rate-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(left),
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": str(left),
            "ratelimit-reset": str(reset),
        }
        exported = self._export_window(method, path, now)
        if self.enforce_rate_limit and (len(self._window) > self.rate_limit or exported):
            self.log.append((method.upper(), path.removesuffix(".json")))
            refused = {"error": "TooManyRequests", "description": "Rate limit exceeded"}
            return answer(429, refused, {**limits, "Retry-After": str(max(1, reset))})
        status, out, data = self._answer(method, path, query, request.headers, request.body)
        taken = {k.lower() for k in out}  # a fault's own headers win
        return status, out | {k: v for k, v in limits.items() if k.lower() not in taken}, data

    def _answer(
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
            return answer(fault.status, fault.body or {}, fault.headers)
        try:
            data = json.loads(body) if body else {}
            # As the published document says (Create View: 200, other creates: 201).
            created = 201 if method == "POST" and path != "/api/v2/views" else 200
            if path == "/oauth/tokens" and method == "POST":
                result = answer(created, self._token(data))
            else:
                user = self._authenticate(headers)
                result = answer(created, self._route(method, path, query, data, user))
        except Refused as refused:
            result = answer(refused.status, refused.body)
        except (ValueError, TypeError) as exc:
            result = answer(400, {"error": "InvalidJSON", "description": str(exc)})
        if fault is not None and result[0] < 300:
            if fault.status == 0:
                raise EmulatedTimeout(f"{method} {path} applied, then timed out")
            return answer(fault.status, fault.body or {}, fault.headers)
        return result

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
        raise Refused(401, {"error": "Couldn't authenticate you"})

    def _token(self, data: Json) -> Json:
        client = self.clients.get(str(data.get("client_id")))
        if data.get("grant_type") != "client_credentials" or client is None:
            raise Refused(400, {"error": "invalid_request", "error_description": "bad grant"})
        if client[0] != data.get("client_secret"):
            raise Refused(401, {"error": "invalid_client", "error_description": "bad client"})
        lifetime = int(data.get("expires_in") or self.token_lifetime)
        token = f"zd-token-{self._next()}"
        self.bearer[token] = (client[1], self.clock() + lifetime)
        return {
            "access_token": token,
            "token_type": "bearer",
            "scope": data.get("scope") or "read write",
            "expires_in": lifetime,
        }

    def _route(
        self, method: str, path: str, query: Mapping[str, list[str]], data: Json, user: int
    ) -> Json:
        parts = path.strip("/").split("/")[2:]  # after api/v2
        key = (method, *("{id}" if p.isdigit() else p for p in parts))
        q = {k: v[-1] for k, v in query.items()}
        ids = [int(p) for p in parts if p.isdigit()]
        if parts and parts[0] == "webhooks":  # ids are ULIDs, not numbers
            return hooks.webhooks(self, method, parts, data, user)
        route = ROUTES.get(key)
        if route is not None:
            roles.authorize(self, user, key)
            return route(self, Asked(parts, q, ids, data, user))
        if key[:2] == ("GET", "job_statuses"):
            return {"job_status": self._poll(parts[-1])}
        raise Refused(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def visible_fields(self, user: int) -> list[Json]:
        """Every field; for an end user only those `visible_in_portal` (List Ticket Fields)."""
        fields = list(self.fields.values())
        if self.users[user]["role"] == "end-user":
            return [f for f in fields if f.get("visible_in_portal")]
        return fields

    def _create_field(self, asked: Asked) -> Json:
        """Create Ticket Field (who may: `roles`, admins and agents whose role manages
        fields)."""
        spec = asked.data.get("ticket_field")
        if not isinstance(spec, dict):
            raise Refused(400, {"error": "InvalidValue", "description": "ticket_field missing"})
        return {"ticket_field": self.create_field(spec)}

    def _create_view(self, asked: Asked) -> Json:
        role = str(self.users[asked.user]["role"])
        view = views.create_view(
            asked.data, self.fields, role, self._next(), self.base_url, self.clock()
        )
        self.views[view["id"]] = view
        return {"view": view}

    def _put_ticket(self, asked: Asked) -> Json:
        changes = asked.data.get("ticket")
        if not isinstance(changes, dict):
            raise Refused(400, {"error": "InvalidValue", "description": "ticket missing"})
        audit = self.update(asked.ids[0], changes, asked.user, queued=None)
        return {"ticket": self.tickets[asked.ids[0]], "audit": audit}

    def _ticket_items(self, asked: Asked) -> Json:
        """A ticket's comments or audits, a cursor page at a time."""
        self.ticket(asked.ids[0])
        kind = asked.parts[-1]
        items = (self.comments if kind == "comments" else self.audits)[asked.ids[0]]
        return cursor_page(kind, items, asked.q, 100)

    def _search_users(self, q: Mapping[str, str]) -> Json:
        """`query=email:<address>` matches the address exactly; other text, names and e-mails."""
        text = q.get("query", "").strip()
        if text.startswith("email:"):
            address = text.removeprefix("email:").strip('"').casefold()
            found = [u for u in self.users.values() if str(u["email"]).casefold() == address]
        else:
            needle = text.casefold()
            found = [
                u for u in self.users.values() if needle in f"{u['name']} {u['email']}".casefold()
            ]
        return {"users": found, "count": len(found), "next_page": None, "previous_page": None}

    def _export_window(self, method: str, path: str, now: float) -> bool:
        """Count a search export against its own limit (100 a minute, besides the account's);
        True when it is over."""
        if method.upper() != "GET" or not path.removesuffix(".json").endswith("/search/export"):
            return False
        while self._exports and self._exports[0] <= now - 60.0:
            self._exports.popleft()
        self._exports.append(now)
        return len(self._exports) > EXPORTS_PER_MINUTE

    def searchable(self) -> list[Json]:
        """The tickets search can see: those indexed, i.e. not changed in the last
        `search_lag` seconds."""
        if self.search_lag <= 0:
            return list(self.tickets.values())
        horizon = self.clock() - self.search_lag
        return [t for t in self.tickets.values() if _epoch(t["updated_at"]) <= horizon]

    def _show_tickets(self, q: Mapping[str, str]) -> Json:
        out = show_many("tickets", self.tickets, q)
        if "metric_sets" in q.get("include", "").split(",") and not self.strip_sideloads:
            out["metric_sets"] = [self.metrics(t) for t in out["tickets"]]
        return out

    # --- update_many jobs ----------------------------------------------------------------------

    def _job(self, data: Json, q: Mapping[str, str], user: int) -> Json:
        if "tickets" in data:
            entries = list(data["tickets"])
        else:
            ids = [int(i) for i in q.get("ids", "").split(",") if i.strip()]
            entries = [{**data.get("ticket", {}), "id": i} for i in ids]
        if len(entries) > 100:
            raise Refused(
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
                item = {k: v for k, v in entry.items() if k != "id"}
                self.update(int(tid), item, user, queued, bulk=True)
                results.append(
                    {"id": tid, "action": "update", "success": True, "status": "Updated"}
                )
            except Refused as refused:
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

    def _poll_many(self, q: Mapping[str, str]) -> Json:
        """Ids it does not know (or no longer: job data lasts a day) are left out."""
        wanted = [i for i in q.get("ids", "").split(",") if i.strip()]
        return {"job_statuses": [self._poll(i) for i in wanted if i in self.jobs]}

    def _poll(self, job_id: str) -> Json:
        """One look at a job (alone or in a show_many): it completes at its `job_polls`th."""
        if job_id not in self.jobs:
            raise not_found()
        self.jobs[job_id]["polls"] += 1
        done = self.jobs[job_id]["polls"] >= self.job_polls
        return self._job_json(job_id, "completed" if done else "working")


#: The endpoints by (method, *path parts after /api/v2), numeric parts as "{id}".
ROUTES: dict[tuple[str, ...], Callable[[ZendeskEmulator, Asked], Json]] = {
    ("GET", "users", "me"): lambda z, a: {"user": z.users[a.user]},
    ("GET", "users", "search"): lambda z, a: z._search_users(a.q),
    ("GET", "views"): lambda z, a: views.list_views(z.views, a.q),
    ("POST", "views"): lambda z, a: z._create_view(a),
    ("GET", "users", "show_many"): lambda z, a: show_many("users", z.users, a.q),
    ("GET", "organizations", "show_many"): (
        lambda z, a: show_many("organizations", z.organizations, a.q)
    ),
    ("GET", "groups"): lambda z, a: {
        "groups": sorted(z.groups.values(), key=lambda g: g["id"]),
        "meta": {"has_more": False, "after_cursor": None},
    },
    ("GET", "ticket_fields"): lambda z, a: {
        "ticket_fields": z.visible_fields(a.user),
        "next_page": None,
        "previous_page": None,
    },
    ("GET", "custom_roles"): lambda z, a: roles.list_roles(z),
    ("POST", "ticket_fields"): lambda z, a: z._create_field(a),
    ("GET", "search", "export"): (
        lambda z, a: search.export(z.searchable(), z.groups, a.q, z.base_url)
    ),
    ("GET", "search"): lambda z, a: search.search(z.searchable(), z.groups, a.q),
    ("GET", "tickets", "show_many"): lambda z, a: z._show_tickets(a.q),
    ("GET", "tickets", "{id}"): lambda z, a: {"ticket": z.ticket(a.ids[0])},
    ("PUT", "tickets", "{id}"): lambda z, a: z._put_ticket(a),
    ("PUT", "tickets", "update_many"): lambda z, a: {"job_status": z._job(a.data, a.q, a.user)},
    ("GET", "job_statuses", "show_many"): lambda z, a: z._poll_many(a.q),
    ("GET", "triggers"): lambda z, a: hooks.list_triggers(z),
    ("POST", "triggers"): lambda z, a: hooks.create_trigger(z, a.data, a.user),
    ("GET", "tickets", "{id}", "comments"): lambda z, a: z._ticket_items(a),
    ("GET", "tickets", "{id}", "audits"): lambda z, a: z._ticket_items(a),
    ("GET", "groups", "{id}", "memberships"): (
        lambda z, a: cursor_page("group_memberships", z.memberships(a.ids[0]), a.q, 100)
    ),
}
