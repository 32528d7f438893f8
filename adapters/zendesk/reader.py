"""Reading: candidates by search export, people and groups by per-run caches, history in bulk.

Requests for N tickets in scope (page size P, at most 1,000):
- ceil(N / P) search export pages (cursor pagination: no 1,000-result cap, nothing truncated);
- once per run: `users/me`, `ticket_fields`, `groups`;
- `users/show_many` per 100 assignees not yet cached (agents: bounded by the account's agents);
  requesters too, and `organizations/show_many` per 100 organisations, only when the policy
  reads them (`requester`, `requester_domain`, `organization`, `organization_tag`);
- history "summary": `tickets/show_many?include=metric_sets` per 100 tickets;
- history "events": besides the summary, `tickets/{id}/audits` (100 audits a page) for each
  ticket where `needs.wants_events` holds and whose history is not in the cache as of its
  current `updated_at` (adapters/history_cache.py), plus `users/show_many` per 100 unknown
  authors. With the cache, a run reads the audits of the tickets updated since the last run.
History requests (metric sets and audits) run `history_concurrency` at a time, page by page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, TypeVar

from adapters.errors import AdapterError, NotFound
from adapters.history_cache import HistoryCache
from adapters.zendesk.client import SHOW_MANY, Client, chunks
from adapters.zendesk.mapping import (
    Directory,
    as_int,
    author_ids,
    events_from_audits,
    ticket_from_json,
)
from adapters.zendesk.settings import Settings
from rules.model import Event, Ticket
from rules.needs import Needs
from rules.needs import needs as needs_of
from rules.policy import Policy

Json = dict[str, Any]
Fresh = tuple[Json, Ticket]
A = TypeVar("A")
R = TypeVar("R")


def export_query(scope: str) -> str:
    """The scope without `type:ticket`: the export takes the type in `filter[type]` only."""
    terms = [t for t in scope.split() if t.lower() not in ("type:ticket", 'type:"ticket"')]
    return " ".join(terms)


class Reader:
    def __init__(
        self,
        client: Client,
        policy: Policy,
        settings: Settings,
        instance: str,
        directory: Directory,
        cache: HistoryCache | None = None,
    ) -> None:
        self.client, self.policy, self.settings = client, policy, settings
        self.instance = instance
        self.directory = directory
        self.cache = cache
        self.seen: set[int] = set()  # every ticket of the last complete `pages()`
        people = needs_of(policy).people
        self.requesters = "requester" in people
        self.organizations = "organization" in people
        self.needs: Needs | None = None  # as the last fetch asked, for re-reads

    # --- people ------------------------------------------------------------------------------

    def learn_users(self, ids: set[int]) -> None:
        missing = {i for i in ids if i > 0 and i not in self.directory.users}
        for user in self.client.users(missing):
            if (uid := as_int(user.get("id"))) is not None:
                self.directory.users[uid] = user
        for uid in missing - set(self.directory.users):
            self.directory.users[uid] = {"id": uid}  # deleted or invisible: do not ask again

    def learn_people(self, raws: Sequence[Mapping[str, Any]]) -> None:
        users: set[int] = set()
        orgs: set[int] = set()
        for raw in raws:
            keys = ("assignee_id", "requester_id") if self.requesters else ("assignee_id",)
            users.update(i for k in keys if (i := as_int(raw.get(k))) is not None)
            if self.organizations and (org := as_int(raw.get("organization_id"))) is not None:
                orgs.add(org)
        self.learn_users(users)
        missing = orgs - set(self.directory.organizations)
        for org_json in self.client.organizations(missing):
            if (oid := as_int(org_json.get("id"))) is not None:
                self.directory.organizations[oid] = org_json
        for oid in missing - set(self.directory.organizations):
            self.directory.organizations[oid] = {"id": oid}

    # --- tickets -----------------------------------------------------------------------------

    def pages(self, search: str | None = None) -> Iterator[list[Json]]:
        """Every page of the scope (or of `search`, another query); a page that fails after
        retries raises."""
        query = export_query(self.settings.scope if search is None else search)
        cursor: str | None = None
        seen: set[int] = set()
        while True:
            page = self.client.export_page(query, self.settings.page_size, cursor)
            raws = []
            for item in page.get("results") or []:
                if not isinstance(item, dict) or item.get("result_type", "ticket") != "ticket":
                    continue
                tid = as_int(item.get("id"))
                if tid is not None and tid not in seen:  # exactly once, whatever the cursor
                    seen.add(tid)
                    raws.append(item)
            meta = page.get("meta")
            if not isinstance(meta, dict) or not isinstance(meta.get("has_more"), bool):
                raise AdapterError(
                    "GET /api/v2/search/export: a page without meta.has_more; the candidates"
                    " cannot be read completely"
                )
            yield raws
            if not meta["has_more"]:
                if search is None:  # the scope, read whole: what `prune` keeps
                    self.seen = seen
                return
            after = meta.get("after_cursor")
            if not isinstance(after, str) or not after or after == cursor:
                raise AdapterError(
                    "GET /api/v2/search/export: has_more without a new after_cursor; the"
                    " candidates cannot be read completely"
                )
            cursor = after

    def tickets(
        self,
        raws: Sequence[Json],
        needs: Needs | None,
        now: datetime,
        metrics: dict[int, Json] | None = None,
    ) -> list[Ticket]:
        """Map one page (or a re-read batch), with the history `needs` asks for."""
        self.learn_people(raws)
        history = needs.history if needs is not None else None
        if metrics is None:
            metrics = {}
            if history is not None:
                metrics = self.metric_sets([tid for r in raws if (tid := as_int(r.get("id")))])
        out: list[Ticket] = []
        want_events: list[tuple[Json, Ticket]] = []
        for raw in raws:
            ticket = self.map(raw, metrics.get(as_int(raw.get("id")) or -1))
            if history == "events" and needs is not None and needs.wants_events(ticket, now):
                want_events.append((raw, ticket))
            else:
                out.append(ticket)
        if want_events:
            events = self.histories(want_events, now)
            out += [self.map(raw, None, events[t.id]) for raw, t in want_events]
        return out

    def histories(
        self, tickets: Sequence[tuple[Json, Ticket]], now: datetime
    ) -> dict[str, Sequence[Event]]:
        """Each ticket's history events: kept ones still valid, the others read (and kept)."""
        stamps = {t.id: s for raw, t in tickets if isinstance(s := raw.get("updated_at"), str)}
        found: dict[str, Sequence[Event]] = {}
        if self.cache is not None and stamps:
            found.update(self.cache.get(stamps))
        missing = [(raw, t) for raw, t in tickets if t.id not in found]
        if not missing:
            return found
        audits = self.audits([int(t.id) for _, t in missing])
        authors: set[int] = set()
        for raw, t in missing:  # the requester is a customer without asking
            authors |= author_ids(audits[t.id]) - {as_int(raw.get("requester_id")) or 0}
        self.learn_users(authors)
        read: list[tuple[str, str, datetime, Sequence[Event]]] = []
        for raw, t in missing:
            requester = as_int(raw.get("requester_id"))
            found[t.id] = events_from_audits(audits[t.id], self.policy, self.directory, requester)
            if t.id in stamps:
                read.append((t.id, stamps[t.id], t.updated_at, found[t.id]))
        if self.cache is not None:
            self.cache.put(read, now)
        return found

    def prune(self) -> None:
        """After a complete fetch: forget the kept histories of tickets out of scope."""
        if self.cache is not None and self.seen:
            self.cache.prune({str(t) for t in self.seen})

    def audits(self, ids: Sequence[int]) -> dict[str, list[Json]]:
        """Each ticket's audits, `history_concurrency` tickets at a time."""
        found = each(self.client.audits, ids, self.settings.history_concurrency)
        return {str(tid): audits for tid, audits in zip(ids, found, strict=True)}

    def map(
        self,
        raw: Mapping[str, Any],
        metrics: Mapping[str, Any] | None,
        events: Sequence[Event] | None = None,
    ) -> Ticket:
        return ticket_from_json(
            raw,
            policy=self.policy,
            instance=self.instance,
            base_url=self.settings.url,
            directory=self.directory,
            metrics=metrics,
            events=events,
        )

    def metric_sets(self, ids: Sequence[int]) -> dict[int, Json]:
        def page(batch: Sequence[int]) -> Json:
            return self.client.show_many(batch, "metric_sets")

        out: dict[int, Json] = {}
        batches = list(chunks(list(ids), SHOW_MANY))
        for found in each(page, batches, self.settings.history_concurrency):
            out.update(_metrics(found))
        return out

    def fresh(self, ids: Sequence[int], now: datetime) -> dict[int, Fresh]:
        """Re-read tickets (raw and mapped, with the history of the last fetch); gone ones are
        left out."""
        history = self.needs.history if self.needs is not None else None
        raws: list[Json] = []
        metrics: dict[int, Json] = {}
        if len(ids) == 1 and history is None:
            try:
                raws = [self.client.ticket(ids[0])]
            except NotFound:
                raws = []
        else:
            for batch in chunks(list(ids), SHOW_MANY):
                page = self.client.show_many(batch, "metric_sets" if history else None)
                raws += [t for t in page.get("tickets") or [] if isinstance(t, dict)]
                metrics.update(_metrics(page))
        mapped = {int(t.id): t for t in self.tickets(raws, self.needs, now, metrics)}
        out: dict[int, Fresh] = {}
        for raw in raws:
            tid = as_int(raw.get("id"))
            if tid is not None and tid in mapped:
                out[tid] = (raw, mapped[tid])
        return out


def each(fn: Callable[[A], R], items: Sequence[A], workers: int) -> list[R]:
    """`fn` over `items`, at most `workers` at a time (every request still goes through the
    instance's one transport, budget and retry budget); results in the order of `items`.

    All or nothing: the first failure cancels the calls not yet started and is raised once the
    running ones are done, so no page is ever mapped with part of its history."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="history") as pool:
        futures = [pool.submit(fn, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and f.exception() is not None), None)
        if failed is not None:
            for future in futures:
                future.cancel()
            error = failed.exception()
            assert error is not None
            raise error
        return [f.result() for f in futures]


def _metrics(page: Mapping[str, Any]) -> dict[int, Json]:
    out: dict[int, Json] = {}
    for item in page.get("metric_sets") or []:
        if isinstance(item, dict) and (tid := as_int(item.get("ticket_id"))) is not None:
            out[tid] = item
    return out
