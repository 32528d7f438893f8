"""`escalate backtest --instance` on Jira: every issue of the history scope that was open at
some time in the window (adapters/past.py), each with its whole history. Read-only.

Requests for N issues in the window (page size P):
- ceil(N / P) search pages: the history scope AND `created < <after_day>` AND
  `(updated >= <first_day> OR statusCategory != Done)`;
- Cloud: one `POST changelog/bulkfetch` per 1,000 issues (status, assignee, priority and the
  group field); Data Center has no bulk changelog, so the search expands `changelog` (an issue
  whose expanded changelog was cut short is counted in `adapter.approximate`);
- `GET issue/{key}/comment` pages for each issue whose comments the search cut short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.errors import SetupError
from adapters.jira import search
from adapters.jira.jql import TOKEN, split, split_order
from adapters.jira.mapping import Context, comments_truncated, to_ticket, with_comments
from adapters.jira.read import Reader
from adapters.past import Window, status_terms
from rules.model import Ticket


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
    ctx = reader.lookups.context(history=True)
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
    if reader.lookups.cloud:
        ids = [str(i["id"]) for i in issues]
        logs = search.changelogs(reader.client, ids, reader.history_ids())
    for raw in issues:
        issue = raw
        if comments_truncated(raw):
            issue = with_comments(raw, search.issue_comments(reader.client, str(raw["key"])))
        log = logs.get(str(raw["id"]), []) if logs is not None else reader.expanded_log(raw)
        yield to_ticket(issue, ctx, log, initial=True)
