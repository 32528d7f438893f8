"""`escalate report`: figures from a real run's audit log and the live tickets (emulated
platforms over HTTP), and from hand-written audit logs whose answers are worked out below."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.connector.platforms import NOW, Platforms, platforms

HOUR = 3600.0
# The contract's two levels, plus a resolution target of 1 hour for P1 and 8 hours otherwise.
SLA = {
    "sla": [
        {"name": "p1", "match": {"priority": "P1"}, "targets": {"resolution": "1h"}},
        {"name": "rest", "targets": {"resolution": "8h"}},
    ]
}


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def with_sla(path: Path, *, l3: bool = False) -> Path:
    doc = yaml.safe_load(path.read_text())
    doc.update(SLA)
    if l3:
        doc["levels"].append({"name": "L3", "owner": {"group": "Support L3"}})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_report_after_a_run_counts_escalations_rate_and_sla_from_audit_and_live(
    p: Platforms,
) -> None:
    # Two hours before NOW: 3 Zendesk P1 (one of Acme's), 1 Zendesk P3, 2 Jira P1.
    p.time.now = NOW - 2 * HOUR
    acme = p.zendesk.add_organization("Acme")
    zd = [p.zendesk.add_ticket(priority="urgent", group="Support L1") for _ in range(2)]
    zd.append(p.zendesk.add_ticket(priority="urgent", group="Support L1", organization=acme))
    p.zendesk.add_ticket(priority="normal", group="Support L1")
    p.p1(2, "jira")
    p.time.now = NOW
    config = with_sla(p.config())
    assert p.invoke("run", "-c", config).code == 0
    p.time.now = NOW + HOUR

    result = p.invoke("report", "-c", config, "--format", "json")
    assert result.code == 0, result.err
    fig = json.loads(result.out)
    totals = fig["totals"]
    assert totals["escalations"] == 5
    assert totals["tickets_escalated"] == 5
    assert (totals["open_now"], totals["escalated_now"]) == (6, 5)
    # One definition: escalated in the window / open at some time in it (the histories).
    assert (totals["tickets"], totals["escalation_rate"]) == (6, round(5 / 6, 4))
    # Created 2 h before the run that escalated them.
    assert totals["time_to_escalate"] == {"count": 5, "median_s": 2 * HOUR, "p90_s": 2 * HOUR}
    assert totals["internal_notes"] == 5 and totals["public_replies"] == 5
    l2 = next(r for r in fig["levels"] if r["level"] == "L2")
    assert l2["entered"] == 5 and l2["open_now"] == 5
    assert l2["open_for"]["median_s"] == HOUR  # escalated at NOW, read at NOW + 1 h
    # P1 resolution (1 h) is breached on all five; the P3's 8 h clock still runs (3 h used).
    assert fig["sla"]["resolution"] == {"met": 0, "breached": 5, "running": 1, "attainment": 0.0}
    by_priority = {r["key"]: r for r in fig["by"]["priority"]}
    assert by_priority["P1"]["escalations"] == 5 and by_priority["P1"]["sla_breached"] == 5
    assert by_priority["P3"]["open_now"] == 1 and by_priority["P3"]["escalations"] == 0
    by_team = {r["key"]: r for r in fig["by"]["team"]}
    # The owner: the team before the first escalation; the Jira issues had none. The rate's
    # two halves are counted on the same team.
    assert by_team["Support L1"]["escalations"] == 3 and by_team["(none)"]["escalations"] == 2
    assert (
        by_team["Support L1"]["tickets"] == 4 and by_team["Support L1"]["escalation_rate"] == 0.75
    )
    assert [r["key"] for r in fig["by"]["priority"]] == ["P1", "P3"]
    assert {r["key"] for r in fig["by"]["rule"] if r["escalations"]} == {"p1-to-l2"}
    assert fig["scope"]["instances"] == ["jira", "zendesk"]
    assert fig["failed_writes"]["writes"] == 0
    day = next(d for d in fig["trend"]["rows"] if d["escalations"])
    assert day["tickets"] == 6 and day["escalation_rate"] == round(5 / 6, 4)
    assert fig["trend"]["bucket"] == "day"
    jira = {r["instance"]: r for r in totals["escalated_tickets"]}["jira"]
    assert jira["url"] == f"{p.urls['jira']}/browse/{jira['ticket']}"
    zendesk = {r["instance"]: r for r in totals["escalated_tickets"]}["zendesk"]
    assert zendesk["url"].endswith(f"/agent/tickets/{zendesk['ticket']}")

    shared = p.invoke("report", "-c", config, "--organization", "acme", "--format", "json")
    org = json.loads(shared.out)
    assert org["totals"]["escalations"] == 1 and org["totals"]["open_now"] == 1
    assert org["scope"] == {"organization": "acme", "live": True, "tickets": 1}
    assert "data" not in org and "organization" not in org["by"]
    assert "messages" not in org["failed_writes"]
    assert "jira" not in shared.out and "zendesk" not in shared.out
    assert shared.err.count("no ticket of organisation") == 0
    typo = p.invoke("report", "-c", config, "--organization", "acmee", "--format", "json")
    assert typo.code == 0 and json.loads(typo.out)["scope"]["tickets"] == 0
    assert "warning: no ticket of organisation 'acmee' in the window" in typo.err


def test_report_says_which_instance_it_could_not_read_and_exits_1(p: Platforms) -> None:
    p.p1(1)
    config = with_sla(p.config())
    assert p.invoke("run", "-c", config).code == 0
    p.jira.api_tokens["bot@example.com"] = "the-right-token"  # ours is refused now
    result = p.invoke("report", "-c", config)
    assert result.code == 1
    assert "the live tickets of jira could not be read" in result.err
    assert "escalations written   1 on 1 tickets" in result.out


def test_report_offline_without_an_audit_log_is_a_usage_error(p: Platforms) -> None:
    config = p.config()
    result = p.invoke("report", "-c", config, "--no-live")
    assert result.code == 2
    assert "no audit log at" in result.err and "--no-live" in result.err


@pytest.mark.parametrize("since", ["yesterday", "2099-01-01", "30"])
def test_a_bad_since_names_the_option(p: Platforms, since: str) -> None:
    result = p.invoke("report", "-c", p.config(), "--no-live", "--since", since)
    assert result.code == 2
    assert "--since" in result.err


# --- hand-written audit logs -------------------------------------------------------------


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def line(at: float, event: str, **fields: Any) -> str:
    return json.dumps({"ts": stamp(at), "v": 1, "run": "r", "event": event, **fields})


def about(created: float, **extra: Any) -> dict[str, Any]:
    base = {
        "priority": "P2",
        "type": "incident",
        "team": "Support L1",
        "organization": "Initech",
        "created_at": stamp(created),
        "status": "open",
        "reopens": 0,
        "level": "L1",
        "sla": {},
    }
    return base | extra


def escalation(at: float, ticket: str, source: str, target: str, rule: str, **ab: Any) -> list[str]:
    actions = [{"type": "set_level", "from": source, "to": target}]
    actions.append({"type": "internal_note", "body": "handoff", "notify": []})
    return [
        line(at, "decision", instance="zd", ticket=ticket, actions=actions, about=ab["about"]),
        line(
            at + 1,
            "write",
            instance="zd",
            ticket=ticket,
            status="applied",
            message="",
            level={"from": source, "to": target},
            rules=[rule],
        ),
    ]


T0 = NOW - 10 * 86400  # ten days before the report


def history() -> list[str]:
    """Ticket A: created T0, L1 -> L2 at T0+1h (rule slow), L2 -> L3 at T0+5h (rule stuck),
    then reopened (a later look sees 1 reopen), resolution breached.
    Ticket B (Umbrella, P1): created T0+1h, L1 -> L2 at T0+4h, resolution met; two failed
    writes with one message. One torn line, one line from before the window."""
    a0 = about(T0, sla={"resolution": "running"})
    b0 = about(T0 + HOUR, priority="P1", organization="Umbrella", sla={"resolution": "running"})
    lines = [
        line(T0 - 40 * 86400, "write", instance="zd", ticket="OLD", status="failed", message="x"),
        line(T0, "run_started", command="run"),
        *escalation(T0 + HOUR, "A", "L1", "L2", "slow", about=a0),
        *escalation(T0 + 4 * HOUR, "B", "L1", "L2", "slow", about=b0),
        *escalation(T0 + 5 * HOUR, "A", "L2", "L3", "stuck", about=a0 | {"level": "L2"}),
        '{"ts": "2026-02-20T10:00:00Z", "event": "decis',
        line(
            T0 + 6 * HOUR,
            "decision",
            instance="zd",
            ticket="A",
            actions=[],
            about=a0 | {"reopens": 1, "level": "L3", "sla": {"resolution": "breached"}},
        ),
        line(
            T0 + 7 * HOUR,
            "decision",
            instance="zd",
            ticket="B",
            actions=[],
            about=b0 | {"status": "solved", "level": "L2", "sla": {"resolution": "met"}},
        ),
    ]
    for at in (T0 + 8 * HOUR, T0 + 9 * HOUR):
        lines.append(
            line(at, "write", instance="zd", ticket="B", status="failed", message="HTTP 422 x")
        )
    lines.append(line(T0 + 9 * HOUR, "instance_finished", instance="zd", outcome="ok", fetched=40))
    return lines


def report(p: Platforms, log: Path, *args: str) -> dict[str, Any]:
    config = with_sla(p.config(), l3=True)
    result = p.invoke(
        "report", "-c", config, "--no-live", "--audit", log, "--format", "json", *args
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_figures_from_a_hand_written_audit_log(p: Platforms) -> None:
    log = p.tmp / "audit.jsonl"
    log.write_text("\n".join(history()) + "\n")
    fig = report(p, log)
    t = fig["totals"]
    assert (t["escalations"], t["tickets_escalated"], t["de_escalations"]) == (3, 2, 0)
    # Offline the population is unknown: no rate anywhere (not a second definition).
    assert t["open_now"] is None and t["tickets"] is None and t["escalation_rate"] is None
    # A: created T0, escalated T0+1h+1s; B: created T0+1h, escalated T0+4h+1s.
    assert t["time_to_escalate"]["count"] == 2
    assert t["time_to_escalate"]["median_s"] == (HOUR + 1 + 3 * HOUR + 1) / 2
    assert t["reopened_after_escalation"] == 1 and t["reopen_rate"] == 0.5
    levels = {r["level"]: r for r in fig["levels"]}
    assert levels["L2"]["entered"] == 2 and levels["L3"]["entered"] == 1
    assert levels["L2"]["time_in_level"]["count"] == 1  # A left L2 after exactly 4 h
    assert levels["L2"]["time_in_level"]["median_s"] == 4 * HOUR
    assert fig["sla"]["resolution"] == {"met": 1, "breached": 1, "running": 0, "attainment": 0.5}
    rules = {r["key"]: r for r in fig["by"]["rule"]}
    assert (rules["slow"]["escalations"], rules["stuck"]["escalations"]) == (2, 1)
    orgs = {r["key"]: r for r in fig["by"]["organization"]}
    assert orgs["Umbrella"]["sla_attainment"] == 1.0 and orgs["Initech"]["sla_attainment"] == 0.0
    assert fig["failed_writes"]["writes"] == 2 and fig["failed_writes"]["tickets"] == 1
    assert fig["failed_writes"]["messages"] == [{"message": "HTTP 422 x", "count": 2}]
    assert fig["data"]["bad_lines"] == 1  # the torn line; the old one is only out of window
    assert fig["data"]["audit_lines"] == 12
    day = next(d for d in fig["trend"]["rows"] if d["escalations"])
    assert (day["escalations"], day["tickets_escalated"], day["escalation_rate"]) == (3, 2, None)
    assert (day["sla_met"], day["sla_breached"]) == (1, 1)  # decided by the looks that day

    umbrella = report(p, log, "--organization", "Umbrella")
    assert umbrella["totals"]["escalations"] == 1
    assert umbrella["failed_writes"] == {
        "writes": 2,
        "tickets": 1,
        "comments_dropped": 0,
        "failed_tickets": [{"ticket": "B"}],  # no instance, no address: the client's view
    }
    assert all("url" not in r for r in umbrella["totals"]["escalated_tickets"])  # no addresses


def test_rotated_and_gzipped_audit_logs_are_read_by_default(p: Platforms) -> None:
    lines = history()
    p.state.mkdir()
    (p.state / "audit.jsonl.1.gz").write_bytes(
        gzip.compress(("\n".join(lines[:5]) + "\n").encode())
    )
    (p.state / "audit.jsonl").write_text("\n".join(lines[5:]) + "\n")
    config = with_sla(p.config(), l3=True)
    result = p.invoke("report", "-c", config, "--no-live", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["totals"]["escalations"] == 3


def test_text_csv_and_html_show_the_same_figures(p: Platforms) -> None:
    log = p.tmp / "audit.jsonl"
    log.write_text("\n".join(history()) + "\n")
    base = ["report", "-c", with_sla(p.config(), l3=True), "--no-live", "--audit", log]
    out = p.invoke(*base).out
    assert "escalations written   3 on 2 tickets (0 de-escalations)" in out
    assert "after escalation      0 de-escalated, 1 reopened, of 2 escalated tickets" in out
    assert "resolution  1    1         0        50.0%" in out
    rows = list(csv.reader(io.StringIO(p.invoke(*base, "--format", "csv").out)))
    assert rows[0] == ["section", "group", "key", "metric", "value"]
    assert ["totals", "", "", "escalations", "3"] in rows
    assert ["by", "rule", "slow", "escalations", "2"] in rows
    assert ["totals", "", "", "time_to_escalate.count", "2"] in rows
    target = p.tmp / "report.html"
    result = p.invoke(*base, "--format", "html", "--out", target)
    assert result.code == 0 and f"report written to {target}" in result.err
    page = target.read_text()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "Content-Security-Policy" in page and "<script" not in page


def test_odd_lines_apply_counts_and_formula_cells_are_handled(p: Platforms) -> None:
    """Fields of the wrong type are tolerated, an `apply` run's fetched=0 is not the open
    tickets, and a rule name a spreadsheet would run as a formula is quoted in the CSV."""
    log = p.tmp / "audit.jsonl"
    odd = [
        line(T0, "run_started", run="a", command="apply"),
        line(T0, "decision", instance="zd", ticket="X", actions=5, about={"sla": "x"}),
        line(T0 + 1, "write", instance="zd", ticket="X", status="applied",
             level={"from": "L1", "to": "L2"}, rules=5),
        line(T0 + 2, "write", instance="zd", ticket="Y", status="applied",
             level={"from": "L1", "to": "L2"}, rules=["=HYPERLINK(1)"]),
        line(T0 + 3, "instance_finished", instance="zd", outcome="ok", fetched=0),
    ]  # fmt: skip
    log.write_text("\n".join(odd) + "\n")
    fig = report(p, log)
    assert fig["totals"]["escalations"] == 2
    assert all(d["tickets"] is None for d in fig["trend"]["rows"])
    rows = p.invoke(
        "report", "-c", with_sla(p.config(), l3=True), "--no-live", "--audit", log,
        "--format", "csv",
    ).out  # fmt: skip
    assert "by,rule,'=HYPERLINK(1),escalations,1" in rows


def test_the_order_files_are_named_in_does_not_change_the_figures(p: Platforms) -> None:
    lines = history()
    old, new = p.tmp / "audit.jsonl.1", p.tmp / "audit.jsonl"
    old.write_text("\n".join(lines[:8]) + "\n")
    new.write_text("\n".join(lines[8:]) + "\n")
    os.utime(old, (NOW - 5 * 86400, NOW - 5 * 86400))
    newest_first = report(p, new, "--audit", str(old))
    assert newest_first["sla"]["resolution"]["attainment"] == 0.5
    assert newest_first == report(p, old, "--audit", str(new))
