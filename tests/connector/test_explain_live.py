"""`escalate explain --instance NAME TICKET`: a ticket read live through the real adapter over
HTTP explains exactly as the same ticket saved (--save) and replayed from its file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import Platforms, platforms

WHEN = "2026-03-02T10:00:00Z"


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


@pytest.mark.parametrize("instance", ["zendesk", "jira"])
def test_a_live_ticket_explains_as_its_saved_copy(p: Platforms, instance: str) -> None:
    (ticket,) = p.p1(1, instance)
    config, saved = p.config(), p.tmp / "ticket.json"
    live = p.invoke(
        "explain", "-c", config, "--instance", instance, ticket, "--save", saved,
        "--now", WHEN, "--format", "json",
    )  # fmt: skip
    assert live.code == 0, live.err
    report = json.loads(live.out)
    assert report["ticket"]["id"] == ticket and report["ticket"]["instance"] == instance
    assert report["change"]["level"] == {"from": "L1", "to": "L2"}  # P1: due for L2
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    replay = p.invoke("explain", "-c", config, "--ticket", saved, "--now", WHEN, "--format", "json")
    assert replay.code == 0, replay.err
    assert json.loads(replay.out) == report
    assert p.taps[instance].writes == 0  # read-only


def test_a_missing_ticket_and_a_bad_call_are_one_sentence(p: Platforms) -> None:
    config = p.config()
    gone = p.invoke("explain", "-c", config, "--instance", "zendesk", "999999", "--now", WHEN)
    assert gone.code == 1 and "ticket 999999 not found on instance zendesk" in gone.err
    both = p.invoke("explain", "-c", config, "--ticket", "x.json", "--instance", "zendesk", "1")
    assert both.code == 2 and "give either --ticket FILE, or --instance NAME" in both.err
    unknown = p.invoke("explain", "-c", config, "--instance", "nope", "1")
    assert unknown.code == 2 and "unknown instance 'nope'" in unknown.err
    assert "Traceback" not in gone.err + both.err + unknown.err


def test_explain_says_when_the_instance_search_leaves_the_ticket_out(p: Platforms) -> None:
    """A scope that reads solved tickets, a policy that never acts on them: runs leave them
    out of the search (connector.scopes.narrowed), and explain says so for such a ticket."""
    config = p.config(zendesk={"scope": "type:ticket"})
    solved = str(p.zendesk.add_ticket(priority="urgent", status="solved", group="Support L1"))
    (open_one,) = p.p1(1)
    done = p.invoke("explain", "-c", config, "--instance", "zendesk", solved, "--now", WHEN)
    assert done.code == 0, done.err
    assert (
        "search: runs on zendesk do not read this ticket (solved): search narrowed to"
        " 'type:ticket status<solved': no enabled rule acts on solved or closed tickets"
    ) in done.out
    live = p.invoke(
        "explain", "-c", config, "--instance", "zendesk", open_one, "--now", WHEN, "--format",
        "json",
    )  # fmt: skip
    assert json.loads(live.out)["search"].startswith("runs on zendesk: search narrowed to")
