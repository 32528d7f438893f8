"""A Zendesk and a Jira Cloud emulator served over loopback HTTP, a config pointing at them,
and `invoke(...)`: the real `escalate` entry point, in process, with a fake clock and sleeper.

The policy is the adapter contract's (P1 tickets go from L1 to L2 with a note and a reply).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.cli import main
from connector.progress import Progress
from connector.runner import Runtime
from emulators.http import Answer, Request
from emulators.jira import JiraEmulator
from emulators.server import EmulatorServer
from emulators.zendesk import ZendeskEmulator
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.fakes import FakeTime
from tests.adapters.jira_harness import make_emulator

NOW = 1772445600.0  # 2026-03-02T10:00:00Z
ZENDESK_SECRET = "zd-client-secret-4c1f9e"
JIRA_TOKEN = "jira-api-token-77b2d0"


class Tap:
    """Serves an emulator and calls `after_write(method, path)` once a write has landed (the
    answer not yet sent): where a test kills the client or holds it back."""

    def __init__(self, emulator: ZendeskEmulator | JiraEmulator) -> None:
        self.emulator = emulator
        self.after_write: Callable[[str, str], None] | None = None
        self.writes = 0

    def handle(self, request: Request) -> Answer:
        answer = self.emulator.handle(request)
        method, path = request.method, request.path
        if method in ("PUT", "POST") and answer[0] < 300 and "/oauth/" not in path:
            self.writes += 1
            if self.after_write is not None:
                self.after_write(method, path)
        return answer


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(capsys: pytest.CaptureFixture[str], time: FakeTime, *args: str | Path) -> Result:
    """The real `escalate` entry point, in process, on `time`'s clock and sleeper."""
    capsys.readouterr()
    runtime = Runtime(time.clock, time.sleep, Progress(enabled=False))
    try:
        main([str(a) for a in args], runtime=runtime)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@dataclass
class Platforms:
    time: FakeTime
    zendesk: ZendeskEmulator
    jira: JiraEmulator
    urls: dict[str, str]
    taps: dict[str, Tap]
    tmp: Path
    capsys: pytest.CaptureFixture[str]
    flavour: str = "cloud"  # the Jira emulator's: "cloud" or "dc"

    @property
    def state(self) -> Path:
        return self.tmp / "state"

    def config(
        self,
        name: str = "escalate.yaml",
        *,
        unmapped: tuple[str, ...] = (),
        zendesk: dict[str, Any] | None = None,
        **run: Any,
    ) -> Path:
        """Write a config for both instances; `run` keys go into its `run:` section,
        `unmapped` tracking fields are left out of the policy's field mapping, `zendesk` keys
        are added to the Zendesk instance."""
        doc = yaml.safe_load(CONTRACT_POLICY)
        for name_ in unmapped:
            for platform in doc["platforms"].values():
                platform["fields"].pop(name_, None)
        (self.tmp / "zendesk.secret").write_text(ZENDESK_SECRET + "\n")
        (self.tmp / "jira.secret").write_text(JIRA_TOKEN + "\n")
        doc["instances"] = {
            "zendesk": {
                "platform": "zendesk",
                "url": self.urls["zendesk"],
                "auth": {
                    "type": "oauth_client_credentials",
                    "client_id": "escalation-connector",
                    "client_secret": {"file": str(self.tmp / "zendesk.secret")},
                },
                "scope": "type:ticket status<solved",
                **(zendesk or {}),
            },
            "jira": {
                "platform": "jira",
                "url": self.urls["jira"],
                "auth": (
                    {"email": "bot@example.com", "api_token": {"file": "jira.secret"}}
                    if self.flavour == "cloud"
                    else {"personal_access_token": {"file": "jira.secret"}}
                ),
                "scope": "project = SUP AND statusCategory != Done",
                "group_field": "Support team",
            },
        }
        doc["run"] = {"state_dir": "state", **run}
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def invoke(self, *args: str | Path) -> Result:
        return invoke(self.capsys, self.time, *args)

    def p1(self, count: int, platform: str = "zendesk") -> list[str]:
        """Open P1 tickets at L1: each is due for escalation to L2."""
        if platform == "zendesk":
            ids = [self.zendesk.add_ticket(priority="urgent", group="Support L1")]
            ids += [
                self.zendesk.add_ticket(priority="urgent", group="Support L1")
                for _ in range(count - 1)
            ]
            return [str(i) for i in ids]
        return [self.jira.create_issue("SUP", priority="Highest") for _ in range(count)]


@contextlib.contextmanager
def platforms(
    tmp: Path, capsys: pytest.CaptureFixture[str], *, start: float = NOW, flavour: str = "cloud"
) -> Iterator[Platforms]:
    """`start`: the fake clock's start (subprocess tests use the real time, as the child does);
    `flavour`: Jira Cloud or Data Center ("dc")."""
    time = FakeTime(start)
    zendesk = ZendeskEmulator(clock=time.clock)
    zendesk.clients["escalation-connector"] = (ZENDESK_SECRET, zendesk.me)
    jira = make_emulator(flavour, time.clock)
    taps = {"zendesk": Tap(zendesk), "jira": Tap(jira)}
    with EmulatorServer(taps["zendesk"]) as zd_url, EmulatorServer(taps["jira"]) as jira_url:
        urls = {"zendesk": zd_url, "jira": jira_url}
        yield Platforms(time, zendesk, jira, urls, taps, tmp, capsys, flavour)
