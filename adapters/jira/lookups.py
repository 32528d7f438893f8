"""What one run looks up once, and only when first needed: the field catalog (GET /field) and
the tracking and policy fields resolved in it, our own account (GET /myself), the statuses
(when history is read), each project's edit screen (GET editmeta for one issue of the project,
before the first write there), the exact user lookups, and a sample of the scope's projects
(for doctor and setup). Nothing is looked up per issue. Safe to share between writer threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from adapters.errors import NotFound, Rejected, SetupError
from adapters.jira import search
from adapters.jira.body import ProjectMeta
from adapters.jira.client import Flavour, JiraClient
from adapters.jira.context import Context, People
from adapters.jira.fields import (
    CREATED,
    Catalog,
    Field,
    Resolved,
    off_screen,
    resolve,
    screen_problems,
    setup_error,
)
from adapters.jira.settings import Settings
from adapters.results import FieldStatus
from rules.needs import needs
from rules.policy import Policy

SAMPLE = 50  # issues of the scope read to learn its projects (doctor, setup)


def policy_assignees(policy: Policy) -> frozenset[str]:
    """Every assignee the policy names (levels and matrix, per-instance overrides too)."""
    owners = [lv.owner for lv in policy.model.levels if lv.owner is not None]
    owners += [o for row in policy.model.matrix.values() for o in row.values()]
    names = {o.assignee for o in owners}
    names |= {i.assignee for o in owners for i in o.instances.values()}
    return frozenset(n for n in names if n)


class Lookups:
    def __init__(self, instance: str, settings: Settings, policy: Policy, client: JiraClient):
        self.instance, self.settings, self.policy, self.client = instance, settings, policy, client
        mapping = policy.platforms.get("jira")
        #: Tracking fields by logical name -> title: the policy's, then the instance's.
        self.titles = {**(mapping.fields if mapping else {}), **settings.fields}
        self.custom = needs(policy).custom_fields
        self.assignees = policy_assignees(policy)
        self._catalog: Catalog | None = None
        self._resolved: Resolved | None = None
        self._myself: tuple[str | None] | None = None
        self._zone = "UTC"
        self._statuses: dict[str, str] = {}
        self._projects: dict[str, ProjectMeta] = {}
        self._sample: dict[str, tuple[str, str]] | None = None
        self._users: dict[str, dict[str, str] | Rejected] = {}
        self._lock = threading.Lock()  # writer threads starting together look up once
        self._once = threading.RLock()  # the same, for what every thread reads first

    @property
    def cloud(self) -> bool:
        return self.client.flavour is Flavour.CLOUD

    def path(self, key: str) -> str:
        return f"{self.client.api}/issue/{key}"

    # --- fields -----------------------------------------------------------------------------

    def catalog(self) -> Catalog:
        with self._once:
            if self._catalog is None:
                self._catalog = self.catalog_now()
            return self._catalog

    def catalog_now(self) -> Catalog:
        return Catalog(self.client.get(f"{self.client.api}/field") or [])

    @property
    def resolved(self) -> Resolved:
        with self._once:
            if self._resolved is None:
                self.fields()
            assert self._resolved is not None
            return self._resolved

    def fields(self, *, created: Iterable[str] = ()) -> list[FieldStatus]:
        """Resolve every field by name (`created`: the titles `escalate setup` just made, marked
        so); SetupError names every unusable tracking field and the group field."""
        made = set(created)
        statuses, resolved = self.resolve(self.catalog())
        statuses = [
            replace(s, problem=CREATED, created=True) if s.title in made and s.id else s
            for s in statuses
        ]
        setup_error(self.instance, statuses)
        self._resolved = resolved
        return statuses

    def resolve(self, catalog: Catalog) -> tuple[list[FieldStatus], Resolved]:
        levels = self.policy.model.levels
        groups = any(lv.owner is not None and lv.owner.group for lv in levels)
        return resolve(catalog, self.titles, self.settings.group_field, self.custom, groups)

    def refresh_catalog(self) -> Catalog:
        """Read the fields again (after a create whose answer was lost)."""
        self._catalog = self.catalog_now()
        return self._catalog

    def inspect_fields(self) -> list[FieldStatus]:
        """Each field with its problem, the edit screens of the scope's projects included."""
        statuses, r = self.resolve(self.catalog())
        try:
            sample = self.sample().items()
        except Rejected:  # a bad scope: `doctor` says so; the fields are still reported
            return statuses
        screens = {p: self.project_meta(k, p, check=False).editable for p, (k, _) in sample}
        return off_screen(statuses, self.wanted(r), screens)

    def wanted(self, resolved: Resolved | None = None) -> list[Field]:
        """The fields every write sets: tracking, and the group field."""
        r = resolved or self.resolved
        return [*r.tracking.values(), *([r.group] if r.group else [])]

    # --- who and what -----------------------------------------------------------------------

    def myself(self) -> str | None:
        """Our own account id (Cloud) or name (Data Center), and its time zone: one GET /myself
        per run, whatever the number of writer threads asking at once."""
        with self._once:
            if self._myself is None:
                me = self.client.get(f"{self.client.api}/myself") or {}
                self._myself = (me.get("accountId") or me.get("name") or me.get("key"),)
                self._zone = str(me.get("timeZone") or "UTC")
            return self._myself[0]

    def time_zone(self) -> str:
        """Our account's time zone (its profile's): JQL reads absolute dates in it."""
        self.myself()
        return self._zone

    def statuses(self) -> dict[str, str]:
        """Status id and name -> category key, read once (built whole, then published)."""
        with self._once:
            if not self._statuses:
                found: dict[str, str] = {}
                for s in self.client.get(f"{self.client.api}/status") or []:
                    key = str((s.get("statusCategory") or {}).get("key") or "")
                    found[str(s.get("id"))] = found[str(s.get("name"))] = key
                self._statuses = found
            return self._statuses

    def context(self, *, history: bool) -> Context:
        r = self.resolved
        users, me = self.settings.users, self.myself() if history else None
        return Context(
            instance=self.instance,
            base_url=self.settings.url,
            policy=self.policy,
            tracking=r.tracking,
            group=r.group,
            custom=r.custom,
            people=People(me, users, self.assignees),
            statuses=self.statuses() if history else {},
        )

    def sample(self) -> dict[str, tuple[str, str]]:
        """Project key -> (an issue key, the project id), from the first page of the scope."""
        if self._sample is None:
            size = min(self.settings.page_size, SAMPLE)
            page = next(search.search(self.client, self.settings.jql, ["project"], size), [])
            self._sample = {}
            for issue in page:
                project = (issue.get("fields") or {}).get("project") or {}
                entry = (str(issue["key"]), str(project.get("id")))
                self._sample.setdefault(str(project.get("key")), entry)
        return self._sample

    def project_meta(self, key: str, project: str, *, check: bool = True) -> ProjectMeta:
        """The project's edit screen, checked once per run before its first write (SetupError
        when a field we write is not on it; with `check=False` it is only read)."""
        with self._lock:
            meta = self._projects.get(project)
            if meta is None:
                raw = self.client.get(f"{self.path(key)}/editmeta") or {}
                meta = ProjectMeta(project, raw.get("fields") or {})
                r = self.resolved if check else self.resolve(self.catalog())[1]
                problems = screen_problems(meta.editable, self.wanted(r), project)
                if problems and check:
                    raise SetupError("; ".join(problems))
                if not problems:
                    self._projects[project] = meta
        return meta

    def user_ref(self, who: str) -> dict[str, str]:
        """`users` config first, else one exact lookup per run; never a fuzzy search."""
        with self._lock:
            cached = self._users.get(who)
            if cached is None:
                cached = self._user(who)
                self._users[who] = cached
        if isinstance(cached, Rejected):
            raise cached
        return cached

    def _user(self, who: str) -> dict[str, str] | Rejected:
        key = "accountId" if self.cloud else "name"
        for name, uid in self.settings.users.items():
            if name.casefold() == who.casefold():
                return {key: uid}
        param = "accountId" if self.cloud else "username"
        advice = (
            f"assignee {who!r} is not in the instance's users map; add it (users: {{{who}:"
            f" <{'accountId' if self.cloud else 'username'}>}}): the connector never guesses"
            " a user with a search"
        )
        if "@" in who or any(c.isspace() for c in who):
            return Rejected(advice)
        try:
            user = self.client.get(f"{self.client.api}/user", {param: who}) or {}
        except NotFound:
            return Rejected(f"no Jira user has {param} {who!r}; {advice}")
        found = user.get("accountId") if self.cloud else user.get("name")
        return {key: str(found)} if found else Rejected(advice)
