"""The real CLI against the sandbox (the example policy on seeded Zendesk, Jira Cloud and Jira
DC over loopback HTTP, on the sandbox's fake clock) with faults: 429 storms with Retry-After in
seconds and as an HTTP date, 20% 5xx (some after the write landed), and dropped connections
before and after a request landed, on reads and writes.

After each (tests/e2e/sandboxes.py): no comment above what one escalation per level writes, no
level skipped or repeated (the control run's levels and counts), and after a fault-free re-run
nothing is due and a further run changes nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from email.utils import formatdate
from pathlib import Path

import pytest

from emulators.jira import Call, JiraEmulator
from emulators.zendesk import Fault, ZendeskEmulator
from tests.e2e.sandboxes import (
    CLOUD,
    DC,
    NOW,
    ZD,
    Box,
    assert_on_course,
    bulk_read,
    comment,
    put,
    reported,
    sandbox,
    settle,
)

STATUSES = (500, 502, 503)


@pytest.fixture
def box(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Box]:
    with sandbox(tmp_path, capsys) as found:
        yield found


def shares(rng: random.Random, share: float, count: int) -> list[Callable[[], bool]]:
    """Predicates for `count` faults checked in order (the first that holds answers): together
    they hold for `share` of the requests, each as often as the others."""
    each = share / count

    def chance(p: float) -> Callable[[], bool]:
        return lambda: rng.random() < p

    return [chance(each / (1 - i * each)) for i in range(count)]


Query = Mapping[str, list[str]]


def always(flaky: Callable[[], bool]) -> Callable[[object], bool]:
    """A fault condition (Zendesk's sees the query, Jira's the request) from a predicate."""
    return lambda request: flaky()


def nth(n: int) -> Callable[[Query], bool]:
    """A Zendesk fault condition that holds on the n-th request reaching it, once."""
    count = [0]

    def holds(query: Query) -> bool:
        count[0] += 1
        return count[0] == n

    return holds


def anything(r: Call) -> bool:
    return True


def search(r: Call) -> bool:
    return "/search" in r.path


def hits(emu: ZendeskEmulator | JiraEmulator) -> int:
    """Answers given by the standing (10**6-times) faults."""
    return sum(10**6 - f.times for f in emu.faults if f.times > 1000)


def first_tries(n: int, where: Callable[[Call], bool] = anything) -> Callable[[Call], bool]:
    """A Jira fault predicate: the first `n` tries of every distinct request (method, path,
    body) matching `where`; later tries go through."""
    seen: dict[str, int] = {}

    def refuse(r: Call) -> bool:
        if not where(r):
            return False
        key = f"{r.method} {r.path} {r.body!r}"
        seen[key] = seen.get(key, 0) + 1
        return seen[key] <= n

    return refuse


def test_429_storm_with_retry_after_seconds(box: Box) -> None:
    """Every Jira request is refused once (the searches twice); on Zendesk the export twice,
    every ticket's audits once and every due ticket's updates twice: each with Retry-After."""
    zendesk, due = box.zendesk(), box.planned(ZD)  # read before the faults: it reads too
    zendesk.fail("GET", r"/search/export$", 429, times=2, headers={"Retry-After": "7"})
    kinds = box.kinds(ZD)
    for tid in box.sandbox.ticket_ids[ZD]:
        if kinds[tid].startswith("past-"):
            continue  # solved in the past month: no rule reads their events, nor their audits
        zendesk.fail("GET", rf"/tickets/{tid}/audits$", 429, headers={"Retry-After": "1"})
    for tid in due:
        zendesk.fail("PUT", rf"/tickets/{tid}$", 429, times=2, headers={"Retry-After": "2"})
    for name in (CLOUD, DC):
        jira = box.jira(name)
        jira.fail(first_tries(1, search), 429, retry_after=5)
        jira.fail(first_tries(1), 429, times=10**6, retry_after=1)
    result = box.run()
    assert result.code == 0, result.out + result.err[-3000:]
    assert reported(box) == {}
    assert_on_course(box)
    assert not [f for f in zendesk.faults if f.times]  # every 429 was met, and waited out
    # Each wait is what a Retry-After said (or the rest of it, for a thread held back
    # meanwhile): every value shows up, and none is longer.
    assert {1.0, 2.0, 5.0, 7.0} <= set(box.time.slept) and max(box.time.slept) == 7.0
    settle(box)


def test_429_with_an_http_date_retry_after(box: Box) -> None:
    """Retry-After as a date: honoured to the second, and a date already past means now."""
    jira = box.jira(CLOUD)
    jira.fail(lambda r: r.method == "PUT", 429, times=2, retry_after=42, http_date=True)
    # One writer thread: the fake clock adds up sleeps that real threads would overlap.
    result = box.run("--instance", CLOUD, concurrency=1)
    assert result.code == 0, result.out + result.err[-3000:]
    assert box.time.slept == [42.0, 42.0]
    zendesk = box.zendesk()
    later = {"Retry-After": formatdate(box.time.clock() + 30, usegmt=True)}
    past = {"Retry-After": formatdate(NOW - 3600, usegmt=True)}
    zendesk.fail("GET", r"/search/export$", 429, headers=later)
    zendesk.fail("PUT", r"/tickets/\d+$", 429, times=2, headers=past)
    result = box.run("--instance", ZD, concurrency=1)
    assert result.code == 0, result.out + result.err[-3000:]
    assert box.time.slept[2:] == [30.0, 0.0, 0.0]
    assert_on_course(box)
    settle(box)


def test_twenty_percent_5xx(box: Box) -> None:
    """A fifth of all requests answer 500, 502 or 503 on every instance; on Zendesk the first
    update of three tickets, and a tenth of the updates that get through, answer 504 after
    they landed (Jira's emulator answers a status instead of the request: its 5xx never land,
    its dropped connections do, see test_dropped_connections)."""
    zendesk, rng = box.zendesk(), random.Random(20)
    for tid in list(box.planned(ZD))[:3]:
        zendesk.fail("PUT", rf"/tickets/{tid}$", 504, after_landing=True)
    for status, flaky in zip(STATUSES, shares(rng, 0.2, len(STATUSES)), strict=True):
        zendesk.fail("*", r".*", status, times=10**6, when=always(flaky))
    (tenth,) = shares(rng, 0.1, 1)
    zendesk.fail("PUT", r"/tickets/", 504, times=10**6, when=always(tenth), after_landing=True)
    for name in (CLOUD, DC):
        rng = random.Random(name)
        for status, flaky in zip(STATUSES, shares(rng, 0.2, len(STATUSES)), strict=True):
            box.jira(name).fail(always(flaky), status, times=10**6)
    result = box.run()
    assert result.code in (0, 1), result.out + result.err[-3000:]  # 1: out of retries
    emulators = box.sandbox.emulators.values()  # about a fifth of the requests failed
    assert 0.1 < sum(hits(e) for e in emulators) / sum(len(e.log) for e in emulators) < 0.35
    assert_on_course(box)  # never twice, even where a write landed behind a 5xx
    settle(box)


@pytest.mark.parametrize("lost_job", [True, False], ids=["job-lost-behind-502", "polls-503"])
def test_5xx_on_update_many_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lost_job: bool
) -> None:
    """Past 50 changes Zendesk writes through update_many jobs. Either the job request answers
    502 and was never queued (re-read, then written ticket by ticket), or the status polls
    answer 503 twice and the replies' job answers 504 once queued (looked for, not re-sent)."""
    with sandbox(tmp_path, capsys, tickets=120, due_share=0.45, platforms=("zendesk",)) as box:
        assert len(box.planned(ZD)) > 50
        zendesk = box.zendesk()
        zendesk.job_polls = 3
        if lost_job:
            zendesk.fail("PUT", r"/tickets/update_many$", 502)
        else:
            zendesk.fail("GET", r"/job_statuses/", 503, times=2)
            zendesk.fail("PUT", r"/tickets/update_many$", 504, after_landing=True, when=nth(2))
        result = box.run()
        assert result.code == 0, result.out + result.err[-3000:]
        assert not [f for f in zendesk.faults if f.times]
        assert ("PUT", "/api/v2/tickets/update_many") in zendesk.log
        assert reported(box) == {}
        assert_on_course(box)
        settle(box)


