"""The next instant (rules/due.py) against brute force: evaluating the unchanged ticket at any
moment before it gives nothing new, on the example policy (business hours, holidays, SLAs per
priority, guards, repeats), for random tickets, moments and what our own write left on them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.apply import apply_change
from rules.due import evaluate_due, next_instant
from rules.engine import evaluate_ticket
from rules.facts import Facts
from rules.model import Ticket
from tests.rules.test_replay import at, example, ticket

STEP = timedelta(minutes=20)
HORIZON = timedelta(days=4)


def quiet_until(t: Ticket, start: datetime, end: datetime) -> datetime | None:
    """The first moment in [start, end) (every STEP, and just before `end`) at which
    evaluating `t` gives a change; None if there is none."""
    moments = []
    moment = start
    while moment < end:
        moments.append(moment)
        moment += STEP
    moments.append(end - timedelta(seconds=1))
    for moment in moments:
        if moment >= start and evaluate_ticket(example(), t, moment).change is not None:
            return moment
    return None


@settings(max_examples=25, deadline=None)
@given(
    priority=st.sampled_from(["urgent", "high", "normal", "low"]),
    created_hours=st.integers(min_value=0, max_value=24 * 6),
    reply_after=st.one_of(st.none(), st.integers(min_value=1, max_value=600)),
    later_minutes=st.integers(min_value=0, max_value=60 * 24 * 3),
    write_first=st.booleans(),
)
def test_nothing_changes_before_the_next_instant(
    priority: str,
    created_hours: int,
    reply_after: int | None,
    later_minutes: int,
    write_first: bool,
) -> None:
    created = at("2026-03-23T06:00:00Z") + timedelta(hours=created_hours)  # DST on the 29th
    history: list[dict[str, Any]] = []
    if reply_after is not None:
        when = (created + timedelta(minutes=reply_after)).isoformat()
        history.append({"at": when, "kind": "comment", "actor": "agent", "text": "On it"})
    t = ticket(priority, created.isoformat(), history)
    now = created + timedelta(minutes=later_minutes)
    change = evaluate_ticket(example(), t, now).change
    if write_first and change is not None:  # as the next run finds it after our write
        t = apply_change(example(), t, change, now)
        change = evaluate_ticket(example(), t, now).change
    (outcome,) = evaluate_due(example(), [t], now)
    if change is not None:
        assert outcome.next_at == now
        return
    nxt = next_instant(Facts(example(), t, now))
    assert outcome.next_at == nxt
    assert nxt is None or nxt > now
    end = min(nxt, now + HORIZON) if nxt is not None else now + HORIZON
    assert quiet_until(t, now + timedelta(seconds=1), end) is None


def test_following_next_instants_finds_a_time_caused_change_to_the_second() -> None:
    """A P1 (24x7) nobody answered: walking from next instant to next instant reaches the
    moment its first change is due, which a minute-by-minute scan confirms."""
    start = at("2026-03-24T09:00:00Z")
    t = ticket("urgent", start.isoformat(), [])
    assert evaluate_ticket(example(), t, start).change is None
    moment, walked = start + timedelta(minutes=1), []
    while (change := evaluate_ticket(example(), t, moment).change) is None:
        nxt = next_instant(Facts(example(), t, moment))
        assert nxt is not None and nxt > moment
        moment = nxt
        walked.append(moment)
    scan = start + timedelta(minutes=1)
    while evaluate_ticket(example(), t, scan).change is None:
        scan += timedelta(minutes=1)
    assert scan - timedelta(minutes=1) < moment <= scan
    assert len(walked) < 10 and change is not None
