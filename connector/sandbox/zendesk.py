"""Seeding the Zendesk emulator: fields, groups, agents, organisations, then each ticket's
script replayed at its own times. A past connector run is the real adapter's (`connection`),
as the connector account, so tracking values are exactly what a real run would have left."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connector.sandbox import catalog
from connector.sandbox.script import ORGS, Frozen, Spec, Step
from emulators.zendesk import ZendeskEmulator
from rules.approval import approver_groups
from rules.mapping import platform_priority
from rules.policy import Policy

PLATFORM = "zendesk"
AGENT_DOMAIN = "acme.example"
#: A past connector run on one ticket, at the clock's instant.
PastRun = Callable[[str], None]


class ZendeskWorld:
    """One seeded Zendesk account."""

    def __init__(self, emu: ZendeskEmulator, policy: Policy, instance: str) -> None:
        self.emu, self.policy, self.instance = emu, policy, instance
        self.titles = (
            dict(policy.platforms[PLATFORM].fields) if PLATFORM in policy.platforms else {}
        )
        self.customers: dict[str, int] = {}
        self.orgs: dict[str, int] = {}
        self.agents: list[int] = []
        self.people: dict[str, int] = {}
        self.tracking: dict[str, int] = {}  # logical name -> field id
        self.custom: dict[str, int] = {}  # policy field title -> field id

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
        lead = emu.add_user(*catalog.GROUP_APPROVER, "agent")
        members = [
            lead,
            *(uid for e, uid in self.people.items() if e in catalog.approvers(self.policy)),
        ]
        for group in approver_groups(self.policy):
            if group not in {g["name"] for g in emu.groups.values()}:
                emu.add_group(group)
            for uid in members:
                emu.add_member(group, uid)
        for org, (_, tags) in ORGS.items():
            self.orgs[org] = emu.add_organization(org, tags)
        ids = {str(f["title"]): fid for fid, f in emu.fields.items()}
        self.tracking = {n: ids[t] for n, t in self.titles.items() if t in ids}
        self.custom = {n: ids[n] for n in catalog.custom_fields(self.policy) if n in ids}

    def seed(self, specs: Iterable[Spec], clock: Frozen, past: PastRun) -> list[str]:
        """Create the tickets and replay their scripts (the emulator's clock must be `clock`);
        `past` writes what a connector run at that moment wrote."""
        ids = []
        for n, spec in enumerate(specs):
            clock.t = spec.created
            tid = self._create(spec)
            agent = self.agents[n % len(self.agents)]
            for step in spec.steps:
                clock.t = step.at
                self._step(tid, step, agent, past)
            ids.append(str(tid))
        return ids

    def _create(self, spec: Spec) -> int:
        customer = spec.customer
        requester = self.customers.get(customer.email)
        if requester is None:
            requester = self.emu.add_user(customer.name, customer.email)
            self.customers[customer.email] = requester
        fields: dict[str, object] = {}
        if spec.area and catalog.AREA_FIELD in self.custom:
            fields[catalog.AREA_FIELD] = spec.area
        if spec.ask_manager and catalog.FLAG_FIELD in self.custom:
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

    def _step(self, tid: int, step: Step, agent: int, past: PastRun) -> None:
        if step.actor == "connector":
            past(str(tid))
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
            {"id": self.tracking[name], "value": value}
            for name, value in values.items()
            if value is not None and name in self.tracking
        ]
        if custom:
            changes["custom_fields"] = custom
        author = {
            "customer": self.emu.ticket(tid)["requester_id"],
            "approver": self.people.get(step.approved_by or "", agent),
        }.get(step.actor, agent)
        self.emu.agent_edit(tid, changes, author)
