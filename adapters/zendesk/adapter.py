"""The Zendesk adapter: the `Adapter` protocol, composed of the per-run lookups (`lookups`), the
reader (`read`), the write protocol's backend (`write`), `doctor`, `queue` and `past`; and
`build`, which resolves the credentials, makes the one session every request goes through
(ours: no urllib3 retries, pacing, request counting) and the zenpy client on it. No request is
sent until the adapter is used."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from adapters.history_cache import HistoryCache
from adapters.http import Budget, Clock, RequestStats, Retrier, mount
from adapters.owed import Journal
from adapters.package import Wiring
from adapters.past import Window
from adapters.payment import pay_all
from adapters.protocol import Reevaluate
from adapters.results import Check, FieldStatus, Queue, WriteResult
from adapters.setup import Done, Plan
from adapters.webhooks import Made
from adapters.writer import write_many, write_one
from adapters.zendesk import changed, doctor, hooks, past, queue, setup
from adapters.zendesk.client import Client
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.read import Reader
from adapters.zendesk.session import (
    ClientCredentials,
    Credentials,
    StaticCredentials,
    ZendeskSession,
)
from adapters.zendesk.settings import (
    ApiTokenAuth,
    ClientCredentialsAuth,
    OAuthTokenAuth,
    Settings,
)
from adapters.zendesk.write import Backend
from rules.model import Ticket
from rules.needs import Needs
from rules.plan import TicketChange
from rules.policy import Policy


class ZendeskAdapter:
    platform = "zendesk"

    def __init__(
        self,
        instance: str,
        settings: Settings,
        policy: Policy,
        client: Client,
        *,
        stats: RequestStats,
        cache: HistoryCache | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.instance, self.settings, self.client = instance, settings, client
        self.stats = stats
        self.cache = cache
        self.journal = journal or Journal(None, settings.url, client.session.clock)
        self.lookups = Lookups(instance, settings, policy, client, cache)
        self.reader = Reader(self.lookups)
        self.backend = Backend(self.lookups, self.reader, self.journal)

    @property
    def approximate(self) -> dict[str, int]:
        return {}  # Zendesk's audits are whole: nothing is approximate

    def fields(self, *, create: bool = False) -> list[FieldStatus]:
        return setup.create_fields(self.lookups) if create else self.lookups.fields()

    def inspect_fields(self) -> list[FieldStatus]:
        return self.lookups.inspect_fields()

    def queue(self, *, create: bool = False) -> Queue:
        return queue.queue(self.lookups, create=create)

    def setup_plan(self, *, policy_fields: bool = True) -> Plan:
        return setup.plan(self.lookups, policy_fields=policy_fields)

    def setup_apply(self, plan: Plan) -> list[Done]:
        return setup.apply(self.lookups, plan)

    def webhook_plan(self, url: str) -> Plan:
        return hooks.plan(self.lookups, url)

    def webhook_apply(self, plan: Plan, secret: str | None) -> Made:
        return hooks.apply(self.lookups, plan)

    def webhook_check(self, url: str, secret: str | None) -> list[Check]:
        return hooks.check(self.lookups, url, secret)

    def check(self) -> list[Check]:
        return doctor.check(self.lookups)

    def fetch(self, needs: Needs, now: datetime) -> Iterator[Ticket]:
        return self.reader.fetch(needs, now)

    def fetch_changed(
        self,
        needs: Needs,
        now: datetime,
        since: datetime | None,
        due: Mapping[str, str],
        gone: set[str],
    ) -> Iterator[Ticket]:
        return changed.fetch_changed(self.reader, needs, now, since, due, gone)

    def places_by_id(self) -> bool:
        return self.reader.settings.statuses_in_scope() is not None

    def past(self, window: Window) -> Iterator[Ticket]:
        return past.read_past(self.reader, window)

    def reread(self, ticket_id: str) -> Ticket:
        return self.backend.reread(ticket_id).ticket

    def expect_writes(self, changes: Sequence[TicketChange]) -> None:
        """Zendesk writes carry their version (`safe_update`): no re-read to read ahead."""

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        self.lookups.prepare()
        if len(changes) > self.settings.batch_threshold:
            yield from write_many(self.backend, changes, reevaluate)
        else:
            for change in changes:
                yield write_one(self.backend, change, reevaluate)

    def send_owed(self) -> Iterator[WriteResult]:
        return pay_all(self.backend)

    def batch_size(self, pending: int) -> int:
        """Above the threshold, all of them in one call: they go in update_many jobs of 100;
        below it, one PUT per call, run concurrently."""
        return pending if pending > self.settings.batch_threshold else 1

    def close(self) -> None:
        self.client.session.close()
        if self.cache is not None:
            self.cache.close()
        self.journal.close()


def build(name: str, settings: Settings, policy: Policy, wiring: Wiring) -> ZendeskAdapter:
    """The adapter for one instance; no request is sent until it is used. With a state store,
    ticket histories are kept there between runs (`history_cache`), and so are the public
    replies a change still owes (`adapters.owed`)."""
    clock, sleep = wiring.clock, wiring.sleep
    ours = ZendeskSession(settings.url, clock, (settings.timeout.connect, settings.timeout.read))
    stats = RequestStats()
    budget = Budget(settings.budget.requests_per_minute, clock, sleep)
    mount(ours, budget, stats, wiring.transport)
    ours.credentials = _credentials(name, settings, ours, clock)
    retrier = Retrier(
        sleep, attempts=settings.budget.attempts, retry_seconds=settings.budget.retry_seconds
    )
    client = Client(ours, retrier)
    kept = wiring.history(name) if settings.history_cache else None
    cache = HistoryCache(kept, platform="zendesk", policy=policy) if kept is not None else None
    journal = Journal(wiring.owed(name), settings.url, clock)
    return ZendeskAdapter(name, settings, policy, client, stats=stats, cache=cache, journal=journal)


def _credentials(
    name: str, settings: Settings, session: ZendeskSession, clock: Clock
) -> Credentials:
    auth = settings.auth
    where = f"instances.{name}.auth"
    if isinstance(auth, ClientCredentialsAuth):
        return ClientCredentials(
            auth.client_id,
            auth.client_secret.resolve(f"{where}.client_secret"),
            auth.scope,
            auth.expires_in,
            clock,
            session.post_unsigned,
        )
    if isinstance(auth, OAuthTokenAuth):
        return StaticCredentials.bearer(auth.token.resolve(f"{where}.token"))
    assert isinstance(auth, ApiTokenAuth)
    return StaticCredentials.api_token(auth.email, auth.token.resolve(f"{where}.token"))
