"""Seeding the Zendesk emulator: fields, groups, agents, organisations, then each ticket's
script replayed at its own times. A past connector run maps the ticket with the adapter's own
mapping, evaluates the policy and writes the change with the adapter's own request bodies,
as the connector account, so tracking values are exactly what a real run would have left."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from adapters.zendesk.fields import FieldMap, resolve
from adapters.zendesk.mapping import Directory, ticket_from_json
from adapters.zendesk.payload import reply_body, update_body
from connector.sandbox import catalog
from connector.sandbox.script import ORGS, Frozen, Spec, Step
from emulators.zendesk import ZendeskEmulator
from rules.engine import evaluate_ticket
from rules.mapping import platform_priority
from rules.model import Ticket
from rules.policy import Policy

PLATFORM = "zendesk"
AGENT_DOMAIN = "acme.example"


class ZendeskWorld:
    """One seeded Zendesk account, and the connector's view of its tickets."""

    def __init__(self, emu: ZendeskEmulator, policy: Policy, instance: str) -> None:
        self.emu, self.policy, self.instance = emu, policy, instance
        self.titles = (
            dict(policy.platforms[PLATFORM].fields) if PLATFORM in policy.platforms else {}
        )
        self.customers: dict[str, int] = {}
        self.orgs: dict[str, int] = {}
        self.agents: list[int] = []
        self.people: dict[str, int] = {}
        self.directory = Directory()
        self.fmap = FieldMap()

    # --- the account -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Fields, groups, agents and organisations the policy and the mix need."""
        emu = self.emu
        have = {f["title"] for f in emu.fields.values()}
        for logical, title in self.titles.items():
            if title not in have:
                emu.add_field(title, "integer" if logical == "count" else "text")
        for name in catalog.custom_fields(self.policy):
            if name not in have:
                kind = {catalog.FLAG_FIELD: "checkbox", catalog.AREA_FIELD: "tagger"}
                emu.add_field(name, kind.get(name, "text"))
        known = {g["name"] for g in emu.groups.values()}
        for group in catalog.groups(self.policy, self.instance):
            if group not in known:
                emu.add_group(group)
        self.agents = [emu.agent]
        for name, local in catalog.AGENTS[1:]:
            self.agents.append(emu.add_user(name, f"{local}@{AGENT_DOMAIN}", "agent"))
        for email in catalog.people(self.policy):
            self.people[email] = emu.add_user(catalog.display_name(email), email, "agent")
        for org, (_, tags) in ORGS.items():
            self.orgs[org] = emu.add_organization(org, tags)
        _, self.fmap = resolve(
            list(emu.fields.values()), self.titles, catalog.custom_fields(self.policy)
        )
        self.directory = Directory(
            groups={gid: g["name"] for gid, g in emu.groups.items()},
            users=emu.users,
            organizations=emu.organizations,
            tracking=self.fmap.tracking,
            custom=self.fmap.custom,
            me=emu.me,
        )

    def seed(self, specs: Iterable[Spec], clock: Frozen) -> list[str]:
        """Create the tickets and replay their scripts (the emulator's clock must be `clock`)."""
        ids = []
        for n, spec in enumerate(specs):
            clock.t = spec.created
            tid = self._create(spec)
            agent = self.agents[n % len(self.agents)]
            for step in spec.steps:
                clock.t = step.at
                self._step(tid, step, agent, clock)
            ids.append(str(tid))
        return ids

    def _create(self, spec: Spec) -> int:
        customer = spec.customer
        requester = self.customers.get(customer.email)
        if requester is None:
            requester = self.emu.add_user(customer.name, customer.email)
            self.customers[customer.email] = requester
        fields: dict[str, object] = {}
        if spec.area and catalog.AREA_FIELD in self.fmap.custom:
            fields[catalog.AREA_FIELD] = spec.area
        if spec.ask_manager and catalog.FLAG_FIELD in self.fmap.custom:
            fields[catalog.FLAG_FIELD] = True
        return self.emu.add_ticket(
            subject=spec.title,
            status=spec.status,
            priority=self._priority(spec.priority),
            tags=spec.tags,
            group=spec.group,
            requester=requester,
            organization=self.orgs.get(customer.org or ""),
            fields=fields,
            created_at=spec.created,
        )

    def _priority(self, neutral: str) -> str:
        return platform_priority(self.policy, PLATFORM, neutral).lower()

    def _step(self, tid: int, step: Step, agent: int, clock: Frozen) -> None:
        if step.actor == "connector":
            self.connector_run(tid, clock)
            return
        changes: dict[str, Any] = {}
        if step.comment is not None:
            changes["comment"] = {"body": step.comment, "public": step.public}
        if step.status is not None:
            changes["status"] = step.status
        if step.priority is not None:
            changes["priority"] = self._priority(step.priority)
        if step.assign:
            changes["assignee_id"] = agent
        values = {"request": step.request, "approved_by": step.approved_by}
        custom = [
            {"id": self.fmap.tracking[name], "value": value}
            for name, value in values.items()
            if value is not None and name in self.fmap.tracking
        ]
        if custom:
            changes["custom_fields"] = custom
        author = {
            "customer": self.emu.ticket(tid)["requester_id"],
            "approver": self.people.get(step.approved_by or "", agent),
        }.get(step.actor, agent)
        self.emu.agent_edit(tid, changes, author)

    # --- the connector's view ----------------------------------------------------------------

    def neutral(self, tid: int) -> Ticket:
        """The ticket as the adapter maps it, with its full history (audits)."""
        return ticket_from_json(
            self.emu.tickets[tid],
            policy=self.policy,
            instance=self.instance,
            base_url=self.emu.base_url,
            directory=self.directory,
            audits=self.emu.audits[tid],
        )

    def tickets(self) -> list[Ticket]:
        return [self.neutral(tid) for tid in sorted(self.emu.tickets)]

    def connector_run(self, tid: int, clock: Callable[[], float]) -> None:
        """What one connector run at `clock()` would have written to this ticket."""
        outcome = evaluate_ticket(self.policy, self.neutral(tid), catalog.instant(clock()))
        change = outcome.change
        if change is None:
            return
        body = update_body(
            change, policy=self.policy, fields=self.fmap, directory=self.directory, users={}
        )
        self.emu.update(tid, body, self.emu.me, queued=None)
        reply = reply_body(change)
        if reply is not None:
            self.emu.update(tid, reply, self.emu.me, queued=None)
