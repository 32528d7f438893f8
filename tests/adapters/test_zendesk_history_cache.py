"""Ticket histories kept between runs (adapters/history_cache.py): a run reads the audits of
the tickets updated since the last one, and maps every ticket exactly as a run without the
cache would.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from adapters.errors import AdapterError
from adapters.history_cache import HistoryCache, cache_path
from adapters.package import Wiring
from adapters.zendesk.adapter import ZendeskAdapter, build
from rules.history import summarise, without_unread_text
from rules.model import Actor, Event, EventKind, StatusCategory, Ticket
from rules.needs import needs
from tests.adapters.test_zendesk_concurrent_reads import AUDITS, CHASING, seed_chased
from tests.adapters.zendesk_harness import ZendeskHarness, policy_with

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


ZD_POLICY = policy_with(CHASING)  # the `zd` fixture (conftest) uses it


def adapter(zd: ZendeskHarness, state: Path | None, **settings: object) -> ZendeskAdapter:
    return build(
        "zendesk-test",
        zd.settings(**{"page_size": 100, **settings}),
        zd.policy(),
        Wiring(zd.time.clock, zd.time.sleep, state),
    )


def fetch(
    zd: ZendeskHarness, state: Path | None, now: datetime = NOW, **settings: object
) -> dict[str, Ticket]:
    a = adapter(zd, state, **settings)
    try:
        return {t.id: t for t in a.fetch(needs(zd.policy()), now)}
    finally:
        a.close()


def slim(tickets: dict[str, Ticket]) -> dict[str, Ticket]:
    """The tickets as the cache gives them back: history texts the engine never reads gone."""
    return {
        k: t if t.history is None else replace(t, history=tuple(without_unread_text(t.history)))
        for k, t in tickets.items()
    }


def audits_read(zd: ZendeskHarness) -> list[str]:
    return [p.split("/")[4] for m, p in zd.emulator.log if m == "GET" and p.endswith("/audits")]


def test_a_second_run_reads_no_history_of_tickets_not_updated_since(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    seed_chased(zd, 30)
    first = fetch(zd, tmp_path / "state")
    assert len(audits_read(zd)) == 30
    with structlog.testing.capture_logs() as logs:
        second = fetch(zd, tmp_path / "state")
    assert len(audits_read(zd)) == 30, "nothing was updated: no audits read again"
    said = [e for e in logs if e["event"] == "history_cache"]
    assert [(e["kept"], e["read"]) for e in said] == [(30, 0)]
    assert second == slim(first)  # every field, the history and the figures derived from it
    assert second != first, "the texts the engine never reads are not kept"
    assert fetch(zd, None) == first


def test_a_cache_opened_but_never_read_says_nothing(tmp_path: Path) -> None:
    """doctor and backtest sign in (which opens the cache) but read no history through it:
    no "kept 0, read 0" line on their stderr."""
    cache = HistoryCache(tmp_path / "h.sqlite3", platform="zendesk", policy=ZD_POLICY)
    with structlog.testing.capture_logs() as logs:
        cache.open("https://x.zendesk.com user 1")
        cache.close()
    assert [e for e in logs if e["event"] == "history_cache"] == []


def test_a_ticket_updated_since_is_read_again_and_its_new_comment_counts(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    ids = seed_chased(zd, 9)
    state = tmp_path / "state"
    assert fetch(zd, state)[str(ids[0])].customer_replies == 2
    zd.time.now += 60
    requester = zd.emulator.tickets[ids[0]]["requester_id"]
    zd.emulator.agent_edit(ids[0], {"comment": {"body": "third", "public": True}}, author=requester)
    before = len(audits_read(zd))
    tickets = fetch(zd, state)
    assert audits_read(zd)[before:] == [str(ids[0])]
    assert tickets[str(ids[0])].customer_replies == 3
    assert tickets[str(ids[0])].last_customer_comment == "third"


def test_a_history_read_within_a_minute_of_the_last_update_is_not_kept(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """`updated_at` has one-second resolution: an update in the second the history was read
    in would not move it, so a history that recent is read again next time."""
    (tid,) = seed_chased(zd, 1)
    updated = datetime.fromisoformat(zd.emulator.tickets[tid]["updated_at"])
    fetch(zd, tmp_path / "state", now=updated + timedelta(seconds=59))
    fetch(zd, tmp_path / "state", now=updated + timedelta(seconds=59))
    assert len(audits_read(zd)) == 2
    fetch(zd, tmp_path / "state", now=updated + timedelta(seconds=60))
    fetch(zd, tmp_path / "state", now=updated + timedelta(seconds=60))
    assert len(audits_read(zd)) == 3


def test_tickets_that_leave_the_scope_are_forgotten(zd: ZendeskHarness, tmp_path: Path) -> None:
    ids = seed_chased(zd, 6)
    state = tmp_path / "state"
    fetch(zd, state)
    zd.time.now += 1
    zd.emulator.agent_edit(ids[1], {"status": "solved"})
    fetch(zd, state)
    with sqlite3.connect(cache_path(state, "zendesk-test")) as db:
        kept = {row[0] for row in db.execute("SELECT ticket FROM history")}
    assert kept == {str(t) for t in ids} - {str(ids[1])}


def test_a_fetch_that_fails_part_way_keeps_the_pages_it_read(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    ids = seed_chased(zd, 30)
    zd.emulator.fail("GET", rf"/tickets/{ids[25]}/audits$", 500, times=100)
    with pytest.raises(AdapterError):
        fetch(zd, tmp_path / "state", page_size=10)
    read = len(audits_read(zd))
    zd.emulator.faults.clear()
    fetch(zd, tmp_path / "state", page_size=10)
    again = audits_read(zd)[read:]
    assert len(again) == 10, "the two complete pages were kept; the failed one is read again"
    assert str(ids[25]) in again


def test_the_file_is_private_and_keeps_only_the_text_the_engine_reads(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    seed_chased(zd, 1)
    state = tmp_path / "state"
    fetch(zd, state)
    path = cache_path(state, "zendesk-test")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert b"hello?" in data  # the last public customer comment: customer_request reads it
    assert b"still broken" not in data


def test_another_identity_or_account_starts_an_empty_cache(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    seed_chased(zd, 3)
    state = tmp_path / "state"
    fetch(zd, state)
    with sqlite3.connect(cache_path(state, "zendesk-test")) as db:
        db.execute("UPDATE meta SET value = 'another account'")
    fetch(zd, state)
    assert len(audits_read(zd)) == 6


def test_a_corrupt_file_is_said_once_and_the_run_reads_every_history(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    seed_chased(zd, 4)
    state = tmp_path / "state"
    path = cache_path(state, "zendesk-test")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    with structlog.testing.capture_logs() as logs:
        first = fetch(zd, state)
    assert [e["event"] for e in logs] == ["history_cache_off"]
    assert "delete the file" in logs[0]["hint"]
    assert len(first) == 4 and len(audits_read(zd)) == 4
    assert first == fetch(zd, None)  # nothing kept: every text as read


def test_the_setting_turns_it_off(zd: ZendeskHarness, tmp_path: Path) -> None:
    seed_chased(zd, 3)
    fetch(zd, tmp_path / "state", history_cache=False)
    fetch(zd, tmp_path / "state", history_cache=False)
    assert len(audits_read(zd)) == 6
    assert not (tmp_path / "state").exists()


def test_only_tickets_wanting_events_are_kept(zd: ZendeskHarness, tmp_path: Path) -> None:
    chased = seed_chased(zd, 3)
    zd.seed(5)  # P3: the policy reads no history of them
    fetch(zd, tmp_path / "state")
    assert zd.count("GET", AUDITS) == 3
    with sqlite3.connect(cache_path(tmp_path / "state", "zendesk-test")) as db:
        assert {r[0] for r in db.execute("SELECT ticket FROM history")} == {str(t) for t in chased}


# --- the cache alone -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def event(minutes: int, actor: Actor, text: str | None = None, public: bool = True) -> Event:
    kind = EventKind.COMMENT if text is not None else EventKind.STATUS
    value = None if text is not None else "open"
    return Event(T0 + timedelta(minutes=minutes), kind, actor, value, public, text)


HISTORY = [
    event(0, Actor.CUSTOMER, "it broke"),
    event(5, Actor.AGENT, "looking"),
    event(6, Actor.AGENT),
    event(9, Actor.CUSTOMER, "still broken"),
    event(10, Actor.CUSTOMER, "escalate please"),
    event(11, Actor.AGENT, "private note", public=False),
    event(12, Actor.CUSTOMER, "a private customer note", public=False),
]


def test_without_unread_text_keeps_the_summary() -> None:
    slim = without_unread_text(HISTORY)
    assert summarise(slim) == summarise(HISTORY)
    assert [e.text for e in slim if e.text] == ["escalate please"]
    assert without_unread_text([]) == []


def test_the_cache_round_trips_events_with_the_policy_mapping_statuses(tmp_path: Path) -> None:
    policy = policy_with(CHASING)
    cache = HistoryCache(tmp_path / "c.sqlite3", platform="zendesk", policy=policy)
    cache.open("acme me")
    now = T0 + timedelta(hours=1)
    cache.put([("7", "2026-03-02T08:12:00Z", T0 + timedelta(minutes=12), HISTORY)], now)
    got = cache.get({"7": "2026-03-02T08:12:00Z", "8": "x"})
    assert list(got) == ["7"] and (cache.hits, cache.misses) == (1, 1)
    uncategorised = [replace(e, category=None) for e in got["7"]]
    assert uncategorised == without_unread_text(HISTORY)
    assert got["7"][2].kind is EventKind.STATUS and got["7"][2].category is StatusCategory.OPEN
    assert cache.get({"7": "2026-03-02T08:12:01Z"}) == {}, "another updated_at: read again"
    cache.close()
