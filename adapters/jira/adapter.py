"""The Jira adapter (Cloud and Data Center): the `Adapter` protocol over `JiraClient`.

Per run, and only when first needed: the flavour (serverInfo), the field catalog (GET /field),
our own account (GET /myself, when history or a comment check needs it), the statuses (when
history is read), each project's edit screen (GET editmeta for one issue of the project, before
the first write there) and the exact user lookups. Nothing is looked up per issue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapters.base import Check, FieldStatus, Queue, Reevaluate, WriteResult
from adapters.errors import AdapterError, NotFound, Rejected, SetupError, TransientError
from adapters.http import RequestStats, maybe_landed
from adapters.jira import doctor
from adapters.jira import fetch as reads
from adapters.jira import queue as queues
from adapters.jira.client import ErrorHook, Flavour, JiraClient
from adapters.jira.edit import Edit, EditContext, ProjectMeta, build
from adapters.jira.fields import (
    CREATED,
    Catalog,
    Field,
    Resolved,
    create_body,
    off_screen,
    resolve,
    screen_problems,
    setup_error,
)
from adapters.jira.mapping import (
    Context,
    People,
    comments_truncated,
    to_ticket,
    with_comments,
)
from adapters.jira.past import read_past
from adapters.jira.settings import Settings
from adapters.jira.write import pay, write_hook, write_one
from adapters.owed import Journal
from adapters.past import Window
from rules.model import Ticket
from rules.needs import Needs, needs
from rules.plan import TicketChange
from rules.policy import Policy

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
SAMPLE = 50  # issues of the scope read to learn its projects (doctor, setup)


def policy_assignees(policy: Policy) -> frozenset[str]:
    """Every assignee the policy names (levels and matrix, per-instance overrides too)."""
    owners = [lv.owner for lv in policy.model.levels if lv.owner is not None]
    owners += [o for row in policy.model.matrix.values() for o in row.values()]
    names = {o.assignee for o in owners}
    names |= {i.assignee for o in owners for i in o.instances.values()}
    return frozenset(n for n in names if n)


class JiraAdapter:
    platform = "jira"

    def __init__(
        self,
        instance: str,
        settings: Settings,
        policy: Policy,
        client: JiraClient,
        journal: Journal | None = None,
    ):
        self.instance = instance
        self.journal = journal or Journal(None, settings.url, client.clock)
        self.settings = settings
        self.policy = policy
        self.client = client
        self.stats: RequestStats = client.stats
        self.needs: Needs = needs(policy)
        mapping = policy.platforms.get("jira")
        self.titles = {**(mapping.fields if mapping else {}), **settings.fields}
        self._catalog: Catalog | None = None
        self._resolved: Resolved | None = None
        self._myself: tuple[str | None] | None = None
        self._statuses: dict[str, str] = {}
        self._projects: dict[str, ProjectMeta] = {}
        self._sample: dict[str, tuple[str, str]] | None = None
        self._users: dict[str, dict[str, str] | Rejected] = {}
        self._lookups = threading.Lock()  # guards _projects and _users for the writer threads
        self.approximate: dict[str, int] = {}
        self.assignees = policy_assignees(policy)

    # --- per-run lookups --------------------------------------------------------------------

    @property
    def cloud(self) -> bool:
        return self.client.flavour is Flavour.CLOUD

    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = self.catalog_now()
        return self._catalog

    @property
    def resolved(self) -> Resolved:
        if self._resolved is None:
            self.fields()
        assert self._resolved is not None
        return self._resolved

    def myself(self) -> str | None:
        if self._myself is None:
            me = self.client.get(f"{self.client.api}/myself") or {}
            self._myself = (me.get("accountId") or me.get("name") or me.get("key"),)
        return self._myself[0]

    def statuses(self) -> dict[str, str]:
        if not self._statuses:
            for s in self.client.get(f"{self.client.api}/status") or []:
                key = str((s.get("statusCategory") or {}).get("key") or "")
                self._statuses[str(s.get("id"))] = key
                self._statuses[str(s.get("name"))] = key
        return self._statuses

    def context(self, *, history: bool) -> Context:
        r = self.resolved
        return Context(
            instance=self.instance,
            base_url=self.settings.url,
            policy=self.policy,
            tracking=r.tracking,
            group=r.group,
            custom=r.custom,
            people=People(self.myself() if history else None, self.settings.users, self.assignees),
            statuses=self.statuses() if history else {},
        )

    # --- fields -----------------------------------------------------------------------------

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        """Resolve every field by name; with `create`, create missing tracking fields first."""
        created = self._create_missing(self.catalog()) if create else set()
        statuses, resolved = self._resolve(self.catalog())  # re-read if an answer was lost
        statuses = [
            replace(s, problem=CREATED, created=True) if s.name in created and s.id else s
            for s in statuses
        ]
        setup_error(self.instance, statuses, self.titles)
        self._resolved = resolved
        return statuses

    def _resolve(self, catalog: Catalog) -> tuple[list[FieldStatus], Resolved]:
        custom = self.needs.custom_fields
        group = self.settings.group_field
        return resolve(catalog, self.titles, group, custom, self._reassigns_groups())

    def _create_missing(self, catalog: Catalog) -> set[str]:
        """POST each missing tracking field once; one whose answer was lost is looked up."""
        created: set[str] = set()
        for logical, title in self.titles.items():
            if catalog.lookup(title)[1] != "missing":
                continue
            body = create_body(logical, title)
            try:
                made = self.client.post(f"{self.client.api}/field", body, may_repeat=False)
            except TransientError as exc:
                if not maybe_landed(exc):
                    raise
                self._catalog = catalog = self.catalog_now()
                if catalog.lookup(title)[0] is None:
                    raise
            else:
                catalog.add(Field.from_json(made))
            created.add(logical)
        return created

    def catalog_now(self) -> Catalog:
        return Catalog(self.client.get(f"{self.client.api}/field") or [])

    def inspect_fields(self) -> list[FieldStatus]:
        """Each field with its problem, the edit screens of the scope's projects included."""
        statuses, r = self._resolve(self.catalog())
        wanted = [*r.tracking.values(), *([r.group] if r.group else [])]
        try:
            sample = self.sample().items()
        except Rejected:  # a bad scope: `doctor` says so; the fields are still reported
            return statuses
        screens = {p: self.project_meta(k, p, check=False).editable for p, (k, _) in sample}
        return off_screen(statuses, wanted, screens)

    def sample(self) -> dict[str, tuple[str, str]]:
        """Project key -> (an issue key, the project id), from the first page of the scope."""
        if self._sample is None:
            size = min(self.settings.page_size, SAMPLE)
            page = next(reads.search(self.client, self.settings.jql, ["project"], size), [])
            self._sample = {}
            for issue in page:
                project = (issue.get("fields") or {}).get("project") or {}
                entry = (str(issue["key"]), str(project.get("id")))
                self._sample.setdefault(str(project.get("key")), entry)
        return self._sample

    def queue(self, *, create: bool = False) -> Queue:
        return queues.queue(self, create=create)

    def _reassigns_groups(self) -> bool:
        levels = self.policy.model.levels
        return any(lv.owner is not None and lv.owner.group for lv in levels)

    def fetch_fields(self, *, history: bool) -> list[str]:
        r = self.resolved
        ids = [*SYSTEM_FIELDS, *(f.id for f in r.tracking.values())]
        ids += [f.id for f in r.custom.values()]
        if r.group is not None:
            ids.append(r.group.id)
        if history:
            ids += ["comment", "description"]
        return list(dict.fromkeys(ids))

    # --- reading ----------------------------------------------------------------------------

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        history = needs.history is not None
        fields = self.fetch_fields(history=history)
        ctx = self.context(history=history)
        expand = "changelog" if history and not self.cloud else None
        pending: list[dict[str, Any]] = []
        for page in reads.search(
            self.client, self.settings.jql, fields, self.settings.page_size, expand
        ):
            if not history:
                yield from (to_ticket(issue, ctx) for issue in page)
            elif not self.cloud:
                for issue in page:
                    yield self._with_history(issue, ctx, needs, now, None)
            else:
                pending += page
                if len(pending) >= reads.BULK_CHANGELOG_ISSUES:
                    yield from self._bulk_history(pending, ctx, needs, now)
                    pending = []
        if pending:
            yield from self._bulk_history(pending, ctx, needs, now)

    def past(self, window: Window) -> Iterator[Ticket]:
        return read_past(self, window)

    def _bulk_history(
        self, issues: list[dict[str, Any]], ctx: Context, needs: Needs, now: datetime
    ) -> Iterator[Ticket]:
        logs = reads.changelogs(self.client, [str(i["id"]) for i in issues], self.history_ids())
        for issue in issues:
            yield self._with_history(issue, ctx, needs, now, logs.get(str(issue["id"]), []))

    def _with_history(
        self,
        issue: dict[str, Any],
        ctx: Context,
        needs: Needs,
        now: datetime,
        log: Sequence[Mapping[str, Any]] | None,
    ) -> Ticket:
        if log is None:  # Data Center: the search expanded the changelog
            log = self.expanded_log(issue)
        if comments_truncated(issue):
            if needs.wants_events(to_ticket(issue, ctx), now):
                issue = with_comments(issue, reads.issue_comments(self.client, issue["key"]))
            else:
                self._approx("comments truncated")
        return to_ticket(issue, ctx, log)

    def history_ids(self) -> list[str]:
        """The fields whose changelog entries make a history (the bulk fetch takes 10)."""
        group = self.resolved.group
        return [*HISTORY_FIELD_IDS, *([group.id] if group else [])]

    def expanded_log(self, issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Data Center: the changelog the search expanded (counted when it was truncated)."""
        block = issue.get("changelog") or {}
        log: list[Mapping[str, Any]] = block.get("histories") or []
        if int(block.get("total") or 0) > len(log):
            self._approx("changelog truncated")
        return log

    def _approx(self, what: str) -> None:
        self.approximate[what] = self.approximate.get(what, 0) + 1

    def issue_path(self, key: str) -> str:
        return f"{self.client.api}/issue/{key}"

    def read(self, key: str) -> dict[str, Any]:
        """The issue now, with comments (and its changelog when the policy reads history)."""
        history = self.needs.history is not None
        fields = dict.fromkeys([*self.fetch_fields(history=history), "comment"])
        params = {"fields": ",".join(fields)}
        if history:
            params["expand"] = "changelog"
        raw = self.client.get(self.issue_path(key), params)
        if not (isinstance(raw, dict) and raw.get("key") and isinstance(raw.get("fields"), dict)):
            raise AdapterError(
                f"GET {self.issue_path(key)} answered without an issue (key and fields);"
                " nothing is written to it"
            )
        if history and self.cloud:
            block = raw.get("changelog") or {}
            if int(block.get("total") or 0) > len(block.get("histories") or ()):
                logs = reads.changelogs(self.client, [str(raw["id"])], self.history_ids())
                raw["changelog"] = {"histories": logs.get(str(raw["id"]), [])}
        return raw

    def ticket(self, raw: Mapping[str, Any]) -> Ticket:
        history = self.needs.history is not None
        log = (raw.get("changelog") or {}).get("histories") or [] if history else None
        return to_ticket(raw, self.context(history=history), log)

    def reread(self, ticket_id: str) -> Ticket:
        return self.ticket(self.read(ticket_id))

    # --- writing ----------------------------------------------------------------------------

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        for change in changes:
            yield write_one(self, change, reevaluate)

    def send_owed(self) -> Iterator[WriteResult]:
        items = self.journal.due()
        for item in items:
            siblings = {i.state for i in items if i.ticket == item.ticket} - {item.state}
            if (result := pay(self, item, siblings)) is not None:
                yield result

    def batch_size(self, pending: int) -> int:
        """Jira has no bulk edit that keeps our promises: one issue per call."""
        return 1

    @property
    def write_hook(self) -> ErrorHook:
        names = {f.id: f.name for f in self.catalog().fields}
        return write_hook(names)

    def project_meta(self, key: str, project: str, *, check: bool = True) -> ProjectMeta:
        """The project's edit screen, checked once per run before its first write (SetupError
        when a field we write is not on it; with `check=False` it is only read)."""
        with self._lookups:  # writer threads starting together read it once, not once each
            meta = self._projects.get(project)
            if meta is None:
                raw = self.client.get(f"{self.issue_path(key)}/editmeta") or {}
                meta = ProjectMeta(project, raw.get("fields") or {})
                r = self.resolved if check else self._resolve(self.catalog())[1]
                wanted = [*r.tracking.values(), *([r.group] if r.group else [])]
                problems = screen_problems(meta.editable, wanted, project)
                if problems and check:
                    raise SetupError("; ".join(problems))
                if not problems:
                    self._projects[project] = meta
        return meta

    def edit(self, change: TicketChange, raw: Mapping[str, Any]) -> Edit:
        project_json = (raw.get("fields") or {}).get("project") or {}
        project = str(project_json.get("key") or "")
        r = self.resolved
        return build(
            change,
            EditContext(
                cloud=self.cloud,
                policy=self.policy,
                tracking=r.tracking,
                group=r.group,
                custom=r.custom,
                meta=self.project_meta(str(raw.get("key") or change.ticket), project),
                user_ref=self.user_ref,
                jsm=self.settings.jsm_internal_comments,
                visibility=self.settings.note_visibility,
                service_desk=project_json.get("projectTypeKey") == "service_desk",
            ),
        )

    def user_ref(self, who: str) -> dict[str, str]:
        """`users` config first, else one exact lookup per run; never a fuzzy search."""
        with self._lookups:
            cached = self._users.get(who)
            if cached is None:
                cached = self._lookup(who)
                self._users[who] = cached
        if isinstance(cached, Rejected):
            raise cached
        return cached

    def _lookup(self, who: str) -> dict[str, str] | Rejected:
        key = "accountId" if self.cloud else "name"
        for name, uid in self.settings.users.items():
            if name.casefold() == who.casefold():
                return {key: uid}
        advice = (
            f"assignee {who!r} is not in the instance's users map; add it (users: {{{who}:"
            f" <{'accountId' if self.cloud else 'username'}>}}): the connector never guesses"
            " a user with a search"
        )
        if "@" in who or any(c.isspace() for c in who):
            return Rejected(advice)
        param = "accountId" if self.cloud else "username"
        try:
            user = self.client.get(f"{self.client.api}/user", {param: who}) or {}
        except NotFound:
            return Rejected(f"no Jira user has {param} {who!r}; {advice}")
        found = user.get("accountId") if self.cloud else user.get("name")
        return {key: str(found)} if found else Rejected(advice)

    def check(self) -> list[Check]:
        return doctor.check(self)

    def close(self) -> None:
        self.client.close()
        self.journal.close()
