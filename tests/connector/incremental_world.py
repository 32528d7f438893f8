"""A small world for incremental runs: one emulated platform (Zendesk, Jira Cloud or Jira Data
Center) bound to `responses`, a config with `run.incremental`, a fake clock, and the real runner
(`connector.runner.run_instance`) with its state directory. Used by the property test (an
incremental run plans what a full one plans), the index-lag tests and
benchmarks/bench_incremental.py.

The policy: a P1 goes to L2 at once; a P2 at 2 hours old; a P3 at 8 hours old with a reminder
every 4 hours at L2 (a repeat, so cooldowns count); a P4 never. Nothing reads history, so a
read costs its search pages.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import responses
import yaml

from adapters.package import Wiring
from adapters.protocol import Adapter
from adapters.registry import platform
from connector.audit import AuditLog
from connector.config import Config, load_config
from connector.progress import Progress
from connector.report import InstanceRun
from connector.runner import Options, Runtime, run_instance
from emulators.http import Answer, EmulatedTimeout
from emulators.jira import JiraEmulator
from emulators.zendesk import ZendeskEmulator
from rules.plan import TicketChange
from tests.adapters.fakes import FakeTime
from tests.adapters.jira_harness import make_emulator
from tests.emulation import METHODS, request_of

START = 1772445600.0  # 2026-03-02T10:00:00Z
SECRET = "zd-client-secret-incremental"
POLICY = """
version: 1
priorities: [P1, P2, P3, P4]
defaults: {calendar: 24x7, time: calendar}
levels:
  - name: L1
    owner: {group: Support L1}
  - name: L2
    owner: {group: Support L2}
rules:
  - name: p1-now
    when: {priority: P1}
    then: {escalate: next, note: handoff}
  - name: p2-aged
    when: {priority: P2, age: {over: 2h}}
    then: {escalate: next, note: handoff}
  - name: p3-aged
    when: {priority: P3, age: {over: 8h}}
    then: {escalate: next, note: handoff}
  - name: l2-reminder
    when: {level: L2, at_level: {over: 1h}}
    then: {note: reminder}
    repeat: {every: 4h, max: 3}
templates:
  handoff: "Escalated {{ ticket.title }}"
  reminder: "Still at L2: {{ ticket.title }}"
platforms:
  zendesk:
    priorities: {urgent: P1, high: P2, normal: P3, low: P4}
    fields: &fields
      level: Escalation level
      escalated_at: Escalated at
      rule: Escalation rule
      count: Escalation count
      sla_due: SLA due
      state: Escalation state
  jira:
    priorities: {Highest: P1, High: P2, Medium: P3, Low: P4}
    fields: *fields
