"""Webhooks into `escalate serve` (a real uvicorn server, the emulated platforms behind it):
only signed, fresh, first-seen deliveries mark a ticket, and what they mark makes one cycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import Served, jira_delivery, served, with_serve, zendesk_delivery
from tests.connector.test_run import jira_level, zendesk_notes

ZD, JIRA = "/webhooks/zendesk/zendesk", "/webhooks/jira/jira"


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


@pytest.fixture
def s(p: Platforms) -> Iterator[Served]:
    config = with_serve(p.config(), p.tmp, debounce="1s", interval="1h")
    with served(config, p.time) as found:
        found.step()  # the start's full sweep: nothing is due yet
        yield found


def writes(p: Platforms) -> int:
    """Ticket writes: Zendesk's (its reads are GETs), Jira's edits and comments (not the
    POSTed searches)."""
    jira = len(p.jira.requests("PUT", "/issue/")) + len(p.jira.requests("POST", "/comment"))
    return p.taps["zendesk"].writes + jira


def ticket_reads(p: Platforms) -> int:
    """Requests that read tickets: searches, pages, one ticket, its comments or audits."""
    zendesk = [
        path
        for m, path in p.zendesk.log
        if m == "GET" and ("/tickets" in path or "/search" in path)
    ]
    jira = [
        c
        for c in p.jira.log
        if c.method in ("GET", "POST") and ("/search" in c.path or "/issue/" in c.path)
    ]
    return len(zendesk) + len(jira)


@pytest.mark.parametrize(
    ("path", "forge"),
    [
        (ZD, lambda t, at: zendesk_delivery(t, at, secret="not-the-secret")),
        (ZD, lambda t, at: (zendesk_delivery(t, at)[0] + b" ", zendesk_delivery(t, at)[1])),
        (ZD, lambda t, at: (zendesk_delivery(t, at)[0], {"Content-Type": "application/json"})),
        (JIRA, lambda t, at: jira_delivery("SUP-1", at, secret="not-the-secret")),
        (
            JIRA,
            lambda t, at: (
                jira_delivery("SUP-1", at)[0].replace(b"SUP-1", b"SUP-2"),
                jira_delivery("SUP-1", at)[1],
            ),
        ),
    ],
    ids=[
        "zendesk-wrong-secret",
        "zendesk-body-changed",
        "zendesk-unsigned",
        "jira-wrong-secret",
        "jira-body-changed",
    ],
)
def test_a_forged_delivery_is_refused_and_changes_nothing(
    p: Platforms, s: Served, path: str, forge: object
) -> None:
    tid = p.p1(1)[0]
    p.p1(1, "jira")
    before = writes(p), ticket_reads(p)
    answer = s.post(path, forge(tid, p.time.now))  # type: ignore[operator]
    assert answer.status_code == 401
    p.time.now += 10
    s.step()
    assert (writes(p), ticket_reads(p)) == before  # no cycle ran: nothing read, nothing written
    assert s.service.shared.hints.waiting() == {}
    platform = path.split("/")[2]
    assert (
        s.metric(
            "escalation_serve_webhooks_total",
            platform=platform,
            instance=path.split("/")[3],
            result="forged",
        )
        == 1
    )


def test_a_stale_delivery_is_refused_as_a_replay(p: Platforms, s: Served) -> None:
    tid = p.p1(1)[0]
    old = zendesk_delivery(tid, p.time.now - 301)  # validly signed, five minutes ago
    assert s.post(ZD, old).status_code == 401
    ahead = zendesk_delivery(tid, p.time.now + 301)
    assert s.post(ZD, ahead).status_code == 401
    assert s.post(JIRA, jira_delivery("SUP-1", p.time.now - 301)).status_code == 401
    assert (
        s.metric(
            "escalation_serve_webhooks_total",
            platform="zendesk",
            instance="zendesk",
            result="stale",
        )
        == 2
    )
    assert s.service.shared.hints.waiting() == {}


def test_an_unknown_instance_or_platform_is_not_found(p: Platforms, s: Served) -> None:
    assert s.post("/webhooks/zendesk/nowhere", zendesk_delivery(1, p.time.now)).status_code == 404
    assert s.post("/webhooks/jira/zendesk", jira_delivery("SUP-1", p.time.now)).status_code == 404
    for i in range(3):  # labels from the configuration only: no metric per path a caller makes
        assert s.post(f"/webhooks/x{i}/y{i}", zendesk_delivery(1, p.time.now)).status_code == 404
    unknown = {"platform": "unknown", "instance": "unknown", "result": "unknown"}
    assert s.metric("escalation_serve_webhooks_total", **unknown) == 5
    assert "nowhere" not in s.get("/metrics").text


def test_a_body_past_a_megabyte_is_refused_unread(p: Platforms, s: Served) -> None:
    body, headers = zendesk_delivery(1, p.time.now)
    big = s.post(ZD, (body + b" " * (1 << 20), headers))
    assert big.status_code == 413
    chunks = iter([body, b" " * (1 << 20)])  # no Content-Length: chunked, counted as read
    streamed = s.http.post(s.url + ZD, data=chunks, headers=headers, timeout=10)
    assert streamed.status_code == 413
    assert s.service.shared.hints.waiting() == {}


def test_a_replayed_or_duplicated_delivery_writes_at_most_once(p: Platforms, s: Served) -> None:
    tid = p.p1(1)[0]
    key = p.p1(1, "jira")[0]
    zd = zendesk_delivery(tid, p.time.now, invocation="inv-1")
    jira = jira_delivery(key, p.time.now, identifier="hook-1")
    assert s.post(ZD, zd).status_code == 202
    assert s.post(ZD, zd).status_code == 200  # the same delivery again: dropped
    assert s.post(JIRA, jira).status_code == 202
    assert s.post(JIRA, jira).status_code == 200
    p.time.now += 1
    s.step()
    assert p.zendesk.field_value(int(tid), "Escalation count") == "1"
    assert jira_level(p, key) == "L2"
    after_first = writes(p)
    for _ in range(3):  # replayed later, within max_age: recognised, nothing more is written
        assert s.post(ZD, zd).status_code == 200
        assert s.post(JIRA, jira).status_code == 200
        p.time.now += 2
        s.step()
    # A new delivery for the same ticket makes a cycle, which finds it done and writes nothing.
    assert s.post(ZD, zendesk_delivery(tid, p.time.now, invocation="inv-2")).status_code == 202
    p.time.now += 2
    s.step()
    assert writes(p) == after_first
    assert zendesk_notes(p, tid) == [(False, "Escalated Printer on fire"), (True, "We are on it")]
    assert len(p.jira.issues[key].comments) == 2
    assert (
        s.metric(
            "escalation_serve_webhooks_total",
            platform="zendesk",
            instance="zendesk",
            result="duplicate",
        )
        == 4
    )


def test_a_burst_of_1000_deliveries_for_10_tickets_reads_at_most_10_times(
    p: Platforms, s: Served
) -> None:
    tickets = p.p1(10)
    before = ticket_reads(p)
    for i in range(1000):
        tid = tickets[i % 10]
        answer = s.post(ZD, zendesk_delivery(tid, p.time.now, invocation=f"inv-{i}"))
        assert answer.status_code == 202
    assert s.service.shared.hints.waiting() == {"zendesk": 10}
    p.time.now += 1
    s.step()
    assert ticket_reads(p) - before <= 10
    assert (
        s.metric(
            "escalation_serve_cycles_total", instance="zendesk", reason="webhook", outcome="ok"
        )
        == 1
    )
    for tid in tickets:
        assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
    assert s.metric("escalation_serve_hint_lateness_seconds_count", instance="zendesk") == 1


def test_a_webhook_cycle_reads_its_ticket_by_id_without_a_search(p: Platforms, s: Served) -> None:
    """The Zendesk scope names statuses only: the webhook's cycle (the interval has not come)
    reads the named ticket by id and sends no "updated since" search; Jira's key search
    goes through the search index, so its cycle searches all the same."""
    tid, key = p.p1(1)[0], p.p1(1, "jira")[0]
    zendesk_before, jira_before = len(p.zendesk.log), len(p.jira.log)
    assert s.post(ZD, zendesk_delivery(tid, p.time.now)).status_code == 202
    assert s.post(JIRA, jira_delivery(key, p.time.now)).status_code == 202
    p.time.now += 1
    s.step()
    assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
    assert jira_level(p, key) == "L2"
    zendesk = [path for _, path in p.zendesk.log[zendesk_before:]]
    assert not any("/search" in path for path in zendesk), zendesk
    assert any("/tickets/show_many" in path for path in zendesk), zendesk
    jira = [c.path for c in p.jira.log[jira_before:]]
    assert any("/search" in path for path in jira), jira
