"""`escalate backtest --instance NAME --from --to`: past tickets read in bulk from the emulated
platforms (each with its whole history), replayed with known answers, and written nowhere.

The same history on both platforms (the contract policy: a P1 at L1 goes to L2 at once):
- A: created 22 Feb 10:00 as P3, raised to P1 by an agent at 12:00, solved on the 23rd. In the
  window; the replay escalates it at 12:00:00 exactly (not at creation: the history says it
  was P3 until then).
- B: a P1 created and solved on 10-11 Feb, then closed (Zendesk) or labelled (Jira) on the
  21st: updated in the window but done throughout it, so not read.
- C: a P3 created 10 Feb and untouched since, still open: read, nothing to do.
- E: a P1 created 18 Feb, still open: read; its escalation (18 Feb) is before --from, so it is
  replayed but not counted.
- D: a P1 created 2 Mar 05:00, after --to (the end of 1 Mar): the search's day margin finds it,
  the exact filter leaves it out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.zendesk.api import Fault
from tests.connector.platforms import NOW, Platforms, platforms

WINDOW = ("--from", "2026-02-20", "--to", "2026-03-01")


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def at(day: int, hour: int, month: int = 2) -> float:
    return datetime(2026, month, day, hour, tzinfo=UTC).timestamp()


def zendesk_history(p: Platforms) -> dict[str, str]:
    zd = p.zendesk
    p.time.now = at(10, 9)
    b = zd.add_ticket(priority="urgent", group="Support L1")
    c = zd.add_ticket(priority="normal", group="Support L1")
    p.time.now = at(11, 9)
    zd.agent_edit(b, {"status": "solved"})
    p.time.now = at(18, 9)
    e = zd.add_ticket(priority="urgent", group="Support L1")
    p.time.now = at(21, 9)  # closed during the window, but done throughout it: not read
    zd.agent_edit(b, {"status": "closed"})
    p.time.now = at(22, 10)
    a = zd.add_ticket(priority="normal", group="Support L1")
    p.time.now = at(22, 12)
    zd.agent_edit(a, {"priority": "urgent"})
    p.time.now = at(23, 9)
    zd.agent_edit(a, {"status": "solved"})
    p.time.now = at(2, 5, month=3)
    d = zd.add_ticket(priority="urgent", group="Support L1")
    p.time.now = NOW
    return {"A": str(a), "B": str(b), "C": str(c), "D": str(d), "E": str(e)}


def jira_history(p: Platforms) -> dict[str, str]:
    jira = p.jira
    p.time.now = at(10, 9)
    b = jira.create_issue("SUP", priority="Highest")
    c = jira.create_issue("SUP", priority="Medium")
    p.time.now = at(11, 9)
    jira.edit(b, status="Done")
    p.time.now = at(18, 9)
    e = jira.create_issue("SUP", priority="Highest")
    p.time.now = at(21, 9)  # edited during the window, but done throughout it: not read
    jira.edit(b, add_labels=["late"])
    p.time.now = at(22, 10)
    a = jira.create_issue("SUP", priority="Medium")
    p.time.now = at(22, 12)
    jira.edit(a, priority="Highest")
    p.time.now = at(23, 9)
    jira.edit(a, status="Done")
    p.time.now = at(2, 5, month=3)
    d = jira.create_issue("SUP", priority="Highest")
    p.time.now = NOW
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


HISTORIES = {"zendesk": zendesk_history, "jira": jira_history}


def snapshot(p: Platforms, platform: str) -> str:
    """Everything the platform holds, to show the backtest changed none of it."""
    if platform == "zendesk":
        zd = p.zendesk
        return json.dumps([zd.tickets, zd.audits, zd.comments], sort_keys=True, default=str)
    issues = {k: (i.fields, i.changelog, i.comments) for k, i in p.jira.issues.items()}
    return json.dumps(issues, sort_keys=True, default=str)


def backtest(p: Platforms, *args: str | Path) -> dict[str, Any]:
    result = p.invoke("backtest", "-c", p.config(), "--format", "json", *args)
    assert result.code == 0, result.err
    doc: dict[str, Any] = json.loads(result.out)
    return doc


@pytest.mark.parametrize("platform", ["zendesk", "jira"])
def test_the_window_is_read_whole_and_replayed_exactly(p: Platforms, platform: str) -> None:
    ids = HISTORIES[platform](p)
    before = snapshot(p, platform)
    saved = p.tmp / "past.jsonl"

    doc = backtest(p, "--instance", platform, *WINDOW, "--save", saved)

    assert snapshot(p, platform) == before  # read-only: nothing written, nothing moved
    assert doc["note"] == "Backtest: nothing is written to any platform."
    source = doc["source"]
    assert source["tickets_read"] == 3 and source["requests"] > 0
    assert (source["from"], source["to"]) == ("2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z")
    read = [json.loads(line)["id"] for line in saved.read_text().splitlines()]
    assert sorted(read) == sorted([ids["A"], ids["C"], ids["E"]])  # not B (done before), not D
    assert not list(p.tmp.glob("*.part"))
    assert saved.stat().st_mode & 0o777 == 0o600  # customer text: this user's only
    # A escalated when the agent raised it to P1, to the second; E's escalation is before --from.
    assert [t["ticket"] for t in doc["tickets"]] == [ids["A"]]
    (change,) = doc["tickets"][0]["changes"]
    assert change["at"] == "2026-02-22T12:00:00Z"
    assert change["level"] == {"from": "L1", "to": "L2"} and change["rules"] == ["p1-to-l2"]
    s = doc["summary"]
    assert (s["tickets"], s["escalations"], s["by_level"]) == (3, 1, {"L2": 1})
    assert s["notes"] == 1 and s["replies"] == 1

    # The saved file replays to the same answer offline, and without --from E counts too.
    again = backtest(p, "--tickets", saved, *WINDOW)
    assert again["tickets"] == doc["tickets"] and again["summary"] == doc["summary"]
    whole = backtest(p, "--tickets", saved, "--to", "2026-03-01")
    assert whole["from"] is None and whole["summary"]["escalations"] == 2
    (e_change,) = next(t for t in whole["tickets"] if t["ticket"] == ids["E"])["changes"]
    assert e_change["at"] == "2026-02-18T09:00:00Z"


def test_text_output_says_what_was_read(p: Platforms) -> None:
    zendesk_history(p)
    result = p.invoke("backtest", "-c", p.config(), "--instance", "zendesk", *WINDOW)
    assert result.code == 0, result.err
    assert result.out.startswith("Backtest: nothing is written to any platform.")
    assert "changes from 2026-02-20T00:00:00Z on" in result.out
    assert "Read 3 tickets of zendesk open at some time from 2026-02-20" in result.out
    assert "Read 3 tickets of zendesk" in result.err  # also said where progress goes
    assert "2026-02-22T12:00:00Z  L1 -> L2" in result.out


def test_a_read_that_fails_replays_nothing_and_leaves_no_file(p: Platforms) -> None:
    zendesk_history(p)
    p.zendesk.faults.append(Fault("GET", re.compile(r"/audits"), 500, times=1000))
    saved = p.tmp / "past.jsonl"
    config = p.config()
    result = p.invoke("backtest", "-c", config, "--instance", "zendesk", *WINDOW, "--save", saved)
    assert result.code == 1
    assert result.out == ""
    assert "the past tickets of zendesk could not be read; nothing was replayed" in result.err
    assert not saved.exists() and not list(p.tmp.glob("*.part"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --tickets FILE or --instance NAME"),
        (("--instance", "zendesk", "--tickets", "x.json"), "give --tickets FILE or --instance"),
        (("--instance", "zendesk", "--to", "2026-03-01"), "--instance needs --from and --to"),
        (("--instance", "nowhere", *WINDOW), "unknown instance 'nowhere'"),
        (("--instance", "zendesk", *WINDOW, "--save", "x.json"), "a .jsonl file"),
        (("--instance", "zendesk", *WINDOW, "--save", "/no/such/dir/x.jsonl"), "no directory"),
        (("--instance", "zendesk", "--from", "2026-03-05", "--to", "2026-03-01"), "is after"),
        (("--instance", "zendesk", "--from", "yesterday", "--to", "2026-03-01"), "--from"),
    ],
)
def test_usage_errors_say_what_to_give(p: Platforms, args: tuple[str, ...], message: str) -> None:
    result = p.invoke("backtest", "-c", p.config(), *args)
    assert result.code == 2
    assert message in result.err
    assert p.taps["zendesk"].writes == 0


def test_a_window_ending_after_now_is_replayed_up_to_now(p: Platforms) -> None:
    ids = zendesk_history(p)
    result = p.invoke(
        "backtest", "-c", p.config(), "--instance", "zendesk", "--format", "json",
        "--from", "2026-02-20", "--to", "2026-03-31",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "--to is in the future: replaying up to now, 2026-03-02T10:00:00Z" in result.err
    doc = json.loads(result.out)
    assert doc["until"] == doc["source"]["to"] == "2026-03-02T10:00:00Z"
    assert doc["source"]["tickets_read"] == 4  # D (created 2 Mar 05:00) is in the window now
    assert ids["D"] in [t["ticket"] for t in doc["tickets"]]


def test_escalations_before_from_still_count_as_escalated_for_breaches(p: Platforms) -> None:
    """With a resolution target (P1 1 h, others 8 h) all three tickets end breached. E was
    escalated before --from: its change is not listed, but it was escalated, and its time to a
    first escalation is not taken from a later one."""
    zendesk_history(p)
    config = p.config()
    doc = yaml.safe_load(config.read_text())
    doc["sla"] = [
        {"name": "p1", "match": {"priority": "P1"}, "targets": {"resolution": "1h"}},
        {"name": "rest", "targets": {"resolution": "8h"}},
    ]
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = p.invoke(
        "backtest", "-c", config, "--instance", "zendesk", *WINDOW, "--format", "json"
    )
    assert result.code == 0, result.err
    s = json.loads(result.out)["summary"]
    assert s["escalations"] == 1 and s["breached_tickets"] == 3
    assert s["breached_tickets_escalated"] == 2  # A in the window, E before it
    assert s["mean_seconds_to_first_escalation"] == 7200  # A: 2 h; E's was before --from


def with_requests(config: Path) -> Path:
    """The contract policy with an escalation request field, L3 behind a manager's approval,
    and network tickets (tag `network`, or the `Product area` field) owned by their own teams."""
    doc = yaml.safe_load(config.read_text())
    for platform in doc["platforms"].values():
        platform["fields"] |= {"request": "Escalation request", "approved_by": "Approved by"}
    doc["levels"].append(
        {
            "name": "L3",
            "owner": {"group": "Engineering"},
            "approval": {"approvers": ["maria@acme.example"], "groups": []},
        }
    )
    doc["functions"] = {
        "network": {
            "match": {"any": [{"label": "network"}, {"custom": {"Product area": "network"}}]}
        }
    }
    doc["matrix"] = {"network": {"L2": {"group": "Network Support"}}}
    doc["rules"].append(
        {"name": "agent-request", "when": {"requested": True}, "then": {"escalate": "requested"}}
    )
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def test_requests_approvals_and_field_values_are_replayed_at_their_instants(
    p: Platforms,
) -> None:
    """Read from Zendesk's audits: an agent asks for L3 at 10:20:30, Maria (an approver)
    approves at 11:45:10, and the ticket enters L3 at that second. Another ticket is about
    the network until 13:00 (its tags, then its Product area field, change later): a request
    for L2 at 12:10 goes to Network Support, though it ends with neither."""
    zd = p.zendesk
    request, approval = zd.add_field("Escalation request"), zd.add_field("Approved by")
    area = zd.add_field("Product area")
    maria = zd.add_user("Maria Manager", "maria@acme.example", "agent")
    zd.add_group("Engineering")
    zd.add_group("Network Support")
    p.time.now = at(22, 9)
    a = zd.add_ticket(priority="normal", group="Support L1")
    b = zd.add_ticket(priority="normal", group="Support L1")
    zd.agent_edit(b, {"tags": ["network"], "custom_fields": [{"id": area, "value": "network"}]})
    p.time.now = at(22, 10) + 20 * 60 + 30
    zd.agent_edit(a, {"custom_fields": [{"id": request, "value": "L3"}]})
    p.time.now = at(22, 11) + 45 * 60 + 10
    zd.agent_edit(a, {"custom_fields": [{"id": approval, "value": "ok"}]}, author=maria)
    p.time.now = at(22, 12) + 10 * 60
    zd.agent_edit(b, {"custom_fields": [{"id": request, "value": "L2"}]})
    p.time.now = at(22, 13)
    zd.agent_edit(b, {"tags": [], "custom_fields": [{"id": area, "value": "billing"}]})
    p.time.now = NOW

    saved = p.tmp / "past.jsonl"
    config = with_requests(p.config("requests.yaml"))
    doc = backtest(p, "-c", config, "--instance", "zendesk", *WINDOW, "--save", saved)

    moves = {
        t["ticket"]: [(c["at"], c["level"]["from"], c["level"]["to"]) for c in t["changes"]]
        for t in doc["tickets"]
    }
    assert moves[str(a)] == [
        ("2026-02-22T10:20:30Z", "L1", "L1"),  # asked: awaits Maria's approval
        ("2026-02-22T11:45:10Z", "L1", "L3"),
    ]
    assert moves[str(b)] == [("2026-02-22T12:10:00Z", "L1", "L2")]
    (change,) = next(t for t in doc["tickets"] if t["ticket"] == str(b))["changes"]
    assert {"type": "set_group", "from": "Support L1", "to": "Network Support"} in [
        {k: x.get(k) for k in ("type", "from", "to")} for x in change["actions"]
    ]
    # The saved file holds those events, and replays the same offline.
    kept = {json.loads(line)["id"]: json.loads(line) for line in saved.read_text().splitlines()}
    fields = [e.get("field") for e in kept[str(a)]["history"] if e["kind"] == "field"]
    assert fields == ["tracking.request", "tracking.approved_by"]
    approved = next(e for e in kept[str(a)]["history"] if e.get("field") == "tracking.approved_by")
    assert approved["by"]["by"] == "Maria Manager (maria@acme.example)"
    again = backtest(p, "-c", config, "--tickets", saved, *WINDOW)
    assert again["tickets"] == doc["tickets"]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_jira_changelog_gives_requests_approvals_and_labels_at_their_instants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flavour: str
) -> None:
    """The same on Jira, from the changelog (Cloud: the bulk fetch, which now asks for the
    labels, custom and request fields too; Data Center: the expanded changelog)."""
    with platforms(tmp_path, capsys, flavour=flavour) as p:
        jira = p.jira
        for title in ("Escalation request", "Approved by", "Product area"):
            jira.add_field(title)
        jira.options[jira.field_id("Support team")] += ["Engineering", "Network Support"]
        maria = jira.add_user("maria", "Maria Manager", "maria@acme.example")
        p.time.now = at(22, 9)
        a = jira.create_issue("SUP", priority="Medium")
        b = jira.create_issue("SUP", priority="Medium", labels=["network"])
        p.time.now = at(22, 10) + 20 * 60 + 30
        jira.edit(a, values={"Escalation request": "L3"})
        p.time.now = at(22, 11) + 45 * 60 + 10
        jira.edit(a, values={"Approved by": "ok"}, by=maria)
        p.time.now = at(22, 12) + 10 * 60
        jira.edit(b, values={"Escalation request": "L2"})
        p.time.now = at(22, 13)
        jira.apply(jira.issues[b], {"labels": []}, jira.agent)
        p.time.now = NOW

        config = with_requests(p.config("requests.yaml"))
        doc = yaml.safe_load(config.read_text())
        doc["levels"][2]["approval"]["approvers"] = ["maria@acme.example", "maria"]
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        saved = p.tmp / "past.jsonl"
        result = backtest(p, "-c", config, "--instance", "jira", *WINDOW, "--save", saved)

    moves = {
        t["ticket"]: [(c["at"], c["level"]["from"], c["level"]["to"]) for c in t["changes"]]
        for t in result["tickets"]
    }
    assert moves[a] == [("2026-02-22T10:20:30Z", "L1", "L1"), ("2026-02-22T11:45:10Z", "L1", "L3")]
    assert moves[b] == [("2026-02-22T12:10:00Z", "L1", "L2")]
    (change,) = next(t for t in result["tickets"] if t["ticket"] == b)["changes"]
    groups = [x["to"] for x in change["actions"] if x["type"] == "set_group"]
    assert groups == ["Network Support"]  # labelled network then, not at the end
