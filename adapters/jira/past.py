"""`escalate backtest --instance` on Jira: every issue of the history scope that was open at
some time in the window (adapters/past.py), each with its whole history. Read-only.

Requests for N issues in the window (page size P):
- ceil(N / P) search pages: the history scope AND `created < <after_day>` AND
  `(updated >= <first_day> OR statusCategory != Done)`;
- Cloud: one `POST changelog/bulkfetch` per 1,000 issues (status, assignee, priority and the
  group field); Data Center has no bulk changelog, so the search expands `changelog` (an issue
  whose expanded changelog was cut short is counted in `adapter.approximate`);
- `GET issue/{key}/comment` pages for each issue whose comments the search cut short.

Besides those fields, the changelog gives the values the labels, components, the policy's
custom fields and the request and approval fields took (`field_events`), so the replay sees
each at its instant. The bulk fetch takes 10 fields: any beyond are not read (counted in
`adapter.approximate`), and keep their final value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapters.errors import SetupError
from adapters.jira import search
from adapters.jira.context import Context, parse_time, user_id
from adapters.jira.events import comments_truncated, with_comments
from adapters.jira.jql import TOKEN, split, split_order
from adapters.jira.mapping import to_ticket
from adapters.jira.read import Reader
from adapters.past import Window, status_terms
from rules.history import with_history
from rules.model import Actor, Approval, Event, EventKind, Ticket


def history_jql(history_scope: str | None, scope: str, window: Window) -> str:
    """The search for the issues open at some time in `window`."""
    base = history_scope if history_scope is not None else without_status(scope)
    body, order = split_order(base)
    clause = (
        f'created < "{window.after_day}" AND'
        f' (updated >= "{window.first_day}" OR statusCategory != Done)'
    )
    jql = f"({body}) AND {clause}" if body.strip() else clause
    return f"{jql} {order}" if order else jql


def without_status(scope: str) -> str:
    """The scope without its top-level AND clauses on status, statusCategory or resolution
    ("project = SUP AND statusCategory != Done" -> "project = SUP"). A status term inside an
    OR or parentheses cannot be dropped safely: SetupError asks for a `history_scope`."""
    body, _ = split_order(scope)
    clauses = split(body, "and")
    if len(split(body, "or")) > 1:  # an OR at the top: the AND clauses are not the terms
        clauses = [body]
    kept = []
    for clause in clauses:
        text = clause.strip()
        if not status_terms(text):
            kept.append(text)
        elif {t.lower() for t in TOKEN.findall(text)} & {"and", "or"}:
            raise SetupError(
                f"scope {scope!r}: its status terms cannot be left out for a backtest (they"
                " are inside OR or parentheses); set the instance's history_scope to the"
                " issues a backtest should read, open and done, e.g. 'project = SUP'"
            )
    return " AND ".join(kept)


def read_past(reader: Reader, window: Window) -> Iterator[Ticket]:
    """Every issue open at some time in `window`, with its changelog and all its comments."""
    settings, cloud = reader.lookups.settings, reader.lookups.cloud
    jql = history_jql(settings.history_scope, settings.jql, window)
    ctx = replace(reader.lookups.context(history=True), approver=reader.approvals.by)
    expand = None if cloud else "changelog"
    pending: list[dict[str, Any]] = []
    fields = reader.fields(history=True)
    pages = search.search(reader.client, jql, fields, settings.page_size, expand, grows=True)
    for page in pages:
        pending += [issue for issue in page if window.holds(to_ticket(issue, ctx))]
        if not cloud or len(pending) >= search.BULK_CHANGELOG_ISSUES:
            yield from _whole(reader, pending, ctx)
            pending = []
    yield from _whole(reader, pending, ctx)


def _whole(reader: Reader, issues: list[dict[str, Any]], ctx: Context) -> Iterator[Ticket]:
    if not issues:
        return
    logs = None
    names = past_fields(ctx)
    if reader.lookups.cloud:
        ids = [str(i["id"]) for i in issues]
        fields = [*ctx.custom.values(), *(ctx.tracking.get(n) for n in TRACKED)]
        more = ["labels", "components", *(f.id for f in fields if f is not None)]
        wanted = list(dict.fromkeys([*reader.history_ids(), *more]))
        unread = wanted[search.BULK_CHANGELOG_FIELDS :]
        for fid in unread:
            reader.count(f"history of field {fid} not read (10 fields a bulk fetch)")
        logs = search.changelogs(reader.client, ids, wanted)
    for raw in issues:
        issue = raw
        if comments_truncated(raw):
            issue = with_comments(raw, search.issue_comments(reader.client, str(raw["key"])))
        log = logs.get(str(raw["id"]), []) if logs is not None else reader.expanded_log(raw)
        ticket = to_ticket(issue, ctx, log, initial=True)
        extra = field_events(issue, log, ctx, names)
        yield with_history(ticket, [*(ticket.history or ()), *extra]) if extra else ticket


TRACKED = ("request", "approved_by")  # the tracking fields people set


def past_fields(ctx: Context) -> dict[str, str]:
    """Changelog field id (or name) -> event field name: labels, components, the policy's
    custom fields, the request and approval fields."""
    out = {"labels": "tags", "components": "components", "Component": "components"}
    for name, f in ctx.custom.items():
        out[f.id] = out[f.name] = f"custom.{name}"
    for name in TRACKED:
        if (tracked := ctx.tracking.get(name)) is not None:
            out[tracked.id] = out[tracked.name] = f"tracking.{name}"
    return out


Change = tuple[datetime, Mapping[str, Any], str, object]  # at, entry, event field, value after


def field_events(
    issue: Mapping[str, Any],
    histories: Iterable[Mapping[str, Any]],
    ctx: Context,
    names: Mapping[str, str],
) -> list[Event]:
    """The `field` events of an issue's changelog: each value a field took, and the value each
    held at creation (system events at creation). A components item adds or removes one
    component, so the whole list after each is rebuilt backwards from the issue's own."""
    f: Mapping[str, Any] = issue.get("fields") or {}
    created = parse_time(f.get("created"))
    if created is None:
        return []
    comps = [str(c.get("name")) for c in f.get("components") or () if isinstance(c, Mapping)]
    changes: list[Change] = []
    first: dict[str, object] = {}
    for entry in sorted(histories, key=lambda h: str(h.get("created") or ""), reverse=True):
        at = parse_time(entry.get("created"))
        for item in reversed(entry.get("items") or ()):
            named = names.get(str(item.get("fieldId") or "")) or names.get(str(item.get("field")))
            if at is None or named is None:
                continue
            if named == "components":
                changes.append((at, entry, named, tuple(comps)))
                comps = [c for c in comps if c != item.get("toString")]
                comps += [str(item["fromString"])] if item.get("fromString") else []
                first[named] = tuple(comps)
            else:
                changes.append((at, entry, named, item.get("toString")))
                first[named] = item.get("fromString")  # the earliest one's, in the end
    reporter = user_id(f.get("reporter"))
    out = [_event(created, Actor.SYSTEM, n, v) for n, v in first.items() if "tracking." not in n]
    for at, entry, named, value in reversed(changes):
        author = entry.get("author") or {}
        by = None
        if named == "tracking.approved_by" and ctx.approver is not None:
            by = ctx.approver(author, at)
        out.append(_event(at, ctx.people.actor(author or None, reporter), named, value, by))
    return out


def _event(
    at: datetime, actor: Actor, name: str, value: object, by: Approval | None = None
) -> Event:
    """A list field as `values` (labels: one space-separated text), another as `value`."""
    if isinstance(value, tuple):
        return Event(at, EventKind.FIELD, actor, field=name, values=value)
    if name == "tags":
        return Event(at, EventKind.FIELD, actor, field=name, values=tuple(str(value or "").split()))
    text = None if value is None else str(value)
    return Event(at, EventKind.FIELD, actor, value=text, field=name, by=by)
