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

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from adapters.errors import SetupError
from adapters.jira import fetch as reads
from adapters.jira.mapping import Context, comments_truncated, to_ticket, with_comments
from adapters.past import Window, status_terms
from rules.model import Ticket

if TYPE_CHECKING:
    from adapters.jira.adapter import JiraAdapter

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[()]|[^\s()"\']+|\s+')
_ORDER = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)


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


def split_order(jql: str) -> tuple[str, str]:
    """(the JQL without its ORDER BY, the ORDER BY or "")."""
    unquoted = "".join(t if t[0] not in "\"'" else "_" * len(t) for t in _TOKEN.findall(jql))
    m = _ORDER.search(" " + unquoted)
    if m is None:
        return jql, ""
    cut = max(m.start() - 1, 0)
    return jql[:cut].rstrip(), jql[cut:].strip()


def without_status(scope: str) -> str:
    """The scope without its top-level AND clauses on status, statusCategory or resolution
    ("project = SUP AND statusCategory != Done" -> "project = SUP"). A status term inside an
    OR or parentheses cannot be dropped safely: SetupError asks for a `history_scope`."""
    body, _ = split_order(scope)
    clauses = _split(body, "and")
    if len(_split(body, "or")) > 1:  # an OR at the top: the AND clauses are not the terms
        clauses = [body]
    kept = []
    for clause in clauses:
        text = clause.strip()
        if not status_terms(text):
            kept.append(text)
        elif {t.lower() for t in _TOKEN.findall(text)} & {"and", "or"}:
            raise SetupError(
                f"scope {scope!r}: its status terms cannot be left out for a backtest (they"
                " are inside OR or parentheses); set the instance's history_scope to the"
                " issues a backtest should read, open and done, e.g. 'project = SUP'"
            )
    return " AND ".join(kept)


def _split(jql: str, word: str) -> list[str]:
    """`jql` split on `word` (AND, OR) outside parentheses and quotes."""
    parts, current, depth = [], "", 0
    for token in _TOKEN.findall(jql):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth == 0 and token.lower() == word:
            parts.append(current)
            current = ""
        else:
            current += token
    return [*parts, current]


def read_past(adapter: JiraAdapter, window: Window) -> Iterator[Ticket]:
    """Every issue open at some time in `window`, with its changelog and all its comments."""
    settings = adapter.settings
    jql = history_jql(settings.history_scope, settings.jql, window)
    ctx = adapter.context(history=True)
    fields = adapter.fetch_fields(history=True)
    expand = None if adapter.cloud else "changelog"
    pending: list[dict[str, Any]] = []
    pages = reads.search(adapter.client, jql, fields, settings.page_size, expand, grows=True)
    for page in pages:
        pending += [issue for issue in page if window.holds(to_ticket(issue, ctx))]
        if not adapter.cloud or len(pending) >= reads.BULK_CHANGELOG_ISSUES:
            yield from _whole(adapter, pending, ctx)
            pending = []
    yield from _whole(adapter, pending, ctx)


def _whole(adapter: JiraAdapter, issues: list[dict[str, Any]], ctx: Context) -> Iterator[Ticket]:
    if not issues:
        return
    logs = None
    if adapter.cloud:
        ids = [str(i["id"]) for i in issues]
        logs = reads.changelogs(adapter.client, ids, adapter.history_ids())
    for raw in issues:
        issue = raw
        if comments_truncated(raw):
            issue = with_comments(raw, reads.issue_comments(adapter.client, str(raw["key"])))
        log = logs.get(str(raw["id"]), []) if logs is not None else adapter.expanded_log(raw)
        yield to_ticket(issue, ctx, log, initial=True)
