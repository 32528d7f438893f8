"""The Jira emulator bound to `responses`, and the contract suite's `Harness` for Jira.

`JiraHarness(flavour, rsps, tmp_path)` starts an emulator shaped like the contract policy
expects (the six tracking fields, a "Support team" select holding the group, priorities
Highest..Low), binds it to every URL of the site, and builds adapters on it with an injected
clock and sleeper (sleeping advances the clock; nothing really sleeps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import responses

from adapters.jira.adapter import JiraAdapter, build
from adapters.jira.settings import Settings
from adapters.package import Wiring
from emulators.jira import Call, JiraEmulator, adf_text
from rules.policy import Policy
from tests.adapters.contract import View, contract_policy
from tests.adapters.fakes import FakeTime as _FakeTime
from tests.adapters.openapi_check import SpecChecker
from tests.emulation import bind

CLOUD_URL = "https://acme.atlassian.net"
DC_URL = "https://jira.example.com"
NOW = 1772445600.0  # 2026-03-02T10:00:00Z, the contract's NOW
TRACKING = {
    "level": "Escalation level",
    "escalated_at": "Escalated at",
    "rule": "Escalation rule",
    "count": "Escalation count",
    "sla_due": "SLA due",
    "state": "Escalation state",
}
TO_JIRA = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
FROM_JIRA = {v: k for k, v in TO_JIRA.items()}
GROUP_FIELD = "Support team"
APPROVAL_FIELD = "Escalation approved by"


class FakeTime(_FakeTime):
    def __init__(self, start: float = NOW - 7200) -> None:
        super().__init__(start)


def make_emulator(flavour: str, clock: Any, url: str | None = None, **kw: Any) -> JiraEmulator:
    url = url or (CLOUD_URL if flavour == "cloud" else DC_URL)
    emulator = JiraEmulator(flavour=flavour, base_url=url, clock=clock, **kw)
    for logical, title in TRACKING.items():
        emulator.add_field(title, "number" if logical == "count" else "text")
    emulator.add_field(GROUP_FIELD, "select", options=["Support L1", "Support L2"])
    emulator.add_project("SUP")
    return emulator


class JiraHarness:
    platform = "jira"
    page_size = 25

    def __init__(
        self, flavour: str, rsps: responses.RequestsMock, tmp_path: Path, **emulator: Any
    ) -> None:
        self.flavour = flavour
        self.time = FakeTime()
        self.slept = self.time.slept
        self.rsps = rsps
        self.emulator = make_emulator(flavour, self.time.clock, **emulator)
        self.url = self.emulator.base_url
        bind(rsps, self.emulator, self.emulator.base_url)
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.token = tmp_path / "jira-token"
        self.token.write_text("s3cret-token-value\n")
        self.custom_policy: Policy | None = None

    def settings(self, **overrides: Any) -> Settings:
        secret = {"file": str(self.token)}
        auth = (
            {"email": "bot@example.com", "api_token": secret}
            if self.flavour == "cloud"
            else {"personal_access_token": secret}
        )
        base: dict[str, Any] = {
            "platform": "jira",
            "url": self.url,
            "auth": auth,
            "group_field": GROUP_FIELD,
            "jsm_internal_comments": True,
            "page_size": self.page_size,
        }
        return Settings.model_validate(base | overrides)

    def policy(self) -> Policy:
        return self.custom_policy or contract_policy()

    def use_approvals(self, policy: Policy) -> None:
        if not any(f["name"] == APPROVAL_FIELD for f in self.emulator.fields):
            self.emulator.add_field(APPROVAL_FIELD, "text")
        self.custom_policy = policy

    def person(self, email: str) -> str:
        """The user with this e-mail (created on first use): an account id on Cloud, a
        username on Data Center."""
        e = self.emulator
        found = next((uid for uid, u in e.users.items() if u["emailAddress"] == email), None)
        return (
            found
            if found is not None
            else e.add_user(email.split("@", maxsplit=1)[0], email, email)
        )

    def approve(self, ticket_id: str, value: str, *, by: str) -> None:
        self.time.now = max(self.time.now, NOW + 60)  # after the contract's runs asked
        self.emulator.edit(ticket_id, by=self.person(by), values={APPROVAL_FIELD: value})

    def rename(self, person: str, name: str) -> None:
        self.emulator.users[self.person(person)]["displayName"] = name

    def in_group(self, group: str, person: str) -> None:
        self.emulator.add_member(group, self.person(person))

    def adapter(
        self, policy: Policy | None = None, *, state_dir: Path | None = None, **settings: Any
    ) -> JiraAdapter:
        return build(
            "contract",
            self.settings(**settings),
            policy or self.policy(),
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
        values = {GROUP_FIELD: {"value": group}} if group else {}
        return [
            self.emulator.create_issue(
                summary=title, priority=TO_JIRA[priority], labels=tags, values=values
            )
            for _ in range(count)
        ]

    def seed_closed(self, count: int) -> list[str]:
        return [self.emulator.create_issue(status="Done") for _ in range(count)]

    def agent_edit(
        self,
        ticket_id: str,
        *,
        priority: str | None = None,
        add_tags: Iterable[str] = (),
        group: str | None = None,
    ) -> None:
        self.emulator.edit(
            ticket_id,
            priority=TO_JIRA[priority] if priority else None,
            add_labels=add_tags,
            values={GROUP_FIELD: {"value": group}} if group else None,
        )

    def view(self, ticket_id: str) -> View:
        issue = self.emulator.issues[ticket_id]
        fields = issue.fields
        fid = self.emulator.field_id

        def text(value: Any) -> str | None:
            if isinstance(value, dict):
                return str(value.get("value") or value.get("name"))
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return None if value is None else str(value)

        comments = []
        for c in issue.comments:
            internal = any(
                p.get("key") == "sd.public.comment" and p["value"].get("internal")
                for p in c["properties"]
            )
            comments.append((not internal and not c["visibility"], adf_text(c["body"])))
        assignee = fields.get("assignee")
        return View(
            group=text(fields.get(fid(GROUP_FIELD))),
            assignee=(assignee or {}).get("accountId") or (assignee or {}).get("name"),
            priority=FROM_JIRA.get((fields.get("priority") or {}).get("name", "")),
            tags=frozenset(fields["labels"]),
            tracking={k: text(fields.get(fid(v))) for k, v in TRACKING.items()},
            comments=comments,
        )

    def delete(self, ticket_id: str) -> None:
        self.emulator.delete(ticket_id)

    def fail(self, mode: str, *, ticket_id: str | None = None, times: int = 1) -> None:
        e = self.emulator
        if mode == "page_error":
            e.fail(later_page, 500, times=times)
        elif mode == "rate_limited":
            e.fail(lambda r: True, 429, times=times, retry_after=7)
        elif mode == "timeout_after_landing":
            e.timeout_after_landing(
                lambda r: r.method in ("PUT", "POST") and f"/issue/{ticket_id}" in r.path, times
            )
        elif mode == "conflict":
            assert ticket_id is not None
            e.conflict(ticket_id, lambda: e.edit(ticket_id, add_labels=["conflict-edit"]))
        else:
            raise ValueError(mode)

    def requests(self, method: str | None = None) -> int:
        return len(self.emulator.requests(method))

    def check_spec(self) -> int:
        """Validate every request sent so far against the published OpenAPI document, and
        that no user search was ever sent (assignees are never guessed)."""
        assert not self.emulator.requests(path="/user/search"), "a user search was sent"
        calls = [c for c in self.rsps.calls if str(c.request.url).startswith(self.url + "/")]
        return SpecChecker("jira-cloud.json", self.url).check_calls(calls)

    def sent(self, method: str, path_part: str) -> list[Call]:
        """The requests sent with this method whose path contains `path_part`."""
        return self.emulator.requests(method, path_part)


Make = Callable[..., JiraHarness]  # the `make` fixture: make(flavour, **emulator_options)


@contextmanager
def harnesses(tmp_path: Path) -> Iterator[Make]:
    """`make(flavour, **emulator_options)` inside one `responses` mock; on the way out, every
    request each harness sent is checked against the OpenAPI document."""
    made: list[JiraHarness] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        def make(flavour: str = "cloud", **kw: Any) -> JiraHarness:
            h = JiraHarness(flavour, rsps, tmp_path / f"h{len(made)}", **kw)
            made.append(h)
            return h

        yield make
        for h in made:
            h.check_spec()


def later_page(r: Call) -> bool:
    """A search request for a page other than the first."""
    if r.path.endswith("/search/jql"):
        token = (r.body or {}).get("nextPageToken") or r.query.get("nextPageToken")
        return bool(token)
    if r.path.endswith("/search"):
        return int((r.query.get("startAt") or ["0"])[0]) > 0
    return False
