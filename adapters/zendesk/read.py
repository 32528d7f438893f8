"""Reading: candidates by search export, people and groups by per-run caches, history in bulk.

Requests for N tickets in scope (page size P, at most 1,000):
- ceil(N / P) search export pages (cursor pagination: no 1,000-result cap, nothing truncated);
- once per run: `users/me`, `ticket_fields`, `groups`;
- `users/show_many` per 100 assignees not yet cached (agents: bounded by the account's agents);
  requesters too, and `organizations/show_many` per 100 organisations, only when the policy
  reads them (`requester`, `requester_domain`, `organization`, `organization_tag`);
- history "summary": `tickets/show_many?include=metric_sets` per 100 tickets;
- a ticket whose approval field holds a value: its audits, and once per run the members of the
  policy's approver groups (`adapters.zendesk.approvals`);
- history "events": besides the summary, `tickets/{id}/audits` (100 audits a page) for each
  ticket where `needs.wants_events` holds and whose history is not in the cache as of its
  current `updated_at` (adapters/history_cache.py), plus `users/show_many` per 100 unknown
  authors. With the cache, a run reads the audits of the tickets updated since the last run.
History requests (metric sets and audits) run `history_concurrency` at a time, page by page.

A page of `show_many` asked for metric sets that comes back without them (a proxy or an account
plan that strips sideloads) is logged once per run (`metric_sets_missing`): without them SLA
pauses, first response and reopens are not known for those tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import structlog

from adapters.errors import AdapterError, NotFound
from adapters.outcomes import Fresh
from adapters.sweeping import sweeping
from adapters.zendesk.approvals import Approvals
from adapters.zendesk.client import SHOW_MANY, chunks
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import (
    as_int,
    author_ids,
    events_from_audits,
    finish,
    ticket_values,
    to_ticket,
)
from rules.model import Event, Ticket
from rules.needs import Needs
from rules.needs import needs as needs_of
from rules.tracking import format_time

Json = dict[str, Any]
A = TypeVar("A")
R = TypeVar("R")
log = structlog.get_logger(__name__)


def export_query(scope: str) -> str:
    """The scope without `type:ticket`: the export takes the type in `filter[type]` only."""
    terms = [t for t in scope.split() if t.lower() not in ("type:ticket", 'type:"ticket"')]
    return " ".join(terms)


class Reader:
    def __init__(self, lookups: Lookups) -> None:
        self.lookups, self.client = lookups, lookups.client
        self.settings, self.policy = lookups.settings, lookups.policy
        self.needs = needs_of(lookups.policy)
        self.seen: set[int] = set()  # every ticket of the last complete `pages()`
        self.warned = False  # metric sets missing: said once per run
        self.approvals = Approvals(lookups)

    def fetch(self, wanted: Needs, now: datetime) -> Iterator[Ticket]:
        """Every ticket in scope, each once; a page that fails raises (act on nothing)."""
        with sweeping():
            self.lookups.prepare()
            for raws in self.pages():
                yield from self.tickets(raws, wanted, now)
        self.prune()

    def learn_people(self, raws: Sequence[Mapping[str, Any]], people: frozenset[str]) -> None:
        """The assignees, and the requesters and organisations where `people` names them."""
        requesters, organizations = "requester" in people, "organization" in people
        keys = ("assignee_id", "requester_id") if requesters else ("assignee_id",)
        users = {i for raw in raws for k in keys if (i := as_int(raw.get(k))) is not None}
        self.lookups.learn_users(users)
        if organizations:
            orgs = {o for raw in raws if (o := as_int(raw.get("organization_id"))) is not None}
            self.lookups.learn_organizations(orgs)

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
        wanted: Needs,
        now: datetime,
        metrics: dict[int, Json] | None = None,
    ) -> list[Ticket]:
        """Map one page (or a re-read batch), with the history `wanted` asks for."""
        self.learn_people(raws, wanted.people)
        history = wanted.history
        if metrics is None:
            metrics = {}
            if history is not None:
                metrics = self.metric_sets([tid for r in raws if (tid := as_int(r.get("id")))])
        out: list[Ticket] = []
        want_events: list[tuple[Json, Ticket]] = []
        ctx = self.lookups.context()
        kept: dict[str, dict[str, Any]] = {}  # mapped once, finished again with the events
        for raw in raws:
            values = ticket_values(raw, ctx)
            ticket = finish(values, raw, ctx, metrics=metrics.get(as_int(raw.get("id")) or -1))
            if history == "events" and wanted.wants_events(ticket, now):
                want_events.append((raw, ticket))
                kept[ticket.id] = values
            else:
                out.append(ticket)
        read: dict[str, list[Json]] = {}  # audits read for histories: approvals reuse them
        if want_events:
            events = self.histories(want_events, now, read=read)
            out += [finish(kept[t.id], raw, ctx, events=events[t.id]) for raw, t in want_events]
        return self.with_approvals(raws, out, read)

    def with_approvals(
        self, raws: Sequence[Json], tickets: list[Ticket], read: Mapping[str, list[Json]]
    ) -> list[Ticket]:
        """Each ticket whose approval field holds a value, with who set it (its audits: the
        ones `read` already holds, else read now)."""
        if not any(t.tracking.approved_by for t in tickets):
            return tickets
        by_id = {str(raw.get("id")): raw for raw in raws}
        return [
            replace(t, approval=self.approvals.record(by_id[t.id], read.get(t.id)))
            if t.tracking.approved_by and t.id in by_id
            else t
            for t in tickets
        ]

    def histories(
        self,
        tickets: Sequence[tuple[Json, Ticket]],
        now: datetime,
        *,
        cached: bool = True,
        read: dict[str, list[Json]] | None = None,
    ) -> dict[str, Sequence[Event]]:
        """Each ticket's history events: kept ones still valid, the others read (and kept),
        or, not `cached` (a backtest's read), all read and none kept, with the `field` events
        of the tags, custom, request and approval fields a replay needs (`past_fields`). The
        audits read go into `read`, if given."""
        stamps = {t.id: s for raw, t in tickets if isinstance(s := raw.get("updated_at"), str)}
        found: dict[str, Sequence[Event]] = {}
        cache = self.lookups.cache if cached else None
        if cache is not None and stamps:
            found.update(cache.get(stamps))
        missing = [(raw, t) for raw, t in tickets if t.id not in found]
        if not missing:
            return found
        audits = self.audits([int(t.id) for _, t in missing])
        if read is not None:
            read.update(audits)
        authors: set[int] = set()
        for raw, t in missing:  # the requester is a customer without asking
            authors |= author_ids(audits[t.id]) - {as_int(raw.get("requester_id")) or 0}
        self.lookups.learn_users(authors)
        kept: list[tuple[str, str, datetime, Sequence[Event]]] = []
        people, ctx = self.lookups.people, self.lookups.context()
        fields, approver = (None, None) if cached else (self.past_fields(), self.approvals.by)
        for raw, t in missing:
            requester = as_int(raw.get("requester_id"))
            found[t.id] = events_from_audits(
                audits[t.id], self.policy, people, requester, fields, approver, ctx
            )
            if t.id in stamps:
                kept.append((t.id, stamps[t.id], t.updated_at, found[t.id]))
        if cache is not None:
            cache.put(kept, now)
        return found

    def past_fields(self) -> dict[str, str]:
        """What a backtest reads from the audits besides status, priority, group and assignee:
        the tags, the policy's custom fields and the request and approval fields."""
        fmap = self.lookups.fieldmap()
        out = {"tags": "tags"}
        out |= {str(fid): f"custom.{name}" for name, fid in fmap.custom.items()}
        out |= {
            str(fid): f"tracking.{name}"
            for name, fid in fmap.tracking.items()
            if name in ("request", "approved_by")
        }
        return out

    def prune(self) -> None:
        """After a complete fetch: forget the kept histories of tickets out of scope."""
        if self.lookups.cache is not None and self.seen:
            self.lookups.cache.prune({str(t) for t in self.seen})

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
        return to_ticket(raw, self.lookups.context(), metrics=metrics, events=events)

    def metric_sets(self, ids: Sequence[int]) -> dict[int, Json]:
        def page(batch: Sequence[int]) -> Json:
            return self.client.show_many(batch, "metric_sets")

        out: dict[int, Json] = {}
        batches = list(chunks(list(ids), SHOW_MANY))
        for found in each(page, batches, self.settings.history_concurrency):
            out.update(self.sideloaded(found))
        return out

    def sideloaded(self, page: Mapping[str, Any]) -> dict[int, Json]:
        """The page's metric sets by ticket id; tickets left without one are warned of, once."""
        found = _metrics(page)
        tickets = [tid for t in page.get("tickets") or [] if (tid := as_int(t.get("id")))]
        missing = [tid for tid in tickets if tid not in found]
        if missing and not self.warned:
            self.warned = True
            log.warning(
                "metric_sets_missing",
                instance=self.lookups.instance,
                tickets=len(missing),
                example=missing[0],
                effect="SLA pauses, first response and reopens are not known for these tickets;"
                " check that nothing between the connector and Zendesk strips sideloads",
            )
        return found

    def fresh(self, ids: Sequence[int], now: datetime) -> dict[int, Fresh]:
        """Re-read tickets (raw and mapped, with the history the policy needs); gone ones are
        left out."""
        self.lookups.prepare()
        history = self.needs.history
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
                if history:
                    metrics.update(self.sideloaded(page))
        mapped = {int(t.id): t for t in self.tickets(raws, self.needs, now, metrics)}
        out: dict[int, Fresh] = {}
        for raw in raws:
            tid = as_int(raw.get("id"))
            if tid is not None and tid in mapped:
                out[tid] = Fresh(raw, mapped[tid], format_time(mapped[tid].updated_at))
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
