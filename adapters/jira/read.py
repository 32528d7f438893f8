"""Reading issues as neutral tickets: the scope page by page with the history the policy needs,
and one issue fresh before it is written.

History costs, for N issues: none when the policy reads no history; else, on Cloud one
`changelog/bulkfetch` per 1,000 issues (status, assignee, priority, the group field), on Data
Center the search's own `expand=changelog`; and the comments of an issue whose search result
cut them short, only where the policy would look at its events (`Needs.wants_events`). An issue
whose approval field holds a value: its changelog, and once per run the members of the policy's
approver groups (`adapters.jira.approvals`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapters.errors import AdapterError
from adapters.jira import search
from adapters.jira.approvals import Approvals
from adapters.jira.context import Context
from adapters.jira.decoding import page_decoder
from adapters.jira.events import comments_truncated, with_comments
from adapters.jira.lookups import Lookups
from adapters.jira.mapping import Staged, finish, stage, to_ticket
from adapters.outcomes import Fresh
from adapters.sweeping import sweeping
from rules.model import Ticket
from rules.needs import Needs, needs

Json = dict[str, Any]
SYSTEM_FIELDS = (
    "summary",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "created",
    "updated",
    "statuscategorychangedate",
    "issuetype",
    "components",
    "project",
)
HISTORY_FIELD_IDS = ("status", "assignee", "priority")


class Reader:
    def __init__(self, lookups: Lookups) -> None:
        self.lookups, self.client = lookups, lookups.client
        self.needs = needs(lookups.policy)
        #: What could only be read approximately, by what (e.g. "changelog truncated").
        self.approximate: dict[str, int] = {}
        self.approvals = Approvals(lookups)

    def fields(self, *, history: bool) -> list[str]:
        r = self.lookups.resolved
        ids = [*SYSTEM_FIELDS, *(f.id for f in r.tracking.values())]
        ids += [f.id for f in r.custom.values()]
        if r.group is not None:
            ids.append(r.group.id)
        if history:
            ids += ["comment", "description"]
        return list(dict.fromkeys(ids))

    def history_ids(self) -> list[str]:
        """The fields whose changelog entries make a history (the bulk fetch takes 10)."""
        group = self.lookups.resolved.group
        return [*HISTORY_FIELD_IDS, *([group.id] if group else [])]

    # --- the scope --------------------------------------------------------------------------

    def fetch(self, wanted: Needs, now: datetime, jql: str | None = None) -> Iterator[Ticket]:
        """Every issue in scope (or that `jql` finds), each once; any failure raises (the
        caller acts on nothing)."""
        history = wanted.history is not None
        ctx = self.lookups.context(history=history)
        cloud = self.lookups.cloud
        expand = "changelog" if history and not cloud else None
        pending: list[Staged] = []
        size, jql = self.lookups.settings.page_size, jql or self.lookups.settings.jql
        fields = self.fields(history=history)
        decode = page_decoder(fields)
        pages = search.search(self.client, jql, fields, size, expand, decode=decode)
        with sweeping():
            for page in pages:
                if not history:
                    yield from (self.approved(issue, to_ticket(issue, ctx)) for issue in page)
                elif not cloud:
                    yield from (self._with_history(i, ctx, wanted, now, None) for i in page)
                else:  # mapped now, so that the page is freed: `Staged`
                    pending += [stage(self._whole(i, ctx, wanted, now), ctx) for i in page]
                    if len(pending) >= search.BULK_CHANGELOG_ISSUES:
                        yield from self._bulk_history(pending, ctx)
                        pending = []
            if pending:
                yield from self._bulk_history(pending, ctx)

    def _bulk_history(self, staged: list[Staged], ctx: Context) -> Iterator[Ticket]:
        logs = search.changelogs(self.client, [s.id for s in staged], self.history_ids())
        for s in staged:
            ticket = finish(s, logs.get(s.id, []), ctx)
            yield self._approved(s.key, s.updated, ticket)

    def _with_history(
        self,
        issue: Json,
        ctx: Context,
        wanted: Needs,
        now: datetime,
        log: Sequence[Mapping[str, Any]] | None,
    ) -> Ticket:
        if log is None:  # Data Center: the search expanded the changelog
            log = self.expanded_log(issue)
        issue = self._whole(issue, ctx, wanted, now)
        return self.approved(issue, to_ticket(issue, ctx, log, texts=False))

    def _whole(self, issue: Json, ctx: Context, wanted: Needs, now: datetime) -> Json:
        """The issue with all its comments where its search result cut them short and the
        policy would look at its events (else counted as approximate)."""
        if comments_truncated(issue):
            if wanted.wants_events(to_ticket(issue, ctx), now):
                return with_comments(issue, search.issue_comments(self.client, issue["key"]))
            self.count("comments truncated")
        return issue

    def approved(self, issue: Mapping[str, Any], ticket: Ticket) -> Ticket:
        """The ticket, with who set its approval field when it holds a value (its changelog)."""
        return self._approved(str(issue["key"]), (issue.get("fields") or {}).get("updated"), ticket)

    def _approved(self, key: str, updated: object, ticket: Ticket) -> Ticket:
        value = ticket.tracking.approved_by
        if not value:
            return ticket
        return replace(ticket, approval=self.approvals.record(key, value, updated))

    def expanded_log(self, issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Data Center: the changelog the search expanded (counted when it was truncated)."""
        block = issue.get("changelog") or {}
        log: list[Mapping[str, Any]] = block.get("histories") or []
        if int(block.get("total") or 0) > len(log):
            self.count("changelog truncated")
        return log

    def count(self, what: str) -> None:
        self.approximate[what] = self.approximate.get(what, 0) + 1

    # --- one issue --------------------------------------------------------------------------

    def read(self, key: str) -> Json:
        """The issue now, with comments (and its changelog when the policy reads history)."""
        history = self.needs.history is not None
        params = {"fields": ",".join(self.fresh_fields())}
        if history:
            params["expand"] = "changelog"
        path = self.lookups.path(key)
        raw = self.client.get(path, params)
        if not _is_issue(raw):
            raise AdapterError(
                f"GET {path} answered without an issue (key and fields); nothing is written to it"
            )
        self._whole_changelogs([raw])
        return raw  # type: ignore[no-any-return]

    def read_many(self, keys: Sequence[str]) -> dict[str, Json]:
        """The issues now (at most `search.BULK_ISSUES`), by key, as `read` gives each: one
        request (plus one changelog bulk fetch on Cloud when some changelog is cut short).
        Those not found are left out: `read` says why (gone, hidden, moved)."""
        history = self.needs.history is not None
        found = search.by_keys(self.client, keys, self.fresh_fields(), changelog=history)
        wanted = set(keys)
        out = {str(i["key"]): i for i in found if _is_issue(i) and str(i["key"]) in wanted}
        self._whole_changelogs(list(out.values()))
        self.approvals.read_ahead(out)
        return out

    def fresh_fields(self) -> list[str]:
        history = self.needs.history is not None
        return list(dict.fromkeys([*self.fields(history=history), "comment"]))

    def _whole_changelogs(self, issues: list[Json]) -> None:
        """Cloud cuts an expanded changelog short (100 entries on GET issue, 40 in a bulk
        fetch): those issues get theirs whole from the changelog bulk fetch, in one request."""
        if self.needs.history is None or not self.lookups.cloud:
            return
        cut = [i for i in issues if _cut_short(i.get("changelog") or {})]
        if not cut:
            return
        logs = search.changelogs(self.client, [str(i["id"]) for i in cut], self.history_ids())
        for issue in cut:
            issue["changelog"] = {"histories": logs.get(str(issue["id"]), [])}

    def ticket(self, raw: Mapping[str, Any]) -> Ticket:
        history = self.needs.history is not None
        log = (raw.get("changelog") or {}).get("histories") or [] if history else None
        return self.approved(raw, to_ticket(raw, self.lookups.context(history=history), log))

    def fresh(self, key: str) -> Fresh:
        """The issue now, raw and mapped (NotFound when gone)."""
        raw = self.read(key)
        return Fresh(raw, self.ticket(raw))


def _is_issue(raw: Any) -> bool:
    return isinstance(raw, dict) and bool(raw.get("key")) and isinstance(raw.get("fields"), dict)


def _cut_short(block: Mapping[str, Any]) -> bool:
    return int(block.get("total") or 0) > len(block.get("histories") or ())
