"""The `escalate` command line: validate, explain, demo, schema and --help, run in-process.

`connector.cli.main(argv)` always ends in sys.exit, so each call is wrapped to return
(exit code, stdout, stderr).
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.cli import main
from connector.runner import Runtime

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "config.example.yaml")

Result = tuple[int, str, str]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    code = info.value.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


def write_tickets(tmp_path: Path, *tickets: dict[str, Any]) -> str:
    path = tmp_path / "tickets.json"
    payload: Any = tickets[0] if len(tickets) == 1 else list(tickets)
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


# A P1 created 09:00Z with the agent's first reply at 09:10Z (tests/rules/cases/p1-*.yaml).
P1: dict[str, Any] = {
    "id": "2001",
    "instance": "zendesk-prod",
    "platform": "zendesk",
    "title": "Checkout fails for all EU customers",
    "status": "open",
    "priority": "urgent",
    "group": "Support L1",
    "assignee": "sam@example.com",
    "created_at": "2026-11-20T09:00:00Z",
    "history": [
        {"at": "2026-11-20T09:10:00Z", "kind": "comment", "actor": "agent", "text": "On it"}
    ],
}


# --- validate ----------------------------------------------------------------------------------


def test_validate_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "-c", EXAMPLE)
    assert code == 0, err
    first, *rest = out.splitlines()
    assert first.startswith(f"{EXAMPLE}: valid (policy ")
    assert first.endswith(": 5 levels, 10 rules, 3 SLA policies, 2 instances)")
    assert rest == []  # no warning: its scopes take in the solved tickets its closure rule needs
    assert err == ""


LINTY = """\
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2}
sla: [{name: all, targets: {resolution: 8h}}]
rules:
  - name: up
    when: {age: {over: 1h}}
    then: {escalate: next}
"""


def test_validate_prints_warnings_but_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(LINTY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "validate", "-c", "p.yaml")
    assert code == 0
    assert out.splitlines()[1:] == [
        "warning: p.yaml:3: levels[1] (L2): level 'L2' has no owner and no matrix entry: "
        "escalating to it changes no group or assignee"
    ]


def test_validate_strict_fails_on_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(LINTY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "validate", "--strict", "-c", "p.yaml")
    assert code == 2
    assert err == "error: 1 lint warning(s) and --strict was given\n"


def test_the_config_comes_from_escalate_config_when_no_c_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCALATE_CONFIG", EXAMPLE)
    code, out, err = run(capsys, "validate")
    assert code == 0, err
    assert out.startswith(f"{EXAMPLE}: valid (policy ")
    other = tmp_path / "other.yaml"
    other.write_text(Path(EXAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "validate", "-c", str(other))  # -c wins over the variable
    assert code == 0, err
    assert out.startswith(f"{other}: valid (policy ")
    monkeypatch.setenv("ESCALATE_CONFIG", str(tmp_path / "missing.yaml"))
    code, out, err = run(capsys, "validate")
    assert code == 2
    assert "missing.yaml" in err


def test_validate_needs_a_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESCALATE_CONFIG", raising=False)
    code, _, err = run(capsys, "validate")
    assert code == 2
    assert "Missing option '-c' / '--config' (env var: 'ESCALATE_CONFIG')" in err
    assert "Traceback" not in err


# --- explain -----------------------------------------------------------------------------------


def test_explain_text_before_the_rule_fires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 09:59Z the P1 is 59 minutes old: nothing changes, p1-unresolved-1h fires at 10:00Z."""
    tickets = write_tickets(tmp_path, P1)
    code, out, err = run(
        capsys, "explain", "-c", EXAMPLE, "--ticket", tickets, "--now", "2026-11-20T09:59:00Z"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "Ticket 2001 (zendesk-prod) at 2026-11-20T09:59:00Z: open (open), priority P1, level L1"
    )
    # P1 SLA on 24x7: 59 of 240 minutes = 24.6%, due 09:00 + 4h; first response after 10m
    assert "  first_response: 10m of 15m used (66.7%), 5m left, fulfilled" in lines
    assert (
        "  resolution: 59m of 4h used (24.6%), 3h 1m left, running, due 2026-11-20T13:00:00Z"
        in lines
    )
    assert "    clock: 59.0 working minutes on 24x7 since 2026-11-20T09:00:00Z" in lines
    rules = [line.strip() for line in lines if line.startswith("  [")]
    assert rules == [
        "[not matched] p1-unresolved-1h",
        "[not matched] resolution-at-risk",
        "[not matched] agent-request",
        "[not matched] not-acknowledged",
        "[not matched] inform-director",
        "[not matched] vip-customer",
        "[not matched] repeated-complaints",
        "[not matched] customer-asks",
        "[not matched] idle-reminder",
        "[not matched] close-and-review",
    ]
    assert "           no   age 59m calendar (wants 1h)" in lines
    # age reaches 1h at 10:00Z; resolution reaches 80% (3h12m) at 12:12Z
    assert "      would fire at 2026-11-20T10:00:00Z if nothing else changes" in lines
    assert "      would fire at 2026-11-20T12:12:00Z if nothing else changes" in lines
    assert "Change: none" in lines
    assert lines[-1] == "Next trigger: p1-unresolved-1h at 2026-11-20T10:00:00Z"


