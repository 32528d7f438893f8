"""`--format json` on `run`, `apply`, `doctor` and `setup`: the documented shapes (docs/cli.md,
"JSON output"), parsed as a script would, with nothing else on stdout and no secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connector.platforms import JIRA_TOKEN, ZENDESK_SECRET, Platforms, platforms

INSTANCE_KEYS = [
    "platform",
    "outcome",
    "error",
    "fetched",
    "matched",
    "changes",
    "applied",
    "unchanged",
    "failed",
    "comments_dropped",
    "comments_owed",
    "owed_from_earlier",
    "skipped",
    "stale",
    "requests",
    "seconds",
    "warnings",
    "read",
    "read_why",
    "narrowed",
    "notices",
    "kinds",
    "failures",
]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        found.jira.api_tokens["bot@example.com"] = JIRA_TOKEN
        yield found


def parse(out: str) -> Any:
    assert ZENDESK_SECRET not in out and JIRA_TOKEN not in out
    return json.loads(out)  # the whole of stdout is the one document


def test_run_json(p: Platforms) -> None:
    p.p1(2)
    p.p1(1, "jira")
    dry = parse(p.invoke("run", "-c", p.config(), "--dry-run", "--format", "json").out)
    assert list(dry) == ["format", "command", "dry_run", "exit_code", "instances"]
    assert dry["format"] == 1 and dry["command"] == "run" and dry["dry_run"] is True
    assert list(dry["instances"]) == ["zendesk", "jira"]
    zendesk = dry["instances"]["zendesk"]
    assert list(zendesk) == INSTANCE_KEYS
    assert zendesk["outcome"] == "dry-run" and zendesk["changes"] == 2
    assert zendesk["kinds"] == {"escalated": 2} and zendesk["applied"] == 0
    p.zendesk.fail("PUT", r"/tickets/", 422, times=100)
    result = p.invoke("run", "-c", p.config(), "--format", "json")
    assert result.code == 1
    done = parse(result.out)
    assert done["dry_run"] is False and done["exit_code"] == 1
    assert done["instances"]["jira"]["applied"] == 1
    failures = done["instances"]["zendesk"]["failures"]
    assert len(failures) == 2 and set(failures[0]) == {"ticket", "message"}


def test_run_json_with_loop_is_one_line_per_run(p: Platforms) -> None:
    """JSON Lines: each run's object on a line of its own, for a log shipper."""
    p.p1(1)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt  # Ctrl-C while waiting for the third run
        p.time.now += seconds

    p.time.sleep = sleep  # type: ignore[method-assign]
    config = p.config()
    result = p.invoke("run", "-c", config, "--instance", "zendesk", "--loop", "--format", "json")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [json.loads(line)["instances"]["zendesk"]["applied"] for line in lines] == [1, 0]


def test_apply_json_says_when_the_plan_was_already_applied(p: Platforms) -> None:
    p.p1(2)
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", p.config(), "--instance", "zendesk", "--out", out)
    first = parse(p.invoke("apply", out, "--format", "json").out)
    assert list(first) == ["format", "command", "plan", "exit_code", "already_applied", "instances"]
    assert first["command"] == "apply" and first["plan"] == str(out)
    assert first["already_applied"] is False
    zendesk = first["instances"]["zendesk"]
    assert list(zendesk) == [*INSTANCE_KEYS, "already_applied", "stale_tickets"]
    assert zendesk["applied"] == 2 and zendesk["stale_tickets"] == []
    again = parse(p.invoke("apply", out, "--format", "json").out)
    assert again["already_applied"] is True and again["exit_code"] == 0
    assert again["instances"]["zendesk"]["already_applied"] is True
    assert again["instances"]["zendesk"]["unchanged"] == 2


