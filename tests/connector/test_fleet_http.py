"""A small fleet over real HTTP: `escalate run --jobs 4` on four emulated platforms (two Zendesk,
two Jira Cloud) served over loopback, the real adapters built and run on the instances'
threads. One instance's credentials are refused (401): it is aborted, the others are written,
and the exit status is 2 (docs/cli.md: the worst instance counts). Parallelism itself is
proved on in-memory platforms (tests/connector/test_fleet.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.jira import JiraEmulator
from emulators.server import EmulatorServer
from emulators.zendesk import ZendeskEmulator
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.fakes import FakeTime
from tests.adapters.jira_harness import make_emulator
from tests.connector.platforms import JIRA_TOKEN, NOW, ZENDESK_SECRET, invoke

NAMES = ("zd-b", "jira-a", "zd-refused", "jira-c")


def zendesk(time: FakeTime) -> ZendeskEmulator:
    emulator = ZendeskEmulator(clock=time.clock)
    emulator.clients["escalation-connector"] = (ZENDESK_SECRET, emulator.me)
    return emulator


def settings(name: str, url: str, tmp: Path) -> dict[str, Any]:
    if name.startswith("jira"):
        return {
            "platform": "jira",
            "url": url,
            "auth": {"email": "bot@example.com", "api_token": {"file": "jira.secret"}},
            "scope": "project = SUP AND statusCategory != Done",
            "group_field": "Support team",
        }
    secret = "wrong.secret" if name == "zd-refused" else "zendesk.secret"
    return {
        "platform": "zendesk",
        "url": url,
        "auth": {
            "type": "oauth_client_credentials",
            "client_id": "escalation-connector",
            "client_secret": {"file": str(tmp / secret)},
        },
        "scope": "type:ticket status<solved",
    }


@contextlib.contextmanager
def served(emulators: dict[str, ZendeskEmulator | JiraEmulator]) -> Iterator[dict[str, str]]:
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(EmulatorServer(e)) for name, e in emulators.items()}


def test_a_fleet_over_http_with_one_instance_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    time = FakeTime(NOW)
    emulators: dict[str, ZendeskEmulator | JiraEmulator] = {
        name: make_emulator("cloud", time.clock) if name.startswith("jira") else zendesk(time)
        for name in NAMES
    }
    tickets: dict[str, list[str]] = {}
    for name, emulator in emulators.items():
        if isinstance(emulator, JiraEmulator):
            tickets[name] = [emulator.create_issue("SUP", priority="Highest") for _ in range(3)]
        else:
            made = [emulator.add_ticket(priority="urgent", group="Support L1") for _ in range(3)]
            tickets[name] = [str(t) for t in made]
    (tmp_path / "zendesk.secret").write_text(ZENDESK_SECRET + "\n")
    (tmp_path / "wrong.secret").write_text("not-the-secret\n")
    (tmp_path / "jira.secret").write_text(JIRA_TOKEN + "\n")
    with served(emulators) as urls:
        doc = yaml.safe_load(CONTRACT_POLICY)
        doc["instances"] = {name: settings(name, urls[name], tmp_path) for name in NAMES}
        doc["run"] = {"state_dir": "state"}
        config = tmp_path / "escalate.yaml"
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        result = invoke(capsys, time, "run", "-c", config, "--jobs", "4")
    assert result.code == 2, result.out + result.err
    summary = result.out.splitlines()
    assert [line.split(" ", 1)[0] for line in summary] == list(NAMES)
    assert summary[2].startswith("zd-refused (zendesk): aborted:") and "401" in summary[2]
    for line in (summary[0], summary[1], summary[3]):
        assert "fetched 3, matched 3, 3 to change, applied 3, unchanged 0, failed 0" in line
    assert ZENDESK_SECRET not in result.out + result.err and JIRA_TOKEN not in result.err
    for name in ("zd-b", "zd-refused"):
        emulator = emulators[name]
        assert isinstance(emulator, ZendeskEmulator)
        written = [c for t in tickets[name] for c in emulator.comments[int(t)][1:]]
        assert len(written) == (0 if name == "zd-refused" else 6)  # a note and a reply each
    for name in ("jira-a", "jira-c"):
        emulator = emulators[name]
        assert isinstance(emulator, JiraEmulator)
        level = emulator.field_id("Escalation level")
        assert all(emulator.issues[key].fields.get(level) == "L2" for key in tickets[name])
