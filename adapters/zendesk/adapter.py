"""The Zendesk adapter: the `Adapter` protocol over the reader, the writer and the fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.base import Check, FieldStatus, Reevaluate, WriteResult
from adapters.errors import AdapterError, AuthError, NotFound, TransientError
from adapters.http import Clock, RequestStats, Sleeper
from adapters.zendesk.client import Client
from adapters.zendesk.fields import FieldMap, create_missing, resolve, setup_error
from adapters.zendesk.mapping import Directory, as_int
from adapters.zendesk.payload import update_body
from adapters.zendesk.reader import Fresh, Reader, export_query
from adapters.zendesk.settings import Settings
from adapters.zendesk.writer import Writer
from rules.model import Ticket
from rules.needs import Needs, needs
from rules.plan import TicketChange
from rules.policy import Policy

Json = dict[str, Any]


class ZendeskAdapter:
    platform = "zendesk"

    def __init__(
        self,
        name: str,
        settings: Settings,
        policy: Policy,
        client: Client,
        *,
        clock: Clock,
        sleep: Sleeper,
        stats: RequestStats,
    ) -> None:
        self.instance = name
        self.settings, self.policy, self.client = settings, policy, client
        self.clock = clock
        self.stats = stats
        self.directory = Directory()
        self.reader = Reader(client, policy, settings, name, self.directory)
        self._fields: FieldMap | None = None
        self._me: Json | None = None
        self._groups = False
        self.writer = Writer(
            client,
            self._body,
            self._fresh,
            self._fieldmap,
            lambda: self.directory.me,
            sleep,
            threshold=settings.batch_threshold,
            poll_seconds=settings.job_poll_seconds,
            job_timeout=settings.job_timeout_seconds,
        )

    # --- once per run ----------------------------------------------------------------------

    def _whoami(self) -> Json:
        if self._me is None:
            me = self.client.me()
            uid = as_int(me.get("id"))
            if uid is None:
                raise AuthError(
                    "GET /api/v2/users/me: signed in as an anonymous user; check the credentials"
                )
            self._me = me
            self.directory.me = uid
            self.directory.users[uid] = me
        return self._me

    def _prepare(self) -> None:
        self._whoami()
        if not self._groups:
            for group in self.client.groups():
                if (gid := as_int(group.get("id"))) is not None:
                    self.directory.groups[gid] = str(group.get("name"))
            self._groups = True
        self._fieldmap()

    def _fieldmap(self) -> FieldMap:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return self._fields

    # --- the protocol ------------------------------------------------------------------------

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        """Resolve tracking and policy fields by title; SetupError names every unusable one."""
        tracking = {**self._policy_titles(), **self.settings.fields}
        custom = sorted(needs(self.policy).custom_fields)
        statuses, fmap = resolve(self.client.ticket_fields(), tracking, custom)
        if create and any(s.problem == "missing" and s.name in tracking for s in statuses):
            made = create_missing(statuses, tracking, self._create_field)
            created = {s.name for s in made if s.created}
            statuses, fmap = resolve(self.client.ticket_fields(), tracking, custom)
            statuses = [
                FieldStatus(s.name, s.title, s.id, s.problem, created=s.name in created)
                for s in statuses
            ]
        setup_error(statuses, self.instance, custom)
        self._fields = fmap
        self.directory.tracking = dict(fmap.tracking)
        self.directory.custom = dict(fmap.custom)
        session = self.client.session
        session.field_titles = dict(fmap.titles)
        return statuses

    def _policy_titles(self) -> dict[str, str]:
        platform = self.policy.platforms.get("zendesk")
        return dict(platform.fields) if platform is not None else {}

    def _create_field(self, body: Json) -> Json:
        try:
            return self.client.create_field(body)
        except TransientError:
            return {}  # it may have been created: the fields are listed again afterwards

    def check(self) -> list[Check]:
        checks: list[Check] = []
        try:
            me = self._whoami()
        except AdapterError as exc:
            return [Check("credentials", False, str(exc))]
        role = str(me.get("role") or "")
        who = f"{me.get('name') or me.get('id')} <{me.get('email') or '?'}> ({role or 'no role'})"
        checks.append(Check("credentials", role in ("agent", "admin"), f"signed in as {who}"))
        try:
            statuses = self.fields()
            checks.append(Check("fields", True, f"{len(statuses)} ticket fields found"))
        except AdapterError as exc:
            checks.append(Check("fields", False, str(exc)))
        try:
            self._prepare()
            missing = [g for g in self._owner_groups() if self.directory.group_id(g) is None]
            detail = f"missing: {', '.join(missing)}" if missing else "every owner group exists"
            checks.append(Check("groups", not missing, detail))
        except AdapterError as exc:
            checks.append(Check("groups", False, str(exc)))
        try:
            self.client.export_page(export_query(self.settings.scope), 1, None)
            checks.append(Check("scope", True, f"search export accepts {self.settings.scope!r}"))
        except AdapterError as exc:
            checks.append(Check("scope", False, str(exc)))
        return checks

    def _owner_groups(self) -> list[str]:
        owners = [lv.model.owner for lv in self.policy.levels]
        owners += list(self.policy.matrix.values())
        names: dict[str, None] = {}
        for owner in owners:
            if owner is None:
                continue
            local = owner.instances.get(self.instance)
            group = local.group if local is not None and local.group else owner.group
            if group:
                names[group] = None
        return list(names)

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        self._prepare()
        self.reader.needs = needs
        for raws in self.reader.pages():
            yield from self.reader.tickets(raws, needs, now)

    def reread(self, ticket_id: str) -> Ticket:
        self._prepare()
        tid = int(ticket_id)
        found = self._fresh([tid]).get(tid)
        if found is None:
            raise NotFound(f"ticket {ticket_id} is gone")
        return found[1]

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        self._prepare()
        yield from self.writer.write(changes, reevaluate)

    def close(self) -> None:
        self.client.session.close()

    # --- for the writer ----------------------------------------------------------------------

    def _body(self, change: TicketChange, stamp: str | None) -> Json:
        return update_body(
            change,
            policy=self.policy,
            fields=self._fieldmap(),
            directory=self.directory,
            users=self.settings.users,
            stamp=stamp,
        )

    def _fresh(self, ids: Sequence[int]) -> dict[int, Fresh]:
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        return self.reader.fresh(ids, now)
