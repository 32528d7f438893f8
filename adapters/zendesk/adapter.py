"""The Zendesk adapter: the `Adapter` protocol over the reader, the writer and the fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.base import Check, FieldStatus, Queue, Reevaluate, WriteResult
from adapters.errors import AuthError, NotFound, TransientError
from adapters.history_cache import HistoryCache
from adapters.http import Clock, RequestStats, Sleeper
from adapters.owed import Journal
from adapters.past import Window
from adapters.zendesk import doctor
from adapters.zendesk import queue as queues
from adapters.zendesk.client import Client
from adapters.zendesk.fields import FieldMap, create_missing, resolve, setup_error
from adapters.zendesk.mapping import Directory, as_int
from adapters.zendesk.past import read_past
from adapters.zendesk.payload import update_body
from adapters.zendesk.reader import Fresh, Reader
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
        cache: HistoryCache | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.instance = name
        self.settings, self.policy, self.client = settings, policy, client
        self.clock = clock
        self.stats = stats
        self.directory = Directory()
        self.cache = cache
        self.journal = journal or Journal(None, settings.url, clock)
        self.reader = Reader(client, policy, settings, name, self.directory, cache)
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
            self.journal,
            clock,
            threshold=settings.batch_threshold,
            in_flight=settings.jobs_in_flight,
            poll_seconds=settings.job_poll_seconds,
            job_timeout=settings.job_timeout_seconds,
        )

    # --- once per run ----------------------------------------------------------------------

    def whoami(self) -> Json:
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
            if self.cache is not None:  # kept histories hold who "we" were: one per identity
                self.cache.open(f"{self.settings.url} user {uid}")
        return self._me

    def prepare(self) -> None:
        self.whoami()
        self.load_groups()
        self._fieldmap()

    def load_groups(self) -> None:
        if not self._groups:
            for group in self.client.groups():
                if (gid := as_int(group.get("id"))) is not None:
                    self.directory.groups[gid] = str(group.get("name"))
            self._groups = True

    def _fieldmap(self) -> FieldMap:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return self._fields

    # --- the protocol ------------------------------------------------------------------------

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        """Resolve tracking and policy fields by title; SetupError names every unusable one."""
        tracking = self.tracking_titles()
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

    def tracking_titles(self) -> dict[str, str]:
        """Tracking fields by logical name -> title: the policy's, then the instance's."""
        platform = self.policy.platforms.get("zendesk")
        return {**(platform.fields if platform is not None else {}), **self.settings.fields}

    def _create_field(self, body: Json) -> Json:
        try:
            return self.client.create_field(body)
        except TransientError:
            return {}  # it may have been created: the fields are listed again afterwards

    def inspect_fields(self) -> list[FieldStatus]:
        """The tracking and policy fields, each with its problem (if any); never raises."""
        custom = sorted(needs(self.policy).custom_fields)
        return resolve(self.client.ticket_fields(), self.tracking_titles(), custom)[0]

    def queue(self, *, create: bool = False) -> Queue:
        return queues.queue(self, create=create)

    def check(self) -> list[Check]:
        return doctor.check(self)

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        self.prepare()
        self.reader.needs = needs
        self.reader.requesters = "requester" in needs.people
        self.reader.organizations = "organization" in needs.people
        for raws in self.reader.pages():
            yield from self.reader.tickets(raws, needs, now)
        self.reader.prune()

    def past(self, window: Window) -> Iterator[Ticket]:
        return read_past(self, window)

    def reread(self, ticket_id: str) -> Ticket:
        self.prepare()
        tid = int(ticket_id)
        found = self._fresh([tid]).get(tid)
        if found is None:
            raise NotFound(f"ticket {ticket_id} is gone")
        return found[1]

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        self.prepare()
        yield from self.writer.write(changes, reevaluate)

    def send_owed(self) -> Iterator[WriteResult]:
        items = self.journal.due()
        if items:
            self.prepare()
        for item in items:
            siblings = {i.state for i in items if i.ticket == item.ticket} - {item.state}
            if (result := self.writer.replies.pay(item, siblings)) is not None:
                yield result

    def batch_size(self, pending: int) -> int:
        """Above the threshold, all of them in one call: the writer packs them into
        update_many jobs of 100; below it, one PUT per call, run concurrently."""
        return pending if pending > self.settings.batch_threshold else 1

    def close(self) -> None:
        self.client.session.close()
        if self.cache is not None:
            self.cache.close()
        self.journal.close()

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