"""
ZENDESK_PRIORITY = {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}
JIRA_PRIORITY = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}


class World:
    def __init__(
        self,
        flavour: str,
        rsps: responses.RequestsMock,
        tmp: Path,
        *,
        index_lag: str = "5m",
        full_sweep: str = "1h",
        search_lag: float = 0.0,
        time_zone: str = "UTC",
        scope: str | None = None,
        name: str = "world",
    ) -> None:
        self.flavour, self.tmp, self.name = flavour, tmp, name
        self.time = FakeTime(START)
        self.emulator: ZendeskEmulator | JiraEmulator
        if flavour == "zendesk":
            zd = ZendeskEmulator(clock=self.time.clock)
            zd.clients["escalation-connector"] = (SECRET, zd.me)
            zd.search_lag = search_lag
            self.emulator = zd
        else:
            site = make_emulator(flavour, self.time.clock)
            site.users[site.myself]["timeZone"] = time_zone
            self.emulator = site
        self.sent: list[str] = []
        self.emulator_cpu = 0.0
        #: Called after each request is answered (a human acting while a run reads).
        self.after: Callable[[str], None] | None = None
        self._bind(rsps)
        self.config = self._config(index_lag, full_sweep, scope)
        self.runtime = Runtime(self.time.clock, self.time.sleep, Progress(enabled=False))

    # --- the platform ---------------------------------------------------------------------

    def _bind(self, rsps: responses.RequestsMock) -> None:
        base = self.emulator.base_url
        prefix = urlsplit(base).path

        def callback(prepared: requests.PreparedRequest) -> Answer:
            request = request_of(prepared, prefix)
            started = _time.process_time()
            try:
                answer = self.emulator.handle(request)
            except EmulatedTimeout as exc:
                raise requests.exceptions.ReadTimeout(str(exc)) from None
            finally:
                self.emulator_cpu += _time.process_time() - started
            parts = urlsplit(str(prepared.url))
            self.sent.append(
                f"{request.method} {parts.path}" + (f"?{parts.query}" * bool(parts.query))
            )
            if self.after is not None:
                self.after(self.sent[-1])
            return answer

        pattern = re.compile(re.escape(base) + r"/.*")
        for method in METHODS:
            rsps.add_callback(method, pattern, callback=callback)

    def create(self, priority: str, requester: int | None = None) -> str:
        if isinstance(self.emulator, ZendeskEmulator):
            tid = self.emulator.add_ticket(
                priority=ZENDESK_PRIORITY[priority], group="Support L1", requester=requester
            )
            return str(tid)
        return self.emulator.create_issue("SUP", priority=JIRA_PRIORITY[priority])

    def set_priority(self, tid: str, priority: str) -> None:
        """A person changes the priority (the ticket's `updated_at` moves)."""
        if isinstance(self.emulator, ZendeskEmulator):
            self.emulator.agent_edit(int(tid), {"priority": ZENDESK_PRIORITY[priority]})
        else:
            self.emulator.edit(tid, priority=JIRA_PRIORITY[priority])

    def solve(self, tid: str) -> None:
        if isinstance(self.emulator, ZendeskEmulator):
            self.emulator.agent_edit(int(tid), {"status": "solved"})
        else:
            self.emulator.edit(tid, status="Done")

    def delete(self, tid: str) -> None:
        if isinstance(self.emulator, ZendeskEmulator):
            self.emulator.delete_ticket(int(tid))
        else:
            self.emulator.delete(tid)

    def exists(self, tid: str) -> bool:
        if isinstance(self.emulator, ZendeskEmulator):
            return int(tid) in self.emulator.tickets
        return tid in self.emulator.issues

    def searchable(self, tid: str) -> bool:
        """The platform's search sees the ticket as it is now (Zendesk's index lag)."""
        if isinstance(self.emulator, ZendeskEmulator):
            return any(str(t["id"]) == tid for t in self.emulator.searchable())
        return True

    def level(self, tid: str) -> str | None:
        if isinstance(self.emulator, ZendeskEmulator):
            value = self.emulator.field_value(int(tid), "Escalation level")
        else:
            issue = self.emulator.issues[tid]
            value = issue.fields.get(self.emulator.field_id("Escalation level"))
        return str(value) if value else None

    def wait(self, seconds: float) -> None:
        self.time.now += seconds

    def requests(self) -> list[str]:
        return list(self.sent)

    # --- the connector --------------------------------------------------------------------

    def _config(self, index_lag: str, full_sweep: str, scope: str | None) -> Config:
        doc: dict[str, Any] = yaml.safe_load(POLICY)
        (self.tmp / "secret").write_text((SECRET if self.flavour == "zendesk" else "tok") + "\n")
        secret = {"file": str(self.tmp / "secret")}
        if self.flavour == "zendesk":
            instance: dict[str, Any] = {
                "platform": "zendesk",
                "url": self.emulator.base_url,
                "auth": {
                    "type": "oauth_client_credentials",
                    "client_id": "escalation-connector",
                    "client_secret": secret,
                },
                "scope": "type:ticket status<solved",
                "history_cache": False,
            }
        else:
            auth = (
                {"email": "bot@example.com", "api_token": secret}
                if self.flavour == "cloud"
                else {"personal_access_token": secret}
            )
            instance = {
                "platform": "jira",
                "url": self.emulator.base_url,
                "auth": auth,
                "scope": "project = SUP AND statusCategory != Done",
                "group_field": "Support team",
                "page_size": 100,
            }
        if scope is not None:
            instance["scope"] = scope
        doc["instances"] = {self.name: instance}
        doc["run"] = {
            "state_dir": str(self.tmp / "state"),
            "incremental": True,
            "full_sweep": full_sweep,
            "index_lag": index_lag,
            "max_changes": 0,
        }
        path = self.tmp / "escalate.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return load_config(path)

    def options(self, **kw: Any) -> Options:
        return replace(Options(concurrency=1, incremental=True), **kw)

    def run(
        self,
        *,
        full: bool = False,
        hint: frozenset[str] = frozenset(),
        incremental: bool = True,
        search: bool = True,
    ) -> InstanceRun:
        """A real run (writes), incremental unless `full` (or the index says otherwise);
        `incremental=False`: as without `run.incremental` (no index read or written);
        `search=False`: as a cycle only webhooks prompted (`connector.due`)."""
        options = self.options(full=full, hint=hint, incremental=incremental, search=search)
        return self._run(options)

    def plan(self, *, incremental: bool, as_configured: bool = False) -> dict[str, TicketChange]:
        """What a dry run would change, read incrementally (the index as the last run left
        it; nothing is written) or in full (without the index), by ticket; `as_configured`:
        with the instance's scope as written, not narrowed (`connector.scopes`)."""
        if as_configured:
            self.runtime.connect = self._as_configured
        try:
            run = self._run(self.options(dry_run=True, incremental=incremental))
        finally:
            self.runtime.connect = None
        assert run.outcome.value == "dry-run", run.error
        assert run.read_mode == ("incremental" if incremental else "full"), run.read_why
        return {c.ticket: c for c in run.changes}

    def _as_configured(self, config: Config, name: str) -> Adapter:
        settings = config.instances[name]
        wiring = Wiring(self.time.clock, self.time.sleep, config.state_dir)
        return platform(settings.platform).build(name, settings, config.policy, wiring)

    def _run(self, options: Options) -> InstanceRun:
        audit = AuditLog(None, "world", self.time.clock)
        try:
            run = run_instance(self.config, self.name, self.runtime, audit, options)
        finally:
            audit.close()
            self.runtime.close_store()
        assert run.fatal is None, run.error
        return run
