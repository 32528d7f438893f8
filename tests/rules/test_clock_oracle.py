"""Property tests: rules.clock against a brute-force, minute-by-minute oracle.

The oracle applies the definition in rules/clock.py literally, with zoneinfo and nothing
from the module: a UTC minute counts iff its local date is not a holiday, its local
wall-clock time lies in a weekly shift (or in the after-midnight part of yesterday's
crossing shift) and it is not inside an exclude span. Shifts, spans and window edges are
whole minutes, and every zone used changes offset on whole minutes, so sampling one
instant per minute is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.clock import BusinessCalendar, HolidaySource

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "America/Sao_Paulo",  # no DST since 2019; in 2018 it switched at local midnight
]
YEARS = [2026, 2018]
MIN = 60
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Shift = tuple[time, time | None]
Week = dict[int, list[Shift]]
Spans = list[tuple[int, int]]
Scenario = tuple[str, Week, int, int, set[date]]


def _offset(t: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(t, zone).utcoffset()


@cache
def _transitions(zone_name: str, year: int) -> list[int]:
    """UTC instants (whole minutes) in `year` where the zone's offset changes: hourly scan."""
    zone = ZoneInfo(zone_name)
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    out = []
    while t < end:
        if _offset(t, zone) != _offset(t + 3600, zone):
            m = t
            while _offset(m, zone) == _offset(t, zone):
                m += MIN
            out.append(m)
        t += 3600
    return out


def oracle_working(t: int, zone: ZoneInfo, week: Week, holidays: set[date]) -> bool:
    """The definition, literally, for the instant t (POSIX seconds)."""
    local = datetime.fromtimestamp(t, zone)
    if local.date() in holidays:
        return False
    tod, wd = local.time(), local.weekday()
    for s, e in week.get(wd, []):
        if (e is None and tod >= s) or (e is not None and (s <= tod < e or (e < s <= tod))):
            return True
    return any(e is not None and e < s and tod < e for s, e in week.get((wd - 1) % 7, []))


def oracle_minutes(
    start: int, end: int, *, zone: ZoneInfo, week: Week, hol: set[date], excl: Spans
) -> Iterator[int]:
    """The working, non-excluded minutes in [start, end), in order."""
    for m in range(start, end, MIN):
        if not any(a <= m < b for a, b in excl) and oracle_working(m, zone, week, hol):
            yield m


