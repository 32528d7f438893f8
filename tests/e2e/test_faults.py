"""The real CLI (in process, fake clock and sleeper) against emulated Zendesk and Jira over HTTP,
with faults: 429 storms with Retry-After, 20% 5xx, dropped connections, and 409s from an agent
editing the same ticket.

After each: no duplicate comment, no skipped level, no lost agent edit, and after a clean re-run
every due escalation is done (and a further run has nothing left to do).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.jira import Call, adf_text
from tests.connector.platforms import Platforms, platforms
from tests.connector.test_run import jira_level, zendesk_notes

NOTE, REPLY = (False, "Escalated Printer on fire"), (True, "We are on it")


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def jira_comments(p: Platforms, key: str) -> list[str]:
    return [adf_text(c["body"]) for c in p.jira.issues[key].comments]


def assert_invariants(p: Platforms, zd: list[str], keys: list[str]) -> None:
    """Every due ticket escalated to L2 exactly once, with each of its comments exactly once.
    A change with a note and a reply takes two requests; if the second failed, the owed-comment
    journal (adapters/owed.py) has the next run send it."""
    for tid in zd:
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2", tid
        assert p.zendesk.field_value(int(tid), "Escalation count") == "1", tid
        assert zendesk_notes(p, tid) == [NOTE, REPLY], tid
    for key in keys:
        assert jira_level(p, key) == "L2", key
        assert sorted(jira_comments(p, key)) == ["Escalated Printer on fire", "We are on it"]


def settle(p: Platforms, zd: list[str], keys: list[str]) -> None:
    """A clean re-run finishes what the faulty one left; a further run finds nothing to do."""
    p.zendesk.faults.clear()
    p.jira.faults.clear()
    clean = p.invoke("run", "-c", p.config())
    assert clean.code == 0, clean.out + clean.err
    assert_invariants(p, zd, keys)
    idle = p.invoke("run", "-c", p.config())
    assert idle.code == 0 and idle.out.count(" 0 to change") == 2, idle.out


def test_429_storm_with_retry_after(p: Platforms) -> None:
    zd, keys = p.p1(8), p.p1(4, "jira")
    # Every request is refused twice first (reads and writes, both platforms): 50 429s.
    p.zendesk.fail("GET", r"/search/export", 429, times=2, headers={"Retry-After": "7"})
    for tid in zd:
        p.zendesk.fail("PUT", rf"/tickets/{tid}$", 429, times=4, headers={"Retry-After": "7"})
    for key in keys:
        p.jira.fail(lambda r, key=key: r.path.endswith(key), 429, times=2, retry_after=3)
    p.jira.fail(lambda r: "/search" in r.path, 429, times=2, retry_after=3)
    result = p.invoke("run", "-c", p.config())
    assert result.code == 0, result.out + result.err
    assert_invariants(p, zd, keys)
    assert not [f for f in p.zendesk.faults if f.times] and not [
        f for f in p.jira.faults if f.times
    ]
    # Each wait is what Retry-After said, or the rest of it for a thread held back meanwhile.
    assert max(p.time.slept) == 7.0 and 3.0 in p.time.slept
    settle(p, zd, keys)


def test_429_with_an_http_date_retry_after(p: Platforms) -> None:
    keys = p.p1(3, "jira")
    p.jira.fail(lambda r: r.method == "PUT", 429, times=2, retry_after=42, http_date=True)
    # One writer thread: the fake clock adds up sleeps that real threads would overlap.
    result = p.invoke("run", "-c", p.config(concurrency=1), "--instance", "jira")
    assert result.code == 0, result.out + result.err
    assert p.time.slept == [42.0, 42.0]  # the date, honoured to the second
    settle(p, [], keys)


def test_twenty_percent_5xx(p: Platforms) -> None:
    zd, keys = p.p1(20), p.p1(10, "jira")
    rng = random.Random(20)
    flaky = lambda *_: rng.random() < 0.2  # noqa: E731
    for status in (500, 502, 503):
        p.zendesk.fail("*", r".*", status, times=10**6, when=flaky)
        p.jira.fail(lambda r: flaky(), status, times=10**6)
    # Some 5xx come after the write went in (a gateway timing out on a landed write).
    p.zendesk.fail("PUT", r"/tickets/", 504, times=10**6, when=flaky, after_landing=True)
    result = p.invoke("run", "-c", p.config())
    assert result.code in (0, 1), result.out + result.err  # 1: a ticket ran out of retries
    for tid in zd:  # never twice, even where a write landed behind a 5xx
        assert zendesk_notes(p, tid).count(NOTE) <= 1 and zendesk_notes(p, tid).count(REPLY) <= 1
    for key in keys:
        comments = jira_comments(p, key)
        assert len(comments) == len(set(comments)), comments
    settle(p, zd, keys)


def test_dropped_connections(p: Platforms) -> None:
    zd, keys = p.p1(6), p.p1(4, "jira")
    p.zendesk.timeout_after_landing("PUT", r"/tickets/\d+$", times=3)
    p.zendesk.timeout_before_landing("PUT", r"/tickets/\d+$", times=2)
    p.zendesk.timeout_before_landing("GET", r"/search/export", times=1)
    p.jira.timeout_after_landing(lambda r: r.method == "PUT", times=2)
    p.jira.timeout_after_landing(lambda r: r.method == "POST" and r.path.endswith("/comment"))
    p.jira.timeout_before_landing(lambda r: r.method == "GET" and "/search" in r.path)
    result = p.invoke("run", "-c", p.config())
    assert result.code == 0, result.out + result.err
    assert_invariants(p, zd, keys)
    settle(p, zd, keys)


def test_409_from_an_agent_editing_the_same_ticket(p: Platforms) -> None:
    zd, keys = p.p1(4), p.p1(3, "jira")
    for tid in zd[:2]:
        p.zendesk.before_write(
            int(tid),
            lambda tid=tid: p.zendesk.agent_edit(  # type: ignore[misc]
                int(tid), {"additional_tags": ["customer-called"], "status": "pending"}
            ),
        )
    edited = keys[0]
    p.jira.before(
        lambda r: r.method == "PUT" and r.path.endswith(edited),
        lambda: p.jira.edit(edited, add_labels=["customer-called"], status="In Progress"),
    )
    result = p.invoke("run", "-c", p.config())
    assert result.code == 0, result.out + result.err
    assert_invariants(p, zd, keys)
    for tid in zd[:2]:  # the agent's edit stands next to ours
        ticket = p.zendesk.tickets[int(tid)]
        assert "customer-called" in ticket["tags"] and "escalated" in ticket["tags"]
        assert ticket["status"] == "pending"
    fields = p.jira.issues[edited].fields
    assert "customer-called" in fields["labels"] and "escalated" in fields["labels"]
    assert fields["status"]["name"] == "In Progress"
    settle(p, zd, keys)


def test_a_conflict_that_makes_the_change_moot(p: Platforms) -> None:
    """The agent lowers the priority just before our write: the re-evaluated ticket needs no
    escalation any more, and nothing is written over the agent's edit."""
    (tid,) = p.p1(1)
    p.zendesk.before_write(int(tid), lambda: p.zendesk.agent_edit(int(tid), {"priority": "low"}))
    result = p.invoke("run", "-c", p.config(), "--instance", "zendesk")
    assert result.code == 0, result.out + result.err
    assert "applied 0, unchanged 1" in result.out
    assert p.zendesk.tickets[int(tid)]["priority"] == "low"
    assert zendesk_notes(p, tid) == []


def test_request_predicate_type_is_the_emulators(p: Platforms) -> None:
    """Guard for the lambdas above: Jira faults see the emulator's Call record."""
    seen: list[Call] = []
    p.jira.fail(lambda r: seen.append(r) or False, 500)
    p.p1(1, "jira")
    p.invoke("run", "-c", p.config(), "--instance", "jira")
    assert seen and all(isinstance(r, Call) for r in seen)
