"""The Jira adapter (Cloud and Data Center): the `Adapter` protocol, composed of the per-run
lookups (`lookups`), the reader (`read`), the write protocol's backend (`write`), `doctor`,
`queue` and `past`. Nothing here sends a request until it is used."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from adapters.http import RequestStats
from adapters.jira import changed, doctor, hooks, past, queue, setup
from adapters.jira.client import JiraClient
from adapters.jira.lookups import Lookups
from adapters.jira.read import Reader
from adapters.jira.settings import Settings
from adapters.jira.write import Backend
from adapters.owed import Journal
from adapters.package import Wiring
from adapters.past import Window
from adapters.payment import pay_all
from adapters.protocol import Reevaluate
from adapters.results import Check, FieldStatus, Queue, WriteResult
from adapters.setup import Done, Plan
from adapters.webhooks import Made
from adapters.writer import write_one
from rules.model import Ticket
from rules.needs import Needs
from rules.plan import TicketChange
from rules.policy import Policy


class JiraAdapter:
    platform = "jira"

    def __init__(
        self,
        instance: str,
        settings: Settings,
        policy: Policy,
        client: JiraClient,
        journal: Journal | None = None,
    ) -> None:
        self.instance, self.settings, self.client = instance, settings, client
        self.stats: RequestStats = client.stats
        self.journal = journal or Journal(None, settings.url, client.clock)
        self.lookups = Lookups(instance, settings, policy, client)
        self.reader = Reader(self.lookups)
        self.backend = Backend(self.lookups, self.reader, self.journal)

    @property
    def approximate(self) -> dict[str, int]:
        return self.reader.approximate

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
        return hooks.apply(self.lookups, plan, secret)

    def webhook_check(self, url: str, secret: str | None) -> list[Check]:
        return hooks.check(self.lookups, url)

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
        return False  # a key search goes through the search index, which may lag

    def past(self, window: Window) -> Iterator[Ticket]:
        return past.read_past(self.reader, window)

    def reread(self, ticket_id: str) -> Ticket:
        return self.reader.fresh(ticket_id).ticket

    def expect_writes(self, changes: Sequence[TicketChange]) -> None:
        self.backend.ahead.expect([c.ticket for c in changes])

    def write(
        self, changes: Sequence[TicketChange], reevaluate: Reevaluate
    ) -> Iterator[WriteResult]:
        for change in changes:
            yield write_one(self.backend, change, reevaluate)

    def send_owed(self) -> Iterator[WriteResult]:
        return pay_all(self.backend)

    def batch_size(self, pending: int) -> int:
        """Jira has no bulk edit that keeps our promises: one issue per call."""
        return 1

    def close(self) -> None:
        self.client.close()
        self.journal.close()


def build(name: str, settings: Settings, policy: Policy, wiring: Wiring) -> JiraAdapter:
    """The adapter for one instance; no request is sent until it is used. With a state store,
    the comments a change still owes are kept there (`adapters.owed`); no history cache is
    kept, as Jira's search returns histories in bulk."""
    client = JiraClient(
        settings, clock=wiring.clock, sleep=wiring.sleep, transport=wiring.transport
    )
    journal = Journal(wiring.owed(name), settings.url, wiring.clock)
    return JiraAdapter(name, settings, policy, client, journal)
