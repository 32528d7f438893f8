"""The tracking fields and the compact `state` record that makes evaluation idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.tracking import STATE_LIMIT, Fired, State, Tracking, rule_key

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_state_round_trip() -> None:
    state = State(
        cycle=2,
        written_at=T0,
        activity_at=T0 - timedelta(hours=3),
        awaiting="L3",
        reopens_seen=1,
        solved_seen=True,
        fired=(Fired(rule_key("p1"), 1, T0), Fired(rule_key("idle", "L2"), 3, T0)),
    )
    text = state.encode()
    assert State.parse(text) == state
    assert text.startswith("v1 c=2 ")


def test_empty_and_garbled_state() -> None:
    assert State.parse(None) == State()
    assert State.parse("  ") == State()
    garbled = State.parse("v1 c=x")
    assert garbled.corrupt and garbled.fired == ()
    assert State.parse("something an agent typed").corrupt


def test_state_drops_oldest_firings_to_fit_the_field() -> None:
    fired = tuple(
        Fired(rule_key(f"rule-{i}", "management"), 1, T0 + timedelta(minutes=i)) for i in range(40)
    )
    text = State(written_at=T0, fired=fired).encode()
    assert len(text) <= STATE_LIMIT
    kept = State.parse(text).fired
    assert kept and kept[-1].key == rule_key("rule-39", "management")
    assert rule_key("rule-0", "management") not in {f.key for f in kept}


def test_with_fired_counts() -> None:
    key = rule_key("nudge")
    state = State().with_fired(key, T0).with_fired(key, T0 + timedelta(hours=8))
    fired = state.fired_for(key)
    assert fired is not None and fired.count == 2 and fired.last == T0 + timedelta(hours=8)


def test_rule_key_is_short_and_stable() -> None:
    assert rule_key("p1-unresolved-1h") == rule_key("p1-unresolved-1h")
    assert len(rule_key("a-very-long-rule-name-indeed")) == 6
    assert rule_key("x", "L2").endswith("@L2")


def test_tracking_parse_and_raw_round_trip() -> None:
    raw = {
        "level": "L2",
        "escalated_at": "2026-11-20T10:00:00Z",
        "rule": "p1",
        "count": "2",
        "sla_due": "2026-11-20T12:00:00+01:00",
        "state": "v1 c=0",
        "request": " ",
        "approved_by": None,
    }
    tracking = Tracking.parse(raw)
    assert tracking.level == "L2" and tracking.count == 2
    assert tracking.sla_due == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    assert tracking.request is None  # blank means unset
    assert tracking.to_raw()["sla_due"] == "2026-11-20T11:00:00Z"
    assert Tracking.parse(tracking.to_raw()) == tracking


def test_tracking_tolerates_bad_values() -> None:
    tracking = Tracking.parse({"count": "many", "escalated_at": "yesterday", "level": 3})
    assert tracking.count == 0 and tracking.escalated_at is None and tracking.level == "3"
