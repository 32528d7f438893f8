"""Seeding the Jira emulator (Cloud or Data Center): the tracking and policy fields, the
"Support team" select list, two JSM projects, agents and customers, then each ticket's script
replayed at its own times. A past connector run is the real adapter's (`connection`), as the
connector account, so tracking values are exactly what a real run would have left."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from connector.sandbox import catalog
from connector.sandbox.script import Frozen, Spec, Step
from emulators.jira import JiraEmulator
from rules.approval import approver_groups
from rules.mapping import platform_priority
from rules.policy import Policy

#: A past connector run on one issue, at the clock's instant.
PastRun = Callable[[str], None]

PLATFORM = "jira"
GROUP_FIELD = "Support team"
PROJECTS = ("SUP", "NET")  # the example scope: project in (SUP, NET)
AGENT_DOMAIN = "acme.example"
#: Neutral status -> the Jira status the sandbox workflow uses (the example maps them back).
STATUSES = {
    "new": "Open",
    "open": "In Progress",
    "pending": "Waiting for customer",
    "hold": "On hold",
    "solved": "Done",
}
EXTRA_STATUSES = {"On hold": ("10003", "indeterminate")}


def account_id(email: str) -> str:
    """A Cloud-looking accountId, stable for an e-mail address."""
    return hashlib.sha1(email.encode(), usedforsecurity=False).hexdigest()[:24]


class JiraWorld:
    """One seeded Jira site."""

    def __init__(self, emu: JiraEmulator, policy: Policy, instance: str) -> None:
        self.emu, self.policy, self.instance = emu, policy, instance
        self.titles = (
            dict(policy.platforms[PLATFORM].fields) if PLATFORM in policy.platforms else {}
        )
        self.users: dict[str, str] = {}  # e-mail -> accountId (Cloud) or username (DC)
        self.agents: list[str] = []
        self.tracking: dict[str, str] = {}  # logical name -> field id
        self.group: str | None = None  # the group field's id

    # --- the site ----------------------------------------------------------------------------

    def prepare(self) -> None:
        emu = self.emu
        emu.statuses.update({k: v for k, v in EXTRA_STATUSES.items() if k not in emu.statuses})
        have = {f["name"] for f in emu.fields}
        for logical, title in self.titles.items():
            if title not in have:
                emu.add_field(title, "number" if logical == "count" else "text")
        options = {catalog.FLAG_FIELD: ["Yes", "No"], catalog.AREA_FIELD: catalog.AREA_OPTIONS}
        for name in catalog.custom_fields(self.policy):
            if name not in have:
                kind = "select" if name in options else "text"
                emu.add_field(name, kind, options=options.get(name, ()))
        if GROUP_FIELD not in have:
            emu.add_field(GROUP_FIELD, "select", options=catalog.groups(self.policy))
        for key in PROJECTS:
            if key not in emu.screens:
                emu.add_project(key, kind="service_desk")
        self.agents = [emu.agent]
        for name, local in catalog.AGENTS[1:]:
            self.agents.append(self._user(name, f"{local}@{AGENT_DOMAIN}", "atlassian"))
        for email in catalog.people(self.policy):
            self._user(catalog.display_name(email), email, "atlassian")
        lead = self._user(*catalog.GROUP_APPROVER, "atlassian")
        members = [lead, *(self.users[e] for e in catalog.approvers(self.policy))]
        for group in approver_groups(self.policy):
            for uid in members:
                emu.add_member(group, uid)
        ids = {str(f["name"]): str(f["id"]) for f in emu.fields}
        self.tracking = {n: ids[t] for n, t in self.titles.items() if t in ids}
        self.group = ids.get(GROUP_FIELD)

    def _user(self, name: str, email: str, kind: str) -> str:
        uid = self.users.get(email)
        if uid is None:
            uid = account_id(email) if self.emu.cloud else email.split("@", maxsplit=1)[0]
            base, n = uid, 1
            while uid in self.emu.users:  # Data Center usernames are unique per site
                n += 1
                uid = f"{base}{n}"
            self.emu.add_user(uid, name, email, account_type=kind)
            self.users[email] = uid
        return uid

    def _option(self, name: str, value: str | None) -> dict[str, Any] | None:
        """A select list's value as Jira stores it; None when the field or option is absent."""
        fid = next((f["id"] for f in self.emu.fields if f["name"] == name), None)
        options = self.emu.options.get(fid or "", [])
        if value is None or value not in options:
            return None
        return {"self": "", "value": value, "id": str(10100 + options.index(value))}

    def seed(self, specs: Iterable[Spec], clock: Frozen, past: PastRun) -> list[str]:
        """Create the issues and replay their scripts (the emulator's clock must be `clock`);
        `past` writes what a connector run at that moment wrote."""
        keys = []
        for n, spec in enumerate(specs):
            clock.t = spec.created
            key = self._create(spec)
            agent = self.agents[n % len(self.agents)]
            for step in spec.steps:
                clock.t = step.at
                self._step(key, step, agent, past)
            keys.append(key)
        return keys

    def _create(self, spec: Spec) -> str:
        reporter = self._user(spec.customer.name, spec.customer.email, "customer")
        values: dict[str, Any] = {
            catalog.AREA_FIELD: self._option(catalog.AREA_FIELD, spec.area),
            catalog.FLAG_FIELD: self._option(
                catalog.FLAG_FIELD, "Yes" if spec.ask_manager else None
            ),
            GROUP_FIELD: self._option(GROUP_FIELD, spec.group),
        }
        values = {k: v for k, v in values.items() if v is not None}
        if spec.components:
            values["Components"] = [
                {"self": "", "id": str(10000 + ("Network", "VPN").index(c)), "name": c}
                for c in spec.components
            ]
        network = bool(spec.components) or "network" in spec.tags
        return self.emu.create_issue(
            "NET" if network and int(spec.created) % 2 == 0 else "SUP",
            summary=spec.title,
            priority=platform_priority(self.policy, PLATFORM, spec.priority),
            status=STATUSES[spec.status],
            labels=spec.tags,
            values=values,
            reporter=reporter,
            description=spec.title,
        )

    def _step(self, key: str, step: Step, agent: str, past: PastRun) -> None:
        if step.actor == "connector":
            past(key)
            return
        issue = self.emu.issues[key]
        reporter = issue.fields["reporter"]
        by = {
            "customer": str(reporter.get("accountId") or reporter.get("name")),
            "approver": self.users.get(step.approved_by or "", agent),
        }.get(step.actor, agent)
        values: dict[str, Any] = {}
        if step.assign:
            values["Assignee"] = self.emu.users[agent]
        for logical, value in (("request", step.request), ("approved_by", step.approved_by)):
            if value is not None and logical in self.tracking:
                values[self.titles[logical]] = value
        status = STATUSES[step.status] if step.status else None
        if status == issue.fields["status"]["name"]:
            status = None
        priority = (
            platform_priority(self.policy, PLATFORM, step.priority) if step.priority else None
        )
        if values or status or priority:
            self.emu.edit(key, by=by, priority=priority, status=status, values=values)
        if step.comment is not None:
            self.emu.add_comment(key, step.comment, by=by, internal=not step.public)