def test_dropped_connections(box: Box) -> None:
    """Connections dropped before the request landed (lost) and after (applied, no answer),
    on reads and on writes: updates, replies, comments, re-reads and searches."""
    zendesk = box.zendesk()
    zd = list(box.planned(ZD))
    replies = [t for t, c in box.planned(ZD).items() if c.public_reply and t not in zd[1:6]]
    assert len(zd) >= 6 and len(replies) >= 2
    zendesk.timeout_before_landing("GET", r"/search/export$")
    zendesk.timeout_after_landing("GET", rf"/tickets/{zd[0]}/audits$")
    zendesk.timeout_before_landing("POST", r"/oauth/tokens$")
    for tid in zd[1:4]:
        zendesk.timeout_after_landing("PUT", rf"/tickets/{tid}$")
    for tid in zd[4:6]:
        zendesk.timeout_before_landing("PUT", rf"/tickets/{tid}$")
    for tid in replies[:2]:  # the second update of a change: its public reply (a timeout)
        path = re.compile(rf"/tickets/{tid}$")
        zendesk.faults.append(Fault("PUT", path, 0, 1, when=nth(2), after_landing=True))
    for name in (CLOUD, DC):
        jira, keys = box.jira(name), list(box.planned(name))
        for key in keys[:2]:
            jira.timeout_after_landing(put(key))
        for key in keys[2:4]:
            jira.timeout_after_landing(comment(key))
        for key in keys[4:6]:
            jira.timeout_before_landing(put(key))
        jira.timeout_before_landing(bulk_read)  # the re-read before the edits, in bulk
        jira.timeout_before_landing(search)
        jira.timeout_after_landing(lambda r: r.path.endswith("/field"))
    result = box.run()
    assert result.code == 0, result.out + result.err[-3000:]
    assert not [f for f in zendesk.faults if f.times]
    for name in (CLOUD, DC):
        assert not [f for f in box.jira(name).faults if f.times]
    assert reported(box) == {}
    assert_on_course(box)
    settle(box)
