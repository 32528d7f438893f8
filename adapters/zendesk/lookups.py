"""What one run looks up once, and only when first needed: who the connector is signed in as
(`users/me`), the ticket fields (read once per run; tracking and policy fields resolved by
title), the groups, and the people met while reading (users and organisations, in bulk). Safe
to share between writer and history threads: each lookup is made once (people met by two
threads at once may be looked up by both; the answers are the same).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from adapters.errors import AuthError
from adapters.history_cache import HistoryCache
from adapters.results import FieldStatus
from adapters.zendesk.client import Client
from adapters.zendesk.fields import FieldMap, resolve, setup_error
from adapters.zendesk.mapping import Context, Json, People, as_int
from adapters.zendesk.settings import Settings
from rules.needs import needs
from rules.policy import Policy


class Lookups:
    def __init__(
        self,
        instance: str,
        settings: Settings,
        policy: Policy,
        client: Client,
        cache: HistoryCache | None = None,
    ) -> None:
        self.instance, self.settings, self.policy, self.client = instance, settings, policy, client
        self.cache = cache
        self.people = People()
        platform = policy.platforms.get("zendesk")
        #: Tracking fields by logical name -> title: the policy's, then the instance's.
        self.titles = {**(platform.fields if platform is not None else {}), **settings.fields}
        self.custom = sorted(needs(policy).custom_fields)
        self._me: Json | None = None
        self._catalog: list[Json] | None = None
        self._fields: FieldMap | None = None
        self._context: tuple[FieldMap, Context] | None = None
        self._groups = False
        self._lock = threading.Lock()

    def whoami(self) -> Json:
        with self._lock:
            if self._me is None:
                me = self.client.me()
                uid = as_int(me.get("id"))
                if uid is None:
                    raise AuthError(
                        "GET /api/v2/users/me: signed in as an anonymous user; check the"
                        " credentials"
                    )
                self._me = me
                self.people.me = uid
                self.people.users[uid] = me
                if self.cache is not None:  # kept histories hold who "we" were: one per identity
                    self.cache.open(f"{self.settings.url} user {uid}")
            return self._me

    def groups(self) -> dict[int, str]:
        with self._lock:
            if not self._groups:
                for group in self.client.groups():
                    if (gid := as_int(group.get("id"))) is not None:
                        self.people.groups[gid] = str(group.get("name"))
                self._groups = True
        return self.people.groups

    def prepare(self) -> None:
        """Everything a read or a write needs, looked up once."""
        self.whoami()
        self.groups()
        self.fieldmap()

    def fieldmap(self) -> FieldMap:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return self._fields

    def catalog(self) -> list[Json]:
        """The account's ticket fields, read once per run (`forget_catalog` after a create)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = self.client.ticket_fields()
            return self._catalog

    def forget_catalog(self) -> None:
        """The next `catalog` reads the fields again (after `escalate setup` created some)."""
        with self._lock:
            self._catalog = None

    def fields(self, *, created: Iterable[str] = ()) -> list[FieldStatus]:
        """Resolve tracking and policy fields by title (`created`: the titles `escalate setup`
        just made, marked so); SetupError names every unusable tracking field."""
        made = set(created)
        statuses, fmap = resolve(self.catalog(), self.titles, self.custom)
        statuses = [replace(s, created=s.title in made and s.id is not None) for s in statuses]
        setup_error(statuses, self.instance)
        self._fields = fmap
        self.client.session.field_titles = dict(fmap.titles)
        return statuses

    def inspect_fields(self) -> list[FieldStatus]:
        """The tracking and policy fields, each with its problem (if any); never raises."""
        return resolve(self.catalog(), self.titles, self.custom)[0]

    def context(self) -> Context:
        """The mapping's context, one per field map (it keeps what the policy's mappings made
        of each status and priority)."""
        fmap = self.fieldmap()
        if self._context is None or self._context[0] is not fmap:
            ctx = Context(
                self.instance,
                self.settings.url,
                self.policy,
                self.people,
                fmap.tracking,
                fmap.custom,
            )
            self._context = (fmap, ctx)
        return self._context[1]

    def learn_users(self, ids: Iterable[int]) -> None:
        """Look up the users not met yet (show_many, 100 a request)."""
        users = self.people.users
        missing = {i for i in ids if i > 0 and i not in users}
        for user in self.client.users(missing):
            if (uid := as_int(user.get("id"))) is not None:
                users[uid] = user
        for uid in missing - set(users):
            users[uid] = {"id": uid}  # deleted or invisible: do not ask again

    def learn_organizations(self, ids: Iterable[int]) -> None:
        orgs = self.people.organizations
        missing = set(ids) - set(orgs)
        for org in self.client.organizations(missing):
            if (oid := as_int(org.get("id"))) is not None:
                orgs[oid] = org
        for oid in missing - set(orgs):
            orgs[oid] = {"id": oid}
