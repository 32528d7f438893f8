"""The Zendesk emulator bound to `responses`, and the contract suite's `Harness` for Zendesk.

`ZendeskHarness(rsps, tmp_path)` starts an emulator shaped like the contract policy expects (the
six tracking fields, groups "Support L1" and "Support L2"), binds it to every URL of the
account, and builds adapters on it signed in with OAuth client credentials (the secret in a
file under `tmp_path`), with an injected clock and sleeper: sleeping advances the clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import responses

from adapters.package import Wiring
from adapters.zendesk.adapter import ZendeskAdapter, build
from adapters.zendesk.settings import Settings
from emulators.zendesk import ZendeskEmulator
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY, TRACKED, View, contract_policy
from tests.adapters.fakes import FakeTime as _FakeTime
from tests.adapters.openapi_check import SpecChecker
from tests.emulation import bind

BASE_URL = "https://acme.zendesk.com"
NOW = 1772445600.0  # 2026-03-02T10:00:00Z, the contract's NOW
TO_ZENDESK = {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}
FROM_ZENDESK = {v: k for k, v in TO_ZENDESK.items()}
TITLES = {
    "level": "Escalation level",
    "escalated_at": "Escalated at",
    "rule": "Escalation rule",
    "count": "Escalation count",
    "sla_due": "SLA due",
    "state": "Escalation state",
}
CLIENT_ID, CLIENT_SECRET = "escalation-connector", "client-secret-value"
#: Query parameters the API reference documents but the OpenAPI file omits: cursor pagination
#: (`page[size]`, `page[after]`, see "Pagination") on audits, groups, comments and the search
#: export, sideloads (`include`, see "Side-loading") on tickets/show_many, and `sort`
#: (`-created_at`: newest first) on List Comments, given in its description under "Sorting".
DOCUMENTED_PARAMS = ("page[size]", "page[after]", "include", "sort")


class FakeTime(_FakeTime):
    def __init__(self, start: float = NOW - 7200) -> None:
        super().__init__(start)


def spec_checker(base_url: str = BASE_URL) -> SpecChecker:
    return SpecChecker("zendesk.json", base_url, allow_params=DOCUMENTED_PARAMS)


def policy_with(rules: str, templates: str = "") -> Policy:
    """The contract policy with other rules (YAML list items, indented two spaces)."""
    head, rest = CONTRACT_POLICY.split("rules:\n", 1)
    _, tail = rest.split("templates:\n", 1)
    text = f"{head}rules:\n{rules.rstrip()}\ntemplates:\n{templates}{tail}"
    return load_policy(text, "test.yaml")


def check_tags(url: str, sent: dict[str, Any]) -> None:
    single = sent.get("ticket") or {}
    assert not {"additional_tags", "remove_tags"} & set(single) or "update_many" in url, url
    if "tags" in single and "update_many" not in url:
        assert single.get("safe_update") is True and single.get("updated_stamp"), url
    for item in [*(sent.get("tickets") or []), *([single] if "update_many" in url else [])]:
        assert "tags" not in item, f"tags replaced wholesale in a job: {url}"


APPROVAL_FIELD = "Escalation approved by"


class ZendeskHarness:
    platform = "zendesk"
    page_size = 50

    def __init__(
        self,
        rsps: responses.RequestsMock,
        tmp_path: Path,
        base_url: str = BASE_URL,
        **emulator: Any,
    ) -> None:
        self.rsps = rsps
        self.base_url = base_url
        self.tmp_path = tmp_path
        self.time = FakeTime()
        self.slept = self.time.slept
        self.emulator = ZendeskEmulator(clock=self.time.clock, base_url=base_url, **emulator)
        self.emulator.clients[CLIENT_ID] = (CLIENT_SECRET, self.emulator.me)
        self.secret = tmp_path / "zendesk-client-secret"
        self.secret.write_text(CLIENT_SECRET + "\n")
        self.custom_policy: Policy | None = None
        bind(rsps, self.emulator, self.emulator.base_url)

    def count(self, method: str, path: str) -> int:
        """Requests sent so far whose path matches the regular expression `path`."""
        return sum(1 for m, p in self.emulator.log if m == method and re.search(path, p))

    # --- the Harness protocol ------------------------------------------------------------------

    def policy(self) -> Policy:
        return self.custom_policy or contract_policy()

    def settings(self, **overrides: Any) -> Settings:
        data: dict[str, Any] = {
            "platform": "zendesk",
            "url": self.base_url,
            "page_size": self.page_size,
            "auth": {
                "type": "oauth_client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": {"file": str(self.secret)},
            },
        }
        data.update(overrides)
        return Settings.model_validate(data)

    def adapter(self, *, state_dir: Path | None = None, **settings: Any) -> ZendeskAdapter:
        return build(
            "zendesk-test",
            self.settings(**settings),
            self.policy(),
            Wiring(self.time.clock, self.time.sleep, state_dir),
        )

    def seed(
        self,
        count: int,
        *,
        priority: str = "P3",
        tags: Iterable[str] = (),
        group: str | None = "Support L1",
        title: str = "Printer on fire",
    ) -> list[str]:
        return [
            str(
                self.emulator.add_ticket(
                    subject=title, priority=TO_ZENDESK[priority], tags=tags, group=group
                )
            )
            for _ in range(count)
        ]

    def seed_closed(self, count: int) -> list[str]:
        return [str(self.emulator.add_ticket(status="solved")) for _ in range(count)]

    def agent_edit(
        self,
        ticket_id: str,
        *,
        priority: str | None = None,
        add_tags: Iterable[str] = (),
        group: str | None = None,
    ) -> None:
        self.time.now += 1
        changes: dict[str, Any] = {"additional_tags": list(add_tags)}
        if priority is not None:
            changes["priority"] = TO_ZENDESK[priority]
        if group is not None:
            changes["group_id"] = self.emulator.group_id(group)
        self.emulator.agent_edit(int(ticket_id), changes)

    def use_approvals(self, policy: Policy) -> None:
        if not any(f["title"] == APPROVAL_FIELD for f in self.emulator.fields.values()):
            self.emulator.add_field(APPROVAL_FIELD)
        self.custom_policy = policy

    def person(self, email: str) -> int:
        """The agent with this e-mail (created on first use)."""
        zd = self.emulator
        found = next((uid for uid, u in zd.users.items() if u["email"] == email), None)
        return (
            found
            if found is not None
            else zd.add_user(email.split("@", maxsplit=1)[0], email, "agent")
        )

    def approve(self, ticket_id: str, value: str, *, by: str) -> None:
        self.time.now = max(self.time.now, NOW + 60)  # after the contract's runs asked
        self.time.now += 1
        fid = self.emulator.field_id(APPROVAL_FIELD)
        change = {"custom_fields": [{"id": fid, "value": value}]}
        self.emulator.agent_edit(int(ticket_id), change, author=self.person(by))

    def rename(self, person: str, name: str) -> None:
        self.emulator.users[self.person(person)]["name"] = name

    def in_group(self, group: str, person: str) -> None:
        if not any(g["name"] == group for g in self.emulator.groups.values()):
            self.emulator.add_group(group)
        self.emulator.add_member(group, self.person(person))

    def view(self, ticket_id: str) -> View:
        zd = self.emulator
        ticket = zd.tickets[int(ticket_id)]
        assignee = zd.users.get(ticket["assignee_id"] or -1, {}).get("email")
        group = zd.groups.get(ticket["group_id"] or -1, {}).get("name")
        tracking = {}
        for name in TRACKED:
            value = zd.field_value(int(ticket_id), TITLES[name])
            tracking[name] = None if value is None else str(value)
        opening = zd.comments[int(ticket_id)][:1]
        comments = [
            (bool(c["public"]), str(c["body"]))
            for c in zd.comments[int(ticket_id)]
            if c not in opening
        ]
        return View(
            group=group,
            assignee=assignee,
            priority=FROM_ZENDESK.get(ticket["priority"]),
            tags=frozenset(ticket["tags"]),
            tracking=tracking,
            comments=comments,
        )

    def delete(self, ticket_id: str) -> None:
        self.emulator.delete_ticket(int(ticket_id))

    def fail(self, mode: str, *, ticket_id: str | None = None, times: int = 1) -> None:
        zd = self.emulator
        if mode == "page_error":
            zd.fail("GET", r"/search/export$", 500, times=times, when=lambda q: "page[after]" in q)
        elif mode == "rate_limited":
            zd.fail(
                "*",
                r".",
                429,
                times=times,
                headers={"Retry-After": "7"},
                body={"error": "TooManyRequests", "description": "Rate limit exceeded"},
            )
        elif mode == "timeout_after_landing":
            zd.timeout_after_landing("PUT", rf"/tickets/{ticket_id}$", times=times)
        elif mode == "conflict":
            assert ticket_id is not None
            tid = int(ticket_id)

            def edit() -> None:
                self.time.now += 1
                zd.agent_edit(tid, {"additional_tags": ["conflict-edit"]})

            zd.before_write(tid, edit)
        else:
            raise ValueError(f"unknown fault mode {mode!r}")

    def requests(self, method: str | None = None) -> int:
        return sum(1 for m, _ in self.emulator.log if method is None or m == method)

    def check_spec(self) -> int:
        """Validate every request against the OpenAPI document, and check the tags of every
        ticket update: a single update sets the whole list only as a safe update and never
        sends the bulk-only edits (ignored there); a job item edits them, never replaces them.
        Returns how many requests were checked."""
        for call in self.rsps.calls:
            if call.request.method == "PUT" and call.request.body:
                check_tags(str(call.request.url), json.loads(call.request.body))
        return spec_checker(self.base_url).check_calls(self.rsps.calls)

    def secret_file(self, name: str, value: str) -> dict[str, str]:
        """A SecretRef to a file holding `value`."""
        path = self.tmp_path / name
        path.write_text(value)
        return {"file": str(path)}
