"""Instances on in-memory platforms (`adapters.memory`; two by default, as many as a fleet test
asks for), a config naming them, and `invoke`: the real `escalate` entry point, in process, on
a fake clock. The runner, executor and storm guard are tested here without HTTP;
tests/connector/platforms.py keeps the emulated platforms over HTTP for what HTTP is needed for
(credentials, request shapes, platform screens).

The policy is the adapter contract's (P1 tickets go from L1 to L2 with a note and a reply).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.memory.adapter import MemoryAdapter
from adapters.memory.store import Store
from adapters.owed import Journal, journal_path
from adapters.protocol import Adapter
from connector.cli import main
from connector.config import Config
from connector.progress import Progress
from connector.runner import Runtime
from rules.model import Actor
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.fakes import FakeTime

NOW = 1772445600.0  # 2026-03-02T10:00:00Z
INSTANCES = ("zendesk", "jira")


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Fleet:
    time: FakeTime
    tmp: Path
    capsys: pytest.CaptureFixture[str]
    stores: dict[str, Store] = field(default_factory=dict)
    #: Called with the instance's name as a run connects to it (on the instance's thread).
    on_connect: Callable[[str], None] | None = None
    #: The runtime of the last `invoke`.
    runtime: Runtime | None = None

    @property
    def state(self) -> Path:
        return self.tmp / "state"

    def config(self, name: str = "escalate.yaml", **run: Any) -> Path:
        """Every instance (their platform settings are only checked: the runtime connects them
        to the stores; a name starting with "jira" is a Jira instance, any other a Zendesk
        one); `run` keys go into the `run:` section."""
        doc = yaml.safe_load(CONTRACT_POLICY)
        (self.tmp / "secret").write_text("not-used\n")
        auth = {"type": "api_token", "email": "bot@example.com", "token": {"file": "secret"}}
        jira = {"email": "bot@example.com", "api_token": {"file": "secret"}}
        doc["instances"] = {
            name: (
                {"platform": "jira", "url": "https://acme.atlassian.net", "auth": jira}
                if name.startswith("jira")
                else {"platform": "zendesk", "url": "https://acme.zendesk.com", "auth": auth}
            )
            for name in self.stores
        }
        doc["run"] = {"state_dir": "state", **run}
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def connect(self, config: Config, name: str) -> Adapter:
        if self.on_connect is not None:
            self.on_connect(name)
        journal = Journal(journal_path(config.state_dir, name), name, self.time.clock)
        return MemoryAdapter(
            name, self.stores[name], config.policy, sleep=self.time.sleep, journal=journal
        )

    def invoke(self, *args: str | Path) -> Result:
        self.capsys.readouterr()
        runtime = Runtime(self.time.clock, self.time.sleep, Progress(enabled=False), self.connect)
        self.runtime = runtime
        try:
            main([str(a) for a in args], runtime=runtime)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def p1(self, count: int, instance: str = "zendesk") -> list[str]:
        """Open P1 tickets at L1: each is due for escalation to L2."""
        return [self.stores[instance].add(priority="P1") for _ in range(count)]

    def level(self, ticket: str, instance: str = "zendesk") -> object:
        return self.stores[instance].tickets[ticket].fields.get("level")

    def notes(self, ticket: str, instance: str = "zendesk") -> list[tuple[bool, str]]:
        """(public, text) of the comments the connector wrote, oldest first."""
        comments = self.stores[instance].tickets[ticket].comments
        return [(public, text) for public, text, who in comments if who is Actor.CONNECTOR]


@contextlib.contextmanager
def fleet(
    tmp: Path,
    capsys: pytest.CaptureFixture[str],
    comments_per_update: int | None = None,
    instances: Sequence[str] = INSTANCES,
) -> Iterator[Fleet]:
    """`comments_per_update=1`: the platforms take one comment per update (as Zendesk);
    `instances`: their names, in the config's order."""
    time = FakeTime(NOW)
    stores = {
        name: Store(time.clock, comments_per_update=comments_per_update) for name in instances
    }
    yield Fleet(time, tmp, capsys, stores)
