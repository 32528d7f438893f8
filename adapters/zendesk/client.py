"""Every Zendesk call the adapter makes, each wrapped in the instance's retry policy.

zenpy is the client for users, organisations, groups, ticket fields, single tickets, ticket
updates, `update_many` jobs and job statuses (one, or `show_many`). Its objects are turned into
plain JSON at once (`to_dict()`), so no lazy property (`ticket.assignee`, `ticket.organization`,
...) can fire a request per ticket. These calls use the same session directly, because zenpy
gets in the way:

- search export: zenpy puts `type:ticket` into the query as well as `filter[type]`, which the
  API reference says is an error, and its generator hides page boundaries and cursors;
- `tickets/show_many?include=metric_sets`: zenpy drops sideloaded metric sets;
- `tickets/{id}/audits`: zenpy sends `include=None`;
- `tickets/{id}/comments`: zenpy reads every page, oldest first; one page, newest first, is
  what the writer needs;
- `POST /oauth/tokens`: zenpy 2.0.57 has no client-credentials helper;
- `views` (list, create): zenpy's View models the read form (`conditions`, `execution`), not
  the create form (`all`, `output`); `users/search`: one exact e-mail lookup for `doctor`;
  `custom_roles`: the connector's role, for `doctor`.

Reads are retried on transient errors. Writes are retried only when they cannot have landed (a
429, a connect timeout); a timeout or a 5xx is raised for the writer to re-read first. A Zendesk
that cannot be reached at all (refused, DNS, TLS, proxy) is not retried (`adapters.network`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.api_objects import TicketField as ZenpyTicketField

from adapters.http import Retrier
from adapters.zendesk.session import PLACEHOLDER_DOMAIN, PLACEHOLDER_SUBDOMAIN, ZendeskSession

T = TypeVar("T")
Json = dict[str, Any]
SHOW_MANY = 100  # ids per show_many request (the API's maximum)
JOB_SIZE = 100  # tickets per update_many job (the API's maximum)
AUDIT_PAGE = 100  # audits per page (the API's maximum)
COMMENT_PAGE = 100  # comments per page (the API's maximum)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plain(obj: Any) -> Json:
    """A zenpy object as the JSON it came from (no lazy properties left to trigger)."""
    data = obj.to_dict()
    return data if isinstance(data, dict) else {}


class Client:
    def __init__(self, session: ZendeskSession, retrier: Retrier) -> None:
        self.session = session
        self.retrier = retrier
        self._local = threading.local()

    @property
    def zenpy(self) -> Zenpy:
        """One zenpy client per thread, all on the one session (one transport, one budget).
        zenpy keeps per-call state on its API objects (`TicketApi._dirty_object`, cleared when
        the answer is handled), so concurrent writer threads must not share one."""
        client: Zenpy | None = getattr(self._local, "zenpy", None)
        if client is None:
            client = Zenpy(
                subdomain=PLACEHOLDER_SUBDOMAIN,
                domain=PLACEHOLDER_DOMAIN,
                session=self.session,
                timeout=self.session.timeout,
                disable_cache=True,  # a cached ticket has a stale updated_at: spurious 409s
            )
            self._local.zenpy = client
        return client

    def _read(self, fn: Callable[[], T]) -> T:
        return self.retrier.call(fn)

    def _write(self, fn: Callable[[], T]) -> T:
        """A write: one that may have landed (a timeout, a 5xx) is raised, for the caller to
        re-read."""
        return self.retrier.call(fn, may_repeat=False)

    def _get(self, path: str, params: Mapping[str, str]) -> Json:
        response = self.session.get(path, params=dict(params))
        data = response.json()
        return data if isinstance(data, dict) else {}

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Json:
        """A JSON object read from `path` (/api/v2/...), retried as reads are."""
        return self._read(lambda: self._get(path, params or {}))

    # --- zenpy -----------------------------------------------------------------------------

    def me(self) -> Json:
        return self._read(lambda: plain(self.zenpy.users.me()))

    def users(self, ids: Iterable[int]) -> list[Json]:
        return self._show_many(self.zenpy.users, ids)

    def organizations(self, ids: Iterable[int]) -> list[Json]:
        return self._show_many(self.zenpy.organizations, ids)

    def _show_many(self, api: Any, ids: Iterable[int]) -> list[Json]:
        """`<resource>/show_many?ids=` through zenpy, 100 ids a request."""
        out: list[Json] = []
        for batch in chunks(sorted(set(ids)), SHOW_MANY):
            wanted = list(batch)
            out += self._read(lambda: [plain(item) for item in api(ids=wanted)])  # noqa: B023
        return out

    def groups(self) -> list[Json]:
        return self._read(lambda: [plain(g) for g in self.zenpy.groups()])

    def ticket_fields(self) -> list[Json]:
        return self._read(lambda: [plain(f) for f in self.zenpy.ticket_fields()])

    def create_field(self, body: Mapping[str, Any]) -> Json:
        return self._write(lambda: plain(self.zenpy.ticket_fields.create(ZenpyTicketField(**body))))

    def ticket(self, ticket_id: int) -> Json:
        return self._read(lambda: plain(self.zenpy.tickets(id=ticket_id)))

    def update(self, ticket_id: int, body: Mapping[str, Any]) -> str | None:
        """PUT /api/v2/tickets/{id}: zenpy sends exactly the attributes set here. Returns the
        ticket's new `updated_at`: the stamp a follow-up safe update needs."""
        audit = self._write(lambda: self.zenpy.tickets.update(_zenpy_ticket(ticket_id, body)))
        ticket = getattr(audit, "ticket", None)
        stamp = plain(ticket).get("updated_at") if ticket is not None else None
        return stamp if isinstance(stamp, str) and stamp else None

    def update_many(self, bodies: Mapping[int, Mapping[str, Any]]) -> Json:
        """PUT /api/v2/tickets/update_many (batch form); returns the job status."""
        tickets = [_zenpy_ticket(tid, body) for tid, body in bodies.items()]
        return self._write(lambda: plain(self.zenpy.tickets.update(tickets)))

    def job_status(self, job_id: str) -> Json:
        return self._read(lambda: plain(self.zenpy.job_status(id=job_id)))

    def job_statuses(self, job_ids: Sequence[str]) -> list[Json]:
        """GET /api/v2/job_statuses/show_many?ids=: every listed job in one request (zenpy
        answers `{"job_statuses": [JobStatus, ...]}`)."""

        def poll() -> list[Json]:
            answer = self.zenpy.job_status(ids=list(job_ids))
            found = answer.get("job_statuses") if isinstance(answer, dict) else None
            return [plain(job) for job in found or []]

        return self._read(poll)

    # --- the session directly ----------------------------------------------------------------

    def views(self) -> list[Json]:
        """Every view the account may see (cursor pages of 100)."""
        out: list[Json] = []
        params = {"page[size]": "100"}
        while True:
            query = dict(params)
            page = self._read(lambda: self._get("/api/v2/views", query))  # noqa: B023
            out += [v for v in page.get("views") or [] if isinstance(v, dict)]
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return out
            params["page[after]"] = str(meta["after_cursor"])

    def create_view(self, body: Mapping[str, Any]) -> Json:
        return self.post("/api/v2/views", body)

    def post(self, path: str, body: Mapping[str, Any]) -> Json:
        """POST `body` exactly as given (what `escalate setup` showed); never repeated."""

        def post() -> Json:
            data = self.session.post(path, json=dict(body)).json()
            return data if isinstance(data, dict) else {}

        return self._write(post)

    def custom_roles(self) -> list[Json]:
        """GET /api/v2/custom_roles: every custom agent role with its configuration (Enterprise
        plans; allowed for agents)."""
        page = self._read(lambda: self._get("/api/v2/custom_roles", {}))
        return [r for r in page.get("custom_roles") or [] if isinstance(r, dict)]

    def recent_tickets(self) -> list[Json]:
        """The most recently updated tickets: the first search page (100, the largest page;
        `per_page` is not among the parameters List Search Results documents)."""
        params = {"query": "type:ticket", "sort_by": "updated_at", "sort_order": "desc"}
        page = self._read(lambda: self._get("/api/v2/search", params))
        return [t for t in page.get("results") or [] if isinstance(t, dict)]

    def users_by_email(self, email: str) -> list[Json]:
        """Users whose e-mail is exactly `email` (Zendesk's search matches `email:` exactly)."""
        page = self._read(lambda: self._get("/api/v2/users/search", {"query": f"email:{email}"}))
        users = [u for u in page.get("users") or [] if isinstance(u, dict)]
        return [u for u in users if str(u.get("email") or "").casefold() == email.casefold()]

    def export_page(self, query: str, page_size: int, cursor: str | None) -> Json:
        params = {"query": query, "filter[type]": "ticket", "page[size]": str(page_size)}
        if cursor is not None:
            params["page[after]"] = cursor
        return self._read(lambda: self._get("/api/v2/search/export", params))

    def show_many(self, ids: Sequence[int], include: str | None) -> Json:
        params = {"ids": ",".join(map(str, ids))}
        if include:
            params["include"] = include
        return self._read(lambda: self._get("/api/v2/tickets/show_many", params))

    def latest_comments(self, ticket_id: int) -> list[Json]:
        """The ticket's newest comments (one page of up to 100), newest first."""
        params = {"sort": "-created_at", "page[size]": str(COMMENT_PAGE)}
        path = f"/api/v2/tickets/{ticket_id}/comments"
        page = self._read(lambda: self._get(path, params))
        return [c for c in page.get("comments") or [] if isinstance(c, dict)]

    def audits(self, ticket_id: int) -> list[Json]:
        return self._cursor(f"/api/v2/tickets/{ticket_id}/audits", "audits", AUDIT_PAGE)

    def group_members(self, group_id: int) -> list[int]:
        """The user ids of a group's members (List Memberships, 100 a page)."""
        path = f"/api/v2/groups/{group_id}/memberships"
        found = self._cursor(path, "group_memberships", 100)
        return [
            uid for m in found if (uid := m.get("user_id")) is not None and isinstance(uid, int)
        ]

    def _cursor(self, path: str, key: str, size: int) -> list[Json]:
        """Every item of a cursor-paginated list, oldest first."""
        out: list[Json] = []
        params = {"page[size]": str(size)}
        while True:
            query = dict(params)
            page = self._read(lambda: self._get(path, query))  # noqa: B023
            out += [a for a in page.get(key) or [] if isinstance(a, dict)]
            meta = page.get("meta") or {}
            cursor = meta.get("after_cursor")
            if not meta.get("has_more") or not cursor:
                return out
            params["page[after]"] = str(cursor)


def _zenpy_ticket(ticket_id: int, body: Mapping[str, Any]) -> Any:
    """A zenpy Ticket whose dirty attributes are exactly `body` (None included: it clears)."""
    ticket = ZenpyTicket(id=ticket_id)
    for key, value in body.items():
        setattr(ticket, key, value)
    return ticket
