"""History reads side by side (`history_concurrency`): audits and metric sets of one page run on
a few threads, still all or nothing, and the OAuth token they share is obtained once.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from adapters.errors import AdapterError, PermissionDenied
from adapters.zendesk.read import each
from adapters.zendesk.session import ClientCredentials
from rules.model import Ticket
from rules.needs import needs
from tests.adapters.zendesk_harness import ZendeskHarness, policy_with
from tests.emulation import request_of

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUDITS = r"^/api/v2/tickets/\d+/audits$"
#: Customer replies are events: every P1 ticket costs one audits request.
CHASING = "  - name: chasing\n    when: {all: [{priority: P1}, {customer_replies: 2}]}\n"
CHASING += "    then: {escalate: next}\n"


ZD_POLICY = policy_with(CHASING)  # the `zd` fixture (conftest) uses it


def seed_chased(zd: ZendeskHarness, count: int) -> list[int]:
    """P1 tickets (each needs its audits), every third one with two customer replies."""
    ids = [int(t) for t in zd.seed(count, priority="P1")]
    emu = zd.emulator
    for tid in ids[::3]:
        requester = emu.tickets[tid]["requester_id"]
        for text in ("still broken", "hello?"):
            zd.time.now += 60
            emu.agent_edit(tid, {"comment": {"body": text, "public": True}}, author=requester)
    return ids


def fetch(zd: ZendeskHarness, **settings: object) -> dict[str, Ticket]:
    adapter = zd.adapter(**settings)
    return {t.id: t for t in adapter.fetch(needs(zd.policy()), NOW)}


def rebind(zd: ZendeskHarness, gate: threading.Barrier | None, seen: list[int]) -> None:
    """Answer from the emulator through a callback that records how many audits requests are
    in flight at once; the first `gate.parties` audits requests wait for each other at `gate`
    (sent one at a time, they would time out there)."""
    zd.rsps.reset()
    lock = threading.Lock()
    inflight = [0]

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(str(request.url))
        audits = parts.path.endswith("/audits")
        if audits:
            with lock:
                inflight[0] += 1
                seen.append(inflight[0])
            if gate is not None and not gate.broken and len(seen) <= gate.parties:
                gate.wait(timeout=10)
        try:
            with lock:
                return zd.emulator.handle(request_of(request))
        finally:
            if audits:
                with lock:
                    inflight[0] -= 1

    pattern = re.compile(re.escape(zd.base_url) + r"/.*")
    for method in ("GET", "POST", "PUT"):
        zd.rsps.add_callback(method, pattern, callback=callback)


# --- the same tickets, sooner --------------------------------------------------------------------


def test_concurrent_history_reads_map_exactly_as_sequential_ones(tmp_path: Path) -> None:
    found: dict[int, dict[str, Ticket]] = {}
    counts: dict[int, list[tuple[str, str]]] = {}
    for workers in (1, 4):
        (tmp_path / str(workers)).mkdir()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            zd = ZendeskHarness(rsps, tmp_path / str(workers))
            zd.custom_policy = policy_with(CHASING)
            ids = seed_chased(zd, 120)
            zd.seed(30)  # P3: no events wanted
            # 150 tickets on one page: two metric-set batches of 100, 120 audits requests
            found[workers] = fetch(zd, page_size=200, history_concurrency=workers)
            counts[workers] = sorted(zd.emulator.log)
            assert zd.count("GET", AUDITS) == 120
            assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 2
            assert zd.check_spec() == len(rsps.calls)
    assert found[4] == found[1]  # every field, history included
    assert counts[4] == counts[1]  # the same requests, in another order
    chased = found[4][str(ids[0])]
    assert chased.customer_replies == 2 and chased.last_customer_comment == "hello?"
    assert found[4][str(ids[1])].history is not None


def test_history_reads_are_in_flight_side_by_side_never_more_than_the_setting(
    zd: ZendeskHarness,
) -> None:
    seed_chased(zd, 40)
    seen: list[int] = []
    gate = threading.Barrier(3)
    rebind(zd, gate, seen)
    tickets = fetch(zd, page_size=100, history_concurrency=3)
    assert len(tickets) == 40
    assert not gate.broken, "three audits requests were never in flight together"
    assert len(seen) == 40 and max(seen) == 3


def test_one_history_read_at_a_time_when_the_setting_is_1(zd: ZendeskHarness) -> None:
    seed_chased(zd, 10)
    seen: list[int] = []
    rebind(zd, None, seen)
    assert len(fetch(zd, history_concurrency=1)) == 10
    assert seen == [1] * 10


# --- all or nothing ------------------------------------------------------------------------------


def test_a_failed_audits_read_fails_the_fetch_and_yields_nothing_of_the_page(
    zd: ZendeskHarness,
) -> None:
    ids = seed_chased(zd, 30)
    zd.seed(10)
    zd.emulator.fail("GET", rf"/tickets/{ids[17]}/audits$", 500, times=100)
    adapter = zd.adapter(page_size=100, history_concurrency=4)
    got: list[Ticket] = []
    with pytest.raises(AdapterError, match=rf"tickets/{ids[17]}/audits answered 500"):
        for ticket in adapter.fetch(needs(zd.policy()), NOW):
            got.append(ticket)
    assert got == []
    assert zd.count("GET", rf"/tickets/{ids[17]}/audits$") == 5  # retried, then given up


def test_the_first_failure_stops_the_history_reads_not_yet_started(zd: ZendeskHarness) -> None:
    ids = seed_chased(zd, 100)
    zd.emulator.fail("GET", rf"/tickets/{ids[0]}/audits$", 403)  # not retried
    with pytest.raises(PermissionDenied):
        fetch(zd, page_size=100, history_concurrency=2)
    assert zd.count("GET", AUDITS) < 100


def test_each_keeps_the_order_and_raises_the_first_failure_in_order() -> None:
    assert each(lambda n: n * n, list(range(50)), 4) == [n * n for n in range(50)]
    assert each(lambda n: n, [], 4) == []

    def odd_fails(n: int) -> int:
        if n in (7, 31):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 7"):
        each(odd_fails, list(range(8)), 1)
    with pytest.raises(ValueError, match=r"item (7|31)"):
        each(odd_fails, list(range(40)), 4)


# --- one token for every thread ------------------------------------------------------------------


def test_threads_asking_for_the_first_token_at_once_obtain_one(zd: ZendeskHarness) -> None:
    """The first thread to ask holds the others back until its token is there. While its
    token request is out, a second thread gets 0.1 s to ask too: with nothing to hold it back
    it does, and a second token is requested."""
    adapter = zd.adapter()
    credentials = adapter.client.session.credentials
    assert isinstance(credentials, ClientCredentials)
    post, asked, second = credentials.post, [0], threading.Event()

    def slow_post(path: str, body: Mapping[str, Any]) -> requests.Response:
        asked[0] += 1
        if asked[0] == 1:
            second.wait(timeout=0.1)
        else:
            second.set()
        return post(path, body)

    credentials.post = slow_post
    headers: list[str] = []
    threads = [
        threading.Thread(target=lambda: headers.append(credentials.header())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(headers) == 4 and len(set(headers)) == 1
    assert zd.count("POST", r"^/oauth/tokens$") == 1