def test_doctor_json(p: Platforms) -> None:
    del p.zendesk.fields[p.zendesk.field_id("SLA due")]
    result = p.invoke("doctor", "-c", p.config(), "--format", "json")
    assert result.code == 1
    doc = parse(result.out)
    assert list(doc) == ["format", "command", "exit_code", "problems", "instances"]
    assert doc["exit_code"] == 1 and doc["problems"] == 1
    zendesk, jira = doc["instances"]["zendesk"], doc["instances"]["jira"]
    assert list(zendesk) == ["platform", "url", "ok", "checks"]
    assert zendesk["url"] == p.urls["zendesk"] and zendesk["ok"] is False and jira["ok"] is True
    fields = next(c for c in zendesk["checks"] if c["name"] == "fields")
    assert fields["ok"] is False and "'SLA due': missing" in fields["detail"]
    assert all(set(c) == {"name", "ok", "detail"} for c in jira["checks"])


def test_doctor_fails_the_check_of_a_secret_it_cannot_read_and_checks_the_rest(
    p: Platforms,
) -> None:
    """A new admin's first doctor, with one secret not set yet: that instance's check fails
    (exit 1, as a notice channel's secret does), and the other instance is still checked."""
    config = p.config()
    (p.tmp / "zendesk.secret").unlink()
    result = p.invoke("doctor", "-c", config, "--format", "json")
    assert result.code == 1, result.err
    doc = parse(result.out)
    zendesk, jira = doc["instances"]["zendesk"], doc["instances"]["jira"]
    [secret] = zendesk["checks"]
    assert secret["name"] == "secret" and not secret["ok"] and "zendesk.secret" in secret["detail"]
    assert jira["ok"] is True and len(jira["checks"]) > 3
    assert doc["problems"] == 1 and "Traceback" not in result.err
    assert p.invoke("run", "-c", config).code == 2  # a run still reads every secret first


def test_setup_json_shows_the_plan_and_creates_only_with_yes(p: Platforms) -> None:
    del p.zendesk.fields[p.zendesk.field_id("SLA due")]
    config = p.config()
    unasked = p.invoke("setup", "-c", config, "--instance", "zendesk", "--format", "json")
    assert unasked.code == 2 and "re-run with --yes" in unasked.err
    doc = parse(unasked.out)
    assert list(doc) == ["format", "command", "exit_code", "confirmed", "problems", "instances"]
    assert doc["confirmed"] is False and doc["exit_code"] == 2
    zendesk = doc["instances"]["zendesk"]
    assert list(zendesk) == [
        "platform",
        "url",
        "adopt",
        "leave_out",
        "cannot_fix",
        "queue",
        "create",
        "done",
    ]
    sla = next(s for s in zendesk["create"] if s["title"] == "SLA due")
    assert sla["what"] == "field" and sla["request"]["method"] == "POST"
    assert any(a["title"] == "Escalation level" for a in zendesk["adopt"])
    assert zendesk["done"] == []
    assert not [f for f in p.zendesk.fields.values() if f["title"] == "SLA due"]
    made = parse(
        p.invoke("setup", "-c", config, "--instance", "zendesk", "--format", "json", "--yes").out
    )
    assert made["confirmed"] is True and made["exit_code"] == 0
    created = {d["title"]: d for d in made["instances"]["zendesk"]["done"]}
    assert created["SLA due"]["id"] is not None and created["SLA due"]["problem"] is None
    assert [f["type"] for f in p.zendesk.fields.values() if f["title"] == "SLA due"] == ["text"]


def test_setup_json_with_nothing_to_create_exits_0_unasked(p: Platforms) -> None:
    config = p.config()
    p.invoke("setup", "-c", config, "--instance", "zendesk", "--yes")
    result = p.invoke("setup", "-c", config, "--instance", "zendesk", "--format", "json")
    assert result.code == 0, result.err
    doc = parse(result.out)
    assert doc["confirmed"] is False and doc["exit_code"] == 0 and doc["problems"] == 0
    zendesk = doc["instances"]["zendesk"]
    assert zendesk["create"] == [] and zendesk["done"] == []
    assert zendesk["queue"]["title"] == "Escalated tickets" and zendesk["queue"]["id"]
