"""`escalate plan` and `escalate apply`: the documented JSON, exact application, stale refusal."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.lock import InstanceLock
from connector.planfile import change_lines
from rules.plan import Diff, TicketChange
from rules.policy import load_policy
from tests.connector.platforms import JIRA_TOKEN, ZENDESK_SECRET, Platforms, platforms
from tests.connector.test_run import jira_level, zendesk_notes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def test_plan_json_is_the_documented_shape_and_writes_nothing(p: Platforms) -> None:
    zd, keys = p.p1(2), p.p1(1, "jira")
    result = p.invoke("plan", "-c", p.config(), "--format", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert list(plan) == [
        "format",
        "generated_at",
        "config",
        "policy_hash",
        "instances",
        "changes",
        "summary",
    ]
    assert plan["generated_at"] == "2026-03-02T10:00:00Z"
    assert plan["summary"]["changed"] == 3
    assert plan["summary"]["escalations_by_level"] == {"L2": 3}
    assert plan["instances"]["zendesk"]["fetched"] == 2
    change = next(c for c in plan["changes"] if c["ticket"] == keys[0])
    assert {"instance", "ticket", "url", "level", "actions", "reasons", "ticket_updated_at"} <= set(
        change
    )
    assert change["level"] == {"from": "L1", "to": "L2"}
    types = [a["type"] for a in change["actions"]]
    assert types[:2] == ["set_level", "set_group"] and "internal_note" in types
    assert all(zendesk_notes(p, tid) == [] for tid in zd)
    assert jira_level(p, keys[0]) is None
    assert ZENDESK_SECRET not in result.out and JIRA_TOKEN not in result.out


def test_plan_text_shows_diffs_comments_and_reasons(p: Platforms) -> None:
    (tid,) = p.p1(1)
    result = p.invoke("plan", "-c", p.config(), "--instance", "zendesk")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    # The summary first (it is what a plan of hundreds of lines is read for), then the details.
    assert lines[0].startswith("zendesk (zendesk): fetched 1, matched 1, 1 to change")
    assert lines[1:4] == [
        "  1 change: 1 escalated",
        "",
        f"zendesk {tid}  L1 -> L2  {p.urls['zendesk']}/agent/tickets/{tid}",
    ]
    assert f"zendesk {tid}  L1 -> L2" in result.out
    assert "  group: Support L1 -> Support L2" in result.out
    assert "  internal note:\n    | Escalated Printer on fire" in result.out
    assert "  why: p1-to-l2: priority is P1 (wants in [P1])" in result.out


def test_apply_writes_exactly_the_plan(p: Platforms) -> None:
    zd, keys = p.p1(2), p.p1(1, "jira")
    out = p.tmp / "plan.json"
    made = p.invoke("plan", "-c", p.config(), "--out", out)
    assert made.code == 0 and f"apply it with: escalate apply {out}" in made.out
    p.time.now += 300
    applied = p.invoke("apply", out)
    assert applied.code == 0, applied.err
    assert "zendesk (zendesk): fetched 0, matched 0, 2 to change, applied 2" in applied.out
    for tid in zd:
        assert zendesk_notes(p, tid) == [
            (False, "Escalated Printer on fire"),
            (True, "We are on it"),
        ]
        # The plan's values, not a re-evaluation 5 minutes later.
        assert p.zendesk.field_value(int(tid), "Escalated at") == "2026-03-02T10:00:00Z"
    assert jira_level(p, keys[0]) == "L2"
    again = p.invoke("apply", out)
    assert again.code == 0, again.err
    lines = again.out.splitlines()
    assert lines[0].startswith(
        "zendesk (zendesk): already applied: the plan's 2 changes are on their tickets,"
        " nothing written; "
    )
    assert lines[1].startswith(
        "jira (jira): already applied: the plan's 1 change is on its ticket, nothing written"
    )
    assert lines[2:] == [f"{out} was already applied: nothing written"]
    assert "unchanged" not in again.out
    assert all(len(zendesk_notes(p, tid)) == 2 for tid in zd)
    assert len(p.jira.issues[keys[0]].comments) == 2


def test_plan_with_out_says_where_the_plan_is_after_the_details(p: Platforms) -> None:
    p.p1(2)
    out = p.tmp / "plan.json"
    result = p.invoke("plan", "-c", p.config(), "--out", out)
    lines = result.out.splitlines()
    assert lines[0].startswith("zendesk (zendesk): fetched 2, matched 2, 2 to change")
    assert lines[1] == "  2 changes: 2 escalated"
    assert lines[2].startswith("jira (jira): fetched 0, matched 0, 0 to change")
    assert lines[-1] == f"plan written to {out}; apply it with: escalate apply {out}"
    quiet = p.invoke("plan", "-c", p.config(), "--out", out, "--format", "json")
    assert quiet.out.splitlines()[1:] == [
        "  2 changes: 2 escalated",
        lines[2],
        f"plan written to {out}; apply it with: escalate apply {out}",
    ]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_plan_detailed_exitcode_is_terraforms(p: Platforms, fmt: str) -> None:
    """0 no changes, 2 changes pending, 1 any error: a configuration error (2 without the
    flag) and an instance that could not be read (1) alike."""
    config = p.config()
    plan = ("plan", "-c", config, "--format", fmt, "--detailed-exitcode")
    assert p.invoke(*plan).code == 0
    assert p.invoke("plan", "-c", config, "--format", fmt).code == 0
    p.p1(1)
    assert p.invoke(*plan).code == 2
    assert p.invoke("plan", "-c", config, "--format", fmt).code == 0
    broken = p.tmp / "broken.yaml"
    broken.write_text("levels: [\n")
    failed = p.invoke("plan", "-c", broken, "--format", fmt, "--detailed-exitcode")
    assert failed.code == 1 and "error:" in failed.err
    assert p.invoke("plan", "-c", broken).code == 2
    unknown = p.invoke(*plan, "--instance", "nowhere")
    assert unknown.code == 1 and "unknown instance 'nowhere'" in unknown.err
    p.zendesk.fail("GET", r"/search/export", 500, times=100)
    aborted = p.invoke(*plan)
    assert aborted.code == 1


def test_the_plan_file_is_readable_by_its_owner_only(p: Platforms) -> None:
    """It holds ticket titles, customer names and comment text: mode 0600 whatever the umask,
    and an existing file with a looser mode is tightened when the plan is written over it."""
    p.p1(1)
    out = p.tmp / "plan.json"
    out.write_text("{}")
    out.chmod(0o644)
    old = os.umask(0o022)
    try:
        assert p.invoke("plan", "-c", p.config(), "--out", out).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["changes"]
    fresh = p.tmp / "fresh.json"
    assert p.invoke("plan", "-c", p.config(), "--out", fresh, "--format", "json").code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_apply_refuses_tickets_updated_since_the_plan(p: Platforms) -> None:
    zd, keys = p.p1(2), p.p1(2, "jira")
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", p.config(), "--out", out)
    p.time.now += 60
    p.zendesk.agent_edit(int(zd[0]), {"priority": "low"})
    p.jira.edit(keys[1], priority="Low")
    result = p.invoke("apply", out)
    assert result.code == 1
    assert f"zendesk {zd[0]}: refused, updated since the plan was made" in result.out
    assert f"jira {keys[1]}: refused, updated since the plan was made" in result.out
    assert p.zendesk.tickets[int(zd[0])]["priority"] == "low"  # the agent's edit stands
    assert zendesk_notes(p, zd[0]) == []
    assert p.jira.issues[keys[1]].fields["priority"]["name"] == "Low"
    assert jira_level(p, keys[1]) is None
    assert p.zendesk.field_value(int(zd[1]), "Escalation level") == "L2"
    assert jira_level(p, keys[0]) == "L2"


def test_apply_refuses_a_plan_made_with_another_policy(p: Platforms) -> None:
    p.p1(1)
    config = p.config()
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", config, "--out", out)
    config.write_text(config.read_text().replace("We are on it", "We are on it!"))
    result = p.invoke("apply", out)
    assert result.code == 2
    assert "was made with policy" in result.err and "make a new plan" in result.err
    assert not any(method == "PUT" for method, _ in p.zendesk.log)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda plan: plan.pop("policy_hash"), "the plan has no 'policy_hash'"),
        (
            lambda plan: plan["changes"][0].pop("ticket_updated_at"),
            "changes[0] (ticket zendesk/{tid}): missing key 'ticket_updated_at'",
        ),
        (
            lambda plan: plan["changes"][0]["actions"].append({"type": "explode"}),
            "changes[0] (ticket zendesk/{tid}): unknown action type 'explode'",
        ),
        (lambda plan: plan.update(format=9), "not a plan written by `escalate plan"),
    ],
)
def test_a_malformed_plan_is_refused_naming_the_record(
    p: Platforms, edit: object, message: str
) -> None:
    (tid,) = p.p1(1)
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", p.config(), "--out", out)
    plan = json.loads(out.read_text())
    edit(plan)  # type: ignore[operator]
    out.write_text(json.dumps(plan))
    result = p.invoke("apply", out)
    assert result.code == 2
    assert message.format(tid=tid) in result.err
    assert not any(method == "PUT" for method, _ in p.zendesk.log)


def test_apply_of_a_plan_that_is_not_json(p: Platforms) -> None:
    out = p.tmp / "plan.json"
    out.write_text("{not json")
    result = p.invoke("apply", out)
    assert result.code == 2 and "plan.json:1: not valid JSON" in result.err


def test_apply_on_a_locked_instance_is_not_done(p: Platforms) -> None:
    p.p1(1)
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", p.config(), "--instance", "zendesk", "--out", out)
    with InstanceLock(p.state, "zendesk"):
        result = p.invoke("apply", out)
    assert result.code == 1
    assert "zendesk (zendesk): locked:" in result.out


def test_apply_twice_with_optional_tracking_fields_unmapped(p: Platforms) -> None:
    """Only `level` and `state` must be mapped: the second apply recognises its own write by
    them, not by fields the instance does not store."""
    zd = p.p1(2)
    config = p.config(unmapped=("rule", "escalated_at", "count", "sla_due"))
    out = p.tmp / "plan.json"
    p.invoke("plan", "-c", config, "--instance", "zendesk", "--out", out)
    assert p.invoke("apply", out).code == 0
    again = p.invoke("apply", out)
    assert again.code == 0, again.out
    assert "already applied: the plan's 2 changes are on their tickets" in again.out
    assert "refused" not in again.out
    assert all(len(zendesk_notes(p, tid)) == 2 for tid in zd)


def test_a_plan_keeps_no_change_of_an_instance_whose_read_failed(p: Platforms) -> None:
    p.p1(5)
    keys = p.p1(1, "jira")
    p.zendesk.fail("GET", r"/search/export", 500, times=100, when=lambda q: "page[after]" in q)
    out = p.tmp / "plan.json"
    result = p.invoke("plan", "-c", p.config(zendesk={"page_size": 2}), "--out", out)
    assert result.code == 1
    assert "zendesk (zendesk): aborted:" in result.out
    assert "zendesk 10" not in result.out  # no partial text plan either
    plan = json.loads(out.read_text())
    assert plan["instances"]["zendesk"]["outcome"] == "aborted"
    assert [c["ticket"] for c in plan["changes"]] == keys


def test_plan_text_names_priorities_as_the_platform_does() -> None:
    """The policy's neutral names, and the platform's own in brackets where they differ (the
    example maps Zendesk's "high" to P2); the JSON plan stays neutral."""
    policy = load_policy((ROOT / "config.example.yaml").read_text(encoding="utf-8"), "ex.yaml")
    base = {
        "instance": "zendesk-prod",
        "ticket": "7",
        "url": "https://acme.zendesk.com/agent/tickets/7",
        "ticket_updated_at": datetime(2026, 11, 20, tzinfo=UTC),
        "level_from": "L1",
        "level_to": "L2",
        "priority": Diff("P3", "P2"),
    }
    zendesk = TicketChange(platform="zendesk", **base)
    assert "  priority: P3 (normal) -> P2 (high)" in change_lines(zendesk, policy)
    unmapped = TicketChange(platform="other", **{**base, "priority": Diff(None, "P2")})
    assert "  priority: - -> P2" in change_lines(unmapped, policy)
    assert zendesk.to_json()["actions"][1] == {"type": "set_priority", "from": "P3", "to": "P2"}


def test_run_dry_run_says_what_the_changes_are_under_each_summary(p: Platforms) -> None:
    p.p1(2)
    result = p.invoke("run", "-c", p.config(), "--dry-run")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("zendesk (zendesk): fetched 2, matched 2, 2 to change, skipped 0")
    assert lines[1] == "  2 changes: 2 escalated"
    assert lines[2].startswith("jira (jira): fetched 0")
    assert len(lines) == 3
