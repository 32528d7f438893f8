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


def test_jira_writes_cost_at_most_2_05_requests_per_change(jp: Platforms) -> None:
    """Counted from the emulator's log: what the run sent beyond what a dry run of the same
    tickets sends (the search, the field catalog) is the writes' cost: per change an edit, a
    JSM note, and a share of the bulk re-reads, the edit screen and our own account."""
    changes = 150
    jp.p1(changes, "jira")
    config = jp.config(concurrency=4)
    dry = jp.invoke("run", "-c", config, "--instance", "jira", "--dry-run")
    assert dry.code == 0, dry.err
    read = len(jp.jira.log)
    result = jp.invoke("run", "-c", config, "--instance", "jira", "--force")
    assert result.code == 0, result.err
    run = jp.jira.log[read:]
    counts = [e["requests"] for e in finished(jp)]
    assert counts == [read, len(run)]  # the connector's own count agrees with the log's
    assert len([r for r in run if r.method == "PUT"]) == changes
    assert len([r for r in run if r.method == "POST" and r.path.endswith("/comment")]) == changes
    singles = [r for r in run if r.method == "GET" and r.path.count("/") == 5]
    assert singles == []  # no GET /issue/{key}: the re-reads went in bulk
    per_change = (len(run) - read) / changes
    assert per_change <= 2.05, per_change


def test_jira_rereads_see_an_edit_made_after_the_search(jp: Platforms) -> None:
    keys = jp.p1(30, "jira")
    edited = keys[17]

    def person() -> None:  # after the run's search, before its writes
        jp.jira.edit(edited, priority="Medium")

    jp.jira.conflict(edited, person)
    result = jp.invoke("run", "-c", jp.config(concurrency=4), "--instance", "jira")
    assert result.code == 0, result.err
    assert jp.jira.requests("PUT", f"/issue/{edited}") == []
    assert len(jp.jira.requests("PUT")) == 29
    level = jp.jira.field_id("Escalation level")
    assert jp.jira.issues[edited].fields.get(level) in (None, "", "L1")