def test_explain_text_shows_the_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tickets = write_tickets(tmp_path, P1)
    code, out, err = run(
        capsys, "explain", "-c", EXAMPLE, "--ticket", tickets, "--now", "2026-11-20T10:00:00Z"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert "  [fired] p1-unresolved-1h" in lines
    assert "           yes  age 1h calendar (wants 1h)" in lines
    assert "Change: level L1 -> L2" in lines
    assert '  set_group: "Support L1" -> "Support L2 Specialists"' in lines
    assert '  set_assignee: "sam@example.com" -> none' in lines
    assert '  set_tracking sla_due: none -> "2026-11-20T13:00:00Z"' in lines
    assert "  internal_note:" in lines
    assert (
        '    | Escalated L1 -> L2 by rule "p1-unresolved-1h": A P1 not resolved within 1 hour '
        "escalates from L1 to L2 specialists."
    ) in lines
    assert "  public_reply:" in lines


def test_explain_text_has_no_python_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`none`, `yes`/`no` and JSON-style strings: no `None`, `True`, `False` or `'x'` reprs,
    whichever rules, tracking values and actions the ticket brings up."""
    asked = {**P1, "id": "2002", "priority": "normal", "tracking": {"request": "L3"}}
    tickets = write_tickets(tmp_path, P1, asked)
    code, out, err = run(
        capsys, "explain", "-c", EXAMPLE, "--ticket", tickets, "--now", "2026-11-20T10:00:00Z"
    )
    assert code == 0, err
    for python in ("None", "True", "False", "=None", "='"):
        assert python not in out, python
    lines = out.splitlines()
    assert '      yes  escalation requested by an agent: request field is "L3" (wants set)' in lines
    assert "      no   escalation requested by an agent: request field is not set (wants set)" in (
        lines
    )
    assert '  set_tracking request: "L3" -> none' in lines
    code, out, err = run(
        capsys,
        "explain",
        "-c",
        EXAMPLE,
        "--ticket",
        tickets,
        "--now",
        "2026-11-20T10:00:00Z",
        "--format",
        "json",
    )
    assert code == 0, err
    actions = json.loads(out)[1]["change"]["actions"]
    assert {"type": "set_tracking", "field": "request", "from": "L3", "to": None} in actions


def test_explain_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tickets = write_tickets(tmp_path, P1)
    code, out, err = run(
        capsys,
        "explain",
        "-c",
        EXAMPLE,
        "--ticket",
        tickets,
        "--now",
        "2026-11-20T10:00:00Z",
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["now"] == "2026-11-20T10:00:00Z"
    assert data["ticket"]["level"] == "L1"
    statuses = {r["rule"]: r["status"] for r in data["rules"]}
    assert statuses["p1-unresolved-1h"] == "fired"
    assert {s for name, s in statuses.items() if name != "p1-unresolved-1h"} == {"not matched"}
    fired = next(r for r in data["rules"] if r["rule"] == "p1-unresolved-1h")
    assert fired["when"]["ok"] is True
    assert [p["test"] for p in fired["when"]["parts"]] == [
        "level is L1 (wants in [L1])",
        "priority is P1 (wants in [P1])",
        "age 1h calendar (wants 1h)",
    ]
    resolution = next(t for t in data["sla"]["targets"] if t["target"] == "resolution")
    assert resolution["used_percent"] == 25.0
    assert resolution["due"] == "2026-11-20T13:00:00Z"
    assert resolution["clock"]["working_minutes"] == 60.0
    change = data["change"]
    assert change["level"] == {"from": "L1", "to": "L2"}
    assert change["rules"] == ["p1-unresolved-1h"]
    tracking = {a["field"]: a["to"] for a in change["actions"] if a["type"] == "set_tracking"}
    assert tracking["level"] == "L2"
    assert tracking["escalated_at"] == "2026-11-20T10:00:00Z"
    assert data["next_trigger"] is not None


def test_explain_next_trigger_accounts_for_the_change_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 10:00Z the P1 goes to L2 (the change explain prints). Once it is at L2 the next rule
    to fire is not-acknowledged at 12:00Z (2h on 24x7 after escalated_at 10:00Z; see the
    golden case p1-unresolved-1h, where nothing fires at 11:59Z and not-acknowledged fires at
    12:00Z), before resolution-at-risk's 12:12Z. "Next trigger" must describe the ticket as
    the run leaves it, not as it was before the change."""
    tickets = write_tickets(tmp_path, P1)
    code, out, _ = run(
        capsys,
        "explain",
        "-c",
        EXAMPLE,
        "--ticket",
        tickets,
        "--now",
        "2026-11-20T10:00:00Z",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["next_trigger"] == {
        "at": "2026-11-20T12:00:00Z",
        "rule": "not-acknowledged",
    }


def test_explain_clock_accounting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Paused spans, holidays and DST changes on the standard SLA (berlin-office 08-18 local)."""
    pending: dict[str, Any] = {
        "id": "pending",
        "status": "open",
        "priority": "normal",
        "created_at": "2026-11-02T07:00:00Z",
        "history": [
            {"at": "2026-11-02T07:30:00Z", "kind": "comment", "actor": "agent", "text": "?"},
            {"at": "2026-11-03T07:00:00Z", "kind": "status", "actor": "agent",
             "value": "pending", "category": "pending"},
            {"at": "2026-11-04T17:00:00Z", "kind": "status", "actor": "system",
             "value": "open", "category": "open"},
        ],
    }  # fmt: skip
    holiday: dict[str, Any] = {"created_at": "2026-12-21T08:00:00Z"}
    dst: dict[str, Any] = {"created_at": "2026-10-23T08:00:00Z"}
    runs = [
        ("pending", pending, "2026-11-05T09:00:00Z"),
        ("holiday", holiday, "2026-12-28T08:00:00Z"),
        ("dst", dst, "2026-10-26T08:00:00Z"),
    ]
    clocks: dict[str, dict[str, Any]] = {}
    for name, fields, now in runs:
        ticket = {"id": name, "status": "open", "priority": "normal", **fields}
        path = write_tickets(tmp_path, ticket)
        code, out, err = run(
            capsys, "explain", "-c", EXAMPLE, "--ticket", path, "--now", now, "--format", "json"
        )
        assert code == 0, err
        data = json.loads(out)
        assert data["sla"]["policy"] == "standard"
        target = next(t for t in data["sla"]["targets"] if t["target"] == "resolution")
        clocks[name] = target["clock"]

    # Mon 08-18 local (10h) + Thu 08-10 (2h); Tue 08:00 to Wed 18:00 local paused (2 x 10h)
    assert clocks["pending"]["working_minutes"] == 720.0
    assert clocks["pending"]["paused_spans"] == [
        {
            "from": "2026-11-03T07:00:00Z",
            "to": "2026-11-04T17:00:00Z",
            "working_minutes_excluded": 1200.0,
        }
    ]
    # Mon 21 09-18 (9h) + Tue 22 (10h) + Wed 23 (10h) + Mon 28 08-09 (1h); 24-27 are off
    assert clocks["holiday"]["working_minutes"] == 1800.0
    assert clocks["holiday"]["holidays"] == [
        "2026-12-24 holiday",
        "2026-12-25 Christmas Day",
        "2026-12-26 Second Day of Christmas",
    ]
    # Fri 23 10:00-18:00 CEST (8h) + Mon 26 08:00-09:00 CET (1h); clocks went back Oct 25 01:00Z
    assert clocks["dst"]["working_minutes"] == 540.0
    assert clocks["dst"]["dst_changes"] == ["2026-10-25T01:00:00Z"]


def test_explain_a_list_of_tickets_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = {**P1, "id": "2002", "created_at": "2026-11-20T09:30:00Z"}
    tickets = write_tickets(tmp_path, P1, second)
    code, out, _ = run(
        capsys,
        "explain",
        "-c",
        EXAMPLE,
        "--ticket",
        tickets,
        "--now",
        "2026-11-20T10:00:00Z",
        "--format",
        "json",
    )
    assert code == 0
    reports = json.loads(out)
    assert [r["ticket"]["id"] for r in reports] == ["2001", "2002"]
    assert reports[0]["change"]["level"]["to"] == "L2"
    assert reports[1]["change"] is None  # 30 minutes old


def test_explain_rejects_a_bad_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tickets = write_tickets(tmp_path, P1)
    code, _, err = run(capsys, "explain", "-c", EXAMPLE, "--ticket", tickets, "--now", "soon")
    assert code == 2
    assert "expected an ISO 8601 time such as 2026-11-20T10:00:00Z, got 'soon'" in err
    assert "Traceback" not in err


def test_explain_rejects_a_bad_ticket_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.json").write_text(
        json.dumps({"id": "1", "status": "open", "created_at": "yesterday"}), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "explain", "-c", EXAMPLE, "--ticket", "t.json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: t.json")
    assert "created_at" in err
    assert "Traceback" not in err


def test_explain_rejects_invalid_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.json").write_text('{"id": "1",\n "status": }', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "explain", "-c", EXAMPLE, "--ticket", "t.json")
    assert code == 2
    assert err == "error: t.json:2:12: not valid JSON: Expecting value\n"


# --- demo, schema, help ------------------------------------------------------------------------


def test_demo_runs_plan_run_and_a_second_run_that_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "demo", "--tickets", "40", "--dir", str(tmp_path))
    assert code == 0, err
    plan, first, second = out.split("$ escalate ")[1:4]
    assert plan.startswith("plan") and first.startswith("run") and second.startswith("run")
    for name in ("zendesk-prod", "jira-cloud", "jira-dc"):
        assert f"{name} (" in first and " 0 to change" not in first.split(name)[1].split("\n")[0]
        assert f"{name}: " in out  # its before/after table
    assert second.count(" 0 to change, applied 0") == 3
    assert "queue (group)" in out and "level" in out and "SLA due" in out
    assert (tmp_path / "state" / "audit.jsonl").is_file()


def test_demo_explains_its_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """ "29 matched, 30 to change" then "28 of 300 tickets moved": each difference said. Under
    each summary the changes by kind (one no rule matched: an approval that landed); over each
    table the run's changes that moved no column, by kind. The demo runs on a clock moved to a
    Tuesday morning in Berlin, so that its chat notices are due at once (in the evening the plan
    defers them to office hours instead, which the JSON test below allows for)."""
    shift = datetime(2026, 12, 8, 9, 30, tzinfo=UTC).timestamp() - time.time()
    with pytest.raises(SystemExit) as info:
        args = ["demo", "--tickets", "300", "--rows", "1"]
        main(args, runtime=Runtime(clock=lambda: time.time() + shift))
    code = info.value.code
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("Seeding 300 open tickets on each emulated platform (127.0.0.1), and 120")
    # the hash printed is the demo's policy (the example plus its channels), and says so
    assert "config.example.yaml with notices to local channels, on zendesk-prod," in out
    first = out.split("$ escalate ")[2]
    assert "notice " not in first, "the run sent its notices: none is listed as if planned"
    assert out.split("$ escalate ")[1].count(": now (level:L2#") > 1  # the plan lists them
    for name in ("zendesk-prod", "jira-cloud", "jira-dc"):
        summary, kinds = first.split(f"  {name} (")[1].splitlines()[:2]
        matched = int(summary.split("matched ")[1].split(",")[0])
        changes = int(summary.split(", ")[2].split(" to change")[0])
        assert kinds.startswith(f"    {changes} changes: ")
        unmatched = int(kinds.split("; ")[1].split(" with no rule matched")[0])
        assert unmatched == changes - matched > 0  # the approvals the sandbox seeds
        landed = "approval landed" if unmatched == 1 else "approvals landed"
        assert kinds.endswith(f" with no rule matched: {unmatched} {landed}")
        header, why = out.split(f"\n{name}: ")[1].splitlines()[:2]
        moved = int(header.split(" of ")[0])
        assert header.endswith("tickets moved (group, level, priority or SLA due)")
        assert why == (
            f"  The run made {changes} changes; {changes - moved} of them moved none of these:"
            f" {changes - moved} notes only (a comment only: an approval asked for, a reminder)."
        )


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--tickets", "40", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data["steps"]) == ["plan", "run", "second run"]
    for name, first in data["steps"]["run"].items():
        assert first["applied"] == first["changes"] > 0, name
        assert data["steps"]["second run"][name]["changes"] == 0
        assert data["changed"][name], name
    row = data["changed"]["zendesk-prod"][0]
    assert set(row["before"]) >= {"ticket", "group", "level", "priority", "sla_due"}
    kinds = data["steps"]["run"]["zendesk-prod"]["kinds"]
    assert sum(kinds.values()) == data["steps"]["run"]["zendesk-prod"]["changes"]
    # Notices to the local sink: each planned one sent or deferred to office hours, each
    # sent one received (by the webhook sink or the SMTP server), none twice.
    counts = [first["notices"] for first in data["steps"]["run"].values()]
    planned = sum(c.get("planned", 0) for c in counts)
    sent = sum(c.get("sent", 0) for c in counts)
    assert planned > 0 and planned == sent + sum(c.get("deferred", 0) for c in counts)
    assert len(data["notices"]["received"]) == sent
    assert all(not run["notices"].get("sent") for run in data["steps"]["second run"].values())


def test_schema_is_json_with_levels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert "levels" in schema["properties"]
    assert "levels" in schema["required"]
    assert {"rules", "calendars", "sla", "templates", "matrix"} <= set(schema["properties"])


LONG_FORM = """\
version: 1
priorities: [P1, P2, P3]
defaults: {calendar: office, time: business, own_write_grace: 5m}
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["08:00-18:00"]}
    holidays: {country: DE, subdivision: BE, dates: [2026-12-24]}
sla:
  - name: p1
    match: {priority: {in: [P1]}}
    calendar: 24x7
    targets: {resolution: {within: 4h}}
  - name: standard
    pause: [pending, hold]
    targets: {first_response: {within: 8h}, resolution: {within: 40h, time: business}}
levels:
  - {name: L1, owner: {group: Front}}
  - name: L2
    owner: {group: Specialists, instances: {jira-cloud: {group: support-l2}}}
    priority_at_least: P2
  - name: L3
    owner: {group: Engineering}
    approval: {approvers: [maria@example.com], notify: [maria@example.com]}
functions:
  network:
    match:
      any:
        - component: {in: [Network, VPN]}
        - label: {in: [network, vpn]}
        - custom: {Product area: {eq: network}}
matrix:
  network: {L3: {group: Network Engineering}}
rules:
  - name: complaints
    when:
      level: {in: [L1]}
      any:
        - customer_replies: {at_least: 3}
        - reopens: {at_least: 2}
      not: {label: {in: [spam]}}
    unless: {status: [pending]}
    repeat: {per: level, every: 8h, max: 2}
    then:
      escalate: next
      priority: {at_least: P2}
      add_tags: [escalated]
      note: handoff
  - name: breach
    when: {sla: {target: resolution, used: 80%}, idle: {over: 4h, time: calendar}}
    then: {escalate: L3, notify: [lead@example.com]}
templates:
  handoff: "Escalated {{ ticket.title }}"
instances:
  jira-cloud:
    platform: jira
    url: https://acme.atlassian.net
    auth: {email: bot@example.com, api_token: {env: JIRA_API_TOKEN}}
"""


def test_schema_accepts_a_policy_in_long_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`escalate schema` is for editor completion. docs/cli.md says shorthands (level: L2,
    first_response: 15m...) may be flagged, but a policy written in the mapping forms, using
    keys the docs document (`label` and `tag` are "the same trigger", docs/policy.md), must not
    be: an editor would mark valid keys as errors."""
    (tmp_path / "long.yaml").write_text(LONG_FORM, encoding="utf-8")
    code, _, err = run(capsys, "validate", "-c", str(tmp_path / "long.yaml"))
    assert code == 0, err  # the policy itself is valid
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    config = yaml.safe_load(LONG_FORM)
    assert schema_errors(config, schema, schema) == []


COMMANDS = [
    [],
    ["validate"],
    ["explain"],
    ["demo"],
    ["schema"],
    ["run"],
    ["plan"],
    ["apply"],
    ["doctor"],
    ["setup"],
    ["sandbox"],
    ["sandbox", "serve"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *command, "--help")
    assert code == 0, err
    assert out.startswith(f"Usage: escalate {' '.join(command)}".rstrip())
    if command in (["validate"], ["explain"], ["run"], ["plan"], ["doctor"], ["setup"]):
        assert "-c, --config" in out
        assert "[env var: ESCALATE_CONFIG" in " ".join(out.split())
    if command == []:
        assert "ESCALATE_CONFIG=FILE" in out
        for name in ("run", "plan", "apply", "doctor", "setup", "demo", "sandbox", "schema"):
            assert f"\n  {name} " in out, name
    if command == ["explain"]:
        assert "--ticket" in out
        assert "--now" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert "version" in out


def test_tests_cannot_reach_the_network() -> None:
    """tests/conftest.py blocks connections (the CLI commands above ran offline under it)."""
    with pytest.raises(RuntimeError, match="must not use the network"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(RuntimeError, match="must not use the network"),
    ):
        sock.connect(("192.0.2.1", 443))


# --- a minimal JSON Schema checker (the subset pydantic emits) ---------------------------------


def schema_errors(
    value: Any, node: dict[str, Any], root: dict[str, Any], at: str = ""
) -> list[str]:
    """Errors of `value` against `node`: $ref, anyOf, type, enum, const, properties,
    additionalProperties, propertyNames, required, items, minItems, minimum."""
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return schema_errors(value, target, root, at)
    if "anyOf" in node:
        branches = [schema_errors(value, b, root, at) for b in node["anyOf"]]
        if any(not b for b in branches):
            return []
        return [f"{at or '/'}: matches none of anyOf ({min(branches, key=len)[0]})"]
    errors: list[str] = []
    kind = node.get("type")
    if kind is not None and not _is_type(value, kind):
        return [f"{at or '/'}: expected {kind}, got {value!r}"]
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{at}: {value!r} not in {node['enum']}")
    if "const" in node and value != node["const"]:
        errors.append(f"{at}: {value!r} is not {node['const']!r}")
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        for key in node.get("required", []):
            if key not in value:
                errors.append(f"{at}/{key}: required")
        for key, item in value.items():
            names = node.get("propertyNames", {}).get("enum")
            if names is not None and key not in names:
                errors.append(f"{at}/{key}: key not allowed")
            if key in props:
                errors += schema_errors(item, props[key], root, f"{at}/{key}")
            elif extra is False:
                errors.append(f"{at}/{key}: unknown key")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, root, f"{at}/{key}")
    if isinstance(value, list):
        if len(value) < node.get("minItems", 0):
            errors.append(f"{at}: too few items")
        for i, item in enumerate(value):
            errors += schema_errors(item, node.get("items", {}), root, f"{at}/{i}")
    if "minimum" in node and isinstance(value, int | float) and value < node["minimum"]:
        errors.append(f"{at}: {value} < {node['minimum']}")
    return errors


def _is_type(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    return {
        "string": isinstance(value, str | date),  # YAML dates are strings in JSON
        "integer": isinstance(value, int),
        "number": isinstance(value, int | float),
        "boolean": False,
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "null": value is None,
    }[kind]


def test_schema_covers_instances_and_the_run_section(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    example["run"] = {"max_changes": 50, "metrics_file": "/var/lib/node_exporter/esc.prom"}

    def errors() -> list[str]:
        # The policy part uses shorthands the schema may flag (see above): not checked here.
        found = schema_errors(example, schema, schema)
        return [e for e in found if e.startswith(("/instances", "/run"))]

    assert errors() == []
    example["instances"]["jira-cloud"]["page_sise"] = 50
    example["run"]["max_change"] = 5
    found = errors()
    assert any(e.startswith("/instances/jira-cloud: matches none of anyOf") for e in found)
    assert "/run/max_change: unknown key" in found


def test_the_example_notes_count_in_words_and_say_when_a_target_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`1 customer reply`, `0 times` (no `repl(ies)`), and a target 2h past says so rather
    than `-2h left` (the rule's description holds at 150% as at 80%)."""
    replied = {
        **P1,
        "history": [
            *P1["history"],
            {"at": "2026-11-20T09:20:00Z", "kind": "comment", "actor": "customer", "text": "?"},
        ],
    }
    tickets = write_tickets(tmp_path, replied)
    code, out, err = run(
        capsys, "explain", "-c", EXAMPLE, "--ticket", tickets, "--now", "2026-11-20T15:00:00Z"
    )
    assert code == 0, err
    assert "(s)" not in out and "(ies)" not in out and "% used, -" not in out
    lines = out.splitlines()
    assert (
        "    | So far: escalated 0 times before, reopened 0 times, 1 customer reply awaiting an"
        " answer."
    ) in lines
    assert (
        "    | SLA resolution: 150% used, target passed 2h ago, due 2026-11-20T13:00:00Z" in lines
    )
    assert any(
        "resolution (p1): 150% used, target passed 2h ago (wants 80% used)" in line
        for line in lines
    )