# Shift edges: any minute, but often ones that meet DST switches (01:00-03:00), midnight,
# or office hours.
minute_of_day = st.one_of(
    st.integers(0, 1439), st.sampled_from([0, 30, 60, 90, 120, 150, 180, 240, 540, 1020, 1380])
)


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    s = draw(minute_of_day)
    kind = draw(st.sampled_from(["day", "cross", "none"]))
    if kind == "none":
        return time(s // 60, s % 60), None
    e = draw(minute_of_day.filter(lambda e: e != s))
    if (kind == "cross") != (e < s):
        s, e = e, s  # make the shift cross midnight iff asked to
    if e == 0 and kind == "day":
        e = 1440
    end = None if e == 1440 else time(e // 60, e % 60)
    return time(s // 60, s % 60), end


@st.composite
def weeks(draw: st.DrawFn) -> Week:
    """Mostly random weeks; sometimes no hours at all or plain Mon-Fri 09-17."""
    kind = draw(st.integers(0, 9))  # Hypothesis favours 0: make that the random branch
    if kind == 8:
        return {}
    if kind == 9:
        return {d: [(time(9), time(17))] for d in range(5)}
    days = st.lists(shifts(), min_size=1, max_size=3)
    return draw(st.dictionaries(st.integers(0, 6), days, min_size=1))


@st.composite
def scenarios(draw: st.DrawFn, zone: str, max_days: int = 10) -> Scenario:
    """Zone, week, window [start, end) in whole minutes and explicit holidays near it."""
    year = draw(st.sampled_from(YEARS))
    trans = _transitions(zone, year)
    length = draw(st.integers(0, max_days)) * 1440 + draw(st.integers(0, 1439))
    if trans and draw(st.integers(0, 3)) < 3:  # mostly a window around a DST switch
        start = draw(st.sampled_from(trans)) - MIN * draw(st.integers(-60, length + 60))
    else:
        base = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
        start = base + MIN * draw(st.integers(0, 364 * 1440))
    end = start + MIN * length
    first = datetime.fromtimestamp(start, UTC).date() - timedelta(days=1)
    hol = {
        first + timedelta(days=k) for k in draw(st.sets(st.integers(0, max_days + 2), max_size=3))
    }
    return zone, draw(weeks()), start, end, hol


def spans_near(start: int, end: int) -> st.SearchStrategy[Spans]:
    """1-3 minute-aligned spans, possibly overlapping or sticking out of [start, end)."""
    n = (end - start) // MIN
    edge = st.integers(-60, n + 60).map(lambda k: start + k * MIN)
    span = st.tuples(edge, edge).map(lambda p: (min(p), max(p)))
    return st.lists(span, min_size=1, max_size=3)


def make(zone: str, week: Week, hol: set[date]) -> BusinessCalendar:
    return BusinessCalendar("t", zone, week, HolidaySource(dates=hol))


@pytest.mark.parametrize("zone", ZONES)
@SETTINGS
@given(data=st.data())
def test_elapsed_matches_oracle(zone: str, data: st.DataObject) -> None:
    _, week, start, end, hol = data.draw(scenarios(zone))
    excl = data.draw(spans_near(start, end)) if data.draw(st.integers(0, 2)) < 2 else []
    cal = make(zone, week, hol)
    minutes = oracle_minutes(start, end, zone=ZoneInfo(zone), week=week, hol=hol, excl=excl)
    expected = 60 * sum(1 for _ in minutes)
    assert cal.elapsed_ts(start, end, excl) == expected
    dt = [(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in excl]
    got = cal.elapsed(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), dt)
    assert got == expected


@pytest.mark.parametrize("zone", ZONES)
@SETTINGS
@given(data=st.data())
def test_add_matches_oracle(zone: str, data: st.DataObject) -> None:
    _, week, start, end, hol = data.draw(scenarios(zone, max_days=4))
    excl = data.draw(spans_near(start, end)) if data.draw(st.integers(0, 2)) < 2 else []
    cal = make(zone, week, hol)
    walk = 8 * 86400  # the oracle walks at most eight days
    oracle = oracle_minutes(start, start + walk, zone=ZoneInfo(zone), week=week, hol=hol, excl=excl)
    minutes = list(islice(oracle, 2 * 1440 + 1))
    # Often aim exactly at the end of a run of working minutes (a shift end), where the
    # earliest instant is the shift end itself, not the start of the next shift.
    run_ends = [i + 1 for i in range(len(minutes) - 1) if minutes[i + 1] != minutes[i] + MIN]
    aim_at_run_end = data.draw(st.booleans())
    if run_ends and aim_at_run_end:
        k = data.draw(st.sampled_from(run_ends))
    else:
        k = data.draw(st.integers(1, 2 * 1440))
    got = cal.add_ts(start, k * MIN, excl)
    if len(minutes) >= k:
        assert got == minutes[k - 1] + MIN  # the end of the k-th working minute
        assert cal.elapsed_ts(start, got, excl) == k * MIN
        assert cal.elapsed_ts(start, got - MIN, excl) < k * MIN
        dt = [(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in excl]
        assert cal.add(datetime.fromtimestamp(start, UTC), k * MIN, dt) == datetime.fromtimestamp(
            got, UTC
        )
    else:
        assert got is None or got > start + walk


@pytest.mark.parametrize("zone", ZONES)
@SETTINGS
@given(data=st.data())
def test_additivity_and_is_working(zone: str, data: st.DataObject) -> None:
    _, week, a, c, hol = data.draw(scenarios(zone))
    b = data.draw(st.integers(a - 86400, c + 86400))  # whole seconds, not minutes
    excl = data.draw(spans_near(a, c))
    cal = make(zone, week, hol)
    lo, mid, hi = sorted((a, b, c))
    left, right = cal.elapsed_ts(lo, mid, excl), cal.elapsed_ts(mid, hi, excl)
    assert left + right == cal.elapsed_ts(lo, hi, excl)
    assert cal.elapsed_ts(hi, lo, excl) == 0.0
    for t in data.draw(st.lists(st.integers(a, max(a, c)), max_size=20)):
        when = datetime.fromtimestamp(t, UTC)
        assert cal.is_working(when) == oracle_working(t, ZoneInfo(zone), week, hol)


@pytest.mark.parametrize("zone", ZONES)
@SETTINGS
@given(data=st.data())
def test_transitions_match_scan(zone: str, data: st.DataObject) -> None:
    _, week, start, end, hol = data.draw(scenarios(zone))
    cal = make(zone, week, hol)
    got = cal.transitions_between(
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    )
    year = datetime.fromtimestamp(start, UTC).year
    known = _transitions(zone, year) + _transitions(zone, year + 1)
    assert [int(g.timestamp()) for g in got] == [t for t in known if start <= t < end]
