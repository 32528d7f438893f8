"""`escalate run` through the real CLI against emulated platforms over HTTP: what needs the
platforms' own answers (credentials refused, secrets, a token that must not leak, Jira's edit
screens read once by concurrent writers). The runner itself is tested on in-memory platforms
(tests/connector/test_runner.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import JIRA_TOKEN, ZENDESK_SECRET, Platforms, platforms


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def zendesk_notes(p: Platforms, tid: str) -> list[tuple[bool, str]]:
    """(public, body) of the comments the connector's account wrote."""
    return [
        (c["public"], c["body"])
        for c in p.zendesk.comments[int(tid)]
        if c["author_id"] == p.zendesk.me
    ]


def jira_level(p: Platforms, key: str) -> object:
    return p.jira.issues[key].fields.get(p.jira.field_id("Escalation level"))


def audit(p: Platforms) -> list[dict[str, object]]:
    path = p.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bad_credentials_exit_2_and_write_nothing(p: Platforms) -> None:
    zd = p.p1(1)
    config = p.config()
    (p.tmp / "zendesk.secret").write_text("wrong-secret\n")
    result = p.invoke("run", "-c", config, "--instance", "zendesk")
    assert result.code == 2
    assert "zendesk (zendesk): aborted:" in result.out and "401" in result.out
    assert zendesk_notes(p, zd[0]) == []


def test_a_missing_secret_stops_before_any_request(p: Platforms) -> None:
    p.p1(1)
    config = p.config()
    (p.tmp / "jira.secret").unlink()
    result = p.invoke("run", "-c", config)
    assert result.code == 2
    assert "jira.secret" in result.err and "cannot read" in result.err
    assert not p.zendesk.log and not p.jira.log


def test_the_audit_log_holds_no_secret(p: Platforms) -> None:
    p.p1(2)
    p.p1(1, "jira")
    result = p.invoke("run", "-c", p.config())
    assert result.code == 0, result.err
    assert [r["event"] for r in audit(p)].count("write") == 3
    text = (p.state / "audit.jsonl").read_text()
    assert ZENDESK_SECRET not in text and JIRA_TOKEN not in text
    assert "zd-token-" not in text  # the OAuth access token obtained at run time


def test_concurrent_writers_read_a_projects_edit_screen_once(p: Platforms) -> None:
    p.p1(12, "jira")
    result = p.invoke("run", "-c", p.config(concurrency=8), "--instance", "jira")
    assert result.code == 0, result.err
    assert len(p.jira.requests("GET", "/editmeta")) == 1
