"""Hand-checked cases for rules.clock.

Timings (timeit, best of 3 x 200k calls, CPython 3.11.7 in this container while other test
runs shared the machine, load ~2.5; warm table unless noted; not asserted anywhere):
    BusinessCalendar.elapsed_ts, Mon-Fri 09-17 Berlin, 3-day span     0.85-1.2 us/call
    ... with 2 exclude spans                                            3.0-4.7 us/call
    BusinessCalendar.add_ts, 20 working hours ahead                     1.2-1.8 us/call
    ... with 2 exclude spans                                            5.1-6.0 us/call
    AlwaysOn.elapsed_ts / add_ts                                        0.10-0.20 us/call
    elapsed() / add() on datetimes (conversions included)               3-4.4 us/call
    cold: first call on a calendar ~1 ms; no-hours add() builds 3 years ~9 ms (once);
    a table spanning 1970-2026 ~0.2 s (once)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.clock import (
    HORIZON,
    AlwaysOn,
    BusinessCalendar,
    Calendar,
    HolidaySource,
    weekly_working_seconds,
)

H = 3600
BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")
MON_FRI_9_17 = {d: [(time(9), time(17))] for d in range(5)}
NIGHTS = {d: [(time(22), time(6))] for d in range(5)}  # Mon-Fri 22:00 -> next day 06:00
EARLY = {d: [(time(1), time(4))] for d in range(7)}  # daily 01:00-04:00 local, DST-prone


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def ber(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BER)  # wall clock; fold=0 if ambiguous


def nyc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NYC)


def calendars() -> dict[str, Calendar]:
    """Fresh calendars per test (each builds its own table)."""
    return {
        "office_de": BusinessCalendar("office", "Europe/Berlin", MON_FRI_9_17, HolidaySource("DE")),
        "office_de_28": BusinessCalendar(
            "office", "Europe/Berlin", MON_FRI_9_17, HolidaySource("DE", dates=[date(2026, 12, 28)])
        ),
        "office_ny": BusinessCalendar("office", "America/New_York", MON_FRI_9_17, HolidaySource()),
        "nights": BusinessCalendar("n", "UTC", NIGHTS, HolidaySource()),
        "nights_hol_tue": BusinessCalendar(
            "n", "UTC", NIGHTS, HolidaySource(dates=[date(2026, 3, 24)])
        ),
        "nights_hol_mon": BusinessCalendar(
            "n", "UTC", NIGHTS, HolidaySource(dates=[date(2026, 3, 23)])
        ),
        "early_ber": BusinessCalendar("e", "Europe/Berlin", EARLY, HolidaySource()),
        "early_ny": BusinessCalendar("e", "America/New_York", EARLY, HolidaySource()),
        "lord_howe": BusinessCalendar(
            "lh",
            "Australia/Lord_Howe",
            {d: [(time(1), time(3))] for d in range(7)},
            HolidaySource(),
        ),
        "sp_0_2": BusinessCalendar(
            "sp", "America/Sao_Paulo", {d: [(time(0), time(2))] for d in range(7)}, HolidaySource()
        ),
        "sp_0_2_hol": BusinessCalendar(
            "sp",
            "America/Sao_Paulo",
            {d: [(time(0), time(2))] for d in range(7)},
            HolidaySource(dates=[date(2018, 11, 4)]),
        ),
        "sp_23": BusinessCalendar(
            "sp", "America/Sao_Paulo", {d: [(time(23), None)] for d in range(7)}, HolidaySource()
        ),
        "sp_23_hol": BusinessCalendar(
            "sp",
            "America/Sao_Paulo",
            {d: [(time(23), None)] for d in range(7)},
            HolidaySource(dates=[date(2018, 2, 17)]),
        ),
        "none": BusinessCalendar("none", "UTC", {}, HolidaySource()),
        "24x7": AlwaysOn(),
    }


ELAPSED = [
    # Wed 08:00-18:00 local: the whole 09-17 shift.
    ("office_de", ber(2026, 3, 18, 8), ber(2026, 3, 18, 18), 8 * H),
    # Fri 16:00 -> Mon 10:00: Fri 16-17 + Mon 09-10; the weekend counts nothing.
    ("office_de", ber(2026, 3, 20, 16), ber(2026, 3, 23, 10), 2 * H),
    # Same, across spring forward (Sun 03-29): Fri 16:00 CET = 15Z, Mon 10:00 CEST = 08Z.
    ("office_de", utc(2026, 3, 27, 15), utc(2026, 3, 30, 8), 2 * H),
    # Thu 12-24 09:00 -> Mon 12-28 09:00: Thu 8h; Fri 12-25 is Christmas (holidays pkg).
    ("office_de", ber(2026, 12, 24, 9), ber(2026, 12, 28, 9), 8 * H),
    # Thu 12-24 09:00 -> Tue 12-29 12:00 with 12-28 an explicit holiday: Thu 8h + Tue 3h.
    ("office_de_28", ber(2026, 12, 24, 9), ber(2026, 12, 29, 12), 11 * H),
    # The same span without the explicit date: Thu 8h + Mon 8h + Tue 3h.
    ("office_de", ber(2026, 12, 24, 9), ber(2026, 12, 29, 12), 19 * H),
    # Night shift, Mon 20:00 -> Tue 08:00 UTC: Mon 22-24 + Tue 00-06.
    ("nights", utc(2026, 3, 23, 20), utc(2026, 3, 24, 8), 8 * H),
    # Tue (second date) is a holiday: the after-midnight 00-06 part is dropped.
    ("nights_hol_tue", utc(2026, 3, 23, 20), utc(2026, 3, 24, 8), 2 * H),
    # Mon (start date) is a holiday: only Mon 22-24 is dropped, Tue 00-06 stays.
    ("nights_hol_mon", utc(2026, 3, 23, 20), utc(2026, 3, 24, 8), 6 * H),
    # Friday's night shift runs into Saturday 00-06.
    ("nights", utc(2026, 3, 27, 20), utc(2026, 3, 28, 8), 8 * H),
    # Sunday has no shift, so Monday 00-06 is not working.
    ("nights", utc(2026, 3, 29, 20), utc(2026, 3, 30, 8), 0),
    # Berlin spring forward 2026-03-29 (02:00 CET -> 03:00 CEST at 01Z): local 01-02 and 03-04.
    ("early_ber", ber(2026, 3, 29), ber(2026, 3, 30), 2 * H),
    # Berlin fall back 2026-10-25 (03:00 CEST -> 02:00 CET at 01Z): 02-03 local happens twice.
    ("early_ber", ber(2026, 10, 25), ber(2026, 10, 26), 4 * H),
    # ... and the repeated hour alone: 01Z-02Z is 02:00-03:00 CET, the second pass.
    ("early_ber", utc(2026, 10, 25, 1), utc(2026, 10, 25, 2), 1 * H),
    # New York spring forward 2026-03-08 (02:00 EST -> 03:00 EDT at 07Z): 01-02 and 03-04.
    ("early_ny", nyc(2026, 3, 8), nyc(2026, 3, 9), 2 * H),
    # New York fall back 2026-11-01 (02:00 EDT -> 01:00 EST at 06Z): 01-02 twice, 02-04.
    ("early_ny", nyc(2026, 11, 1), nyc(2026, 11, 2), 4 * H),
    # NY office, Fri 16:00 EST (21Z) -> Mon 10:00 EDT (14Z) over the DST weekend.
    ("office_ny", utc(2026, 3, 6, 21), utc(2026, 3, 9, 14), 2 * H),
    # A whole local week containing the switch still has 5 x 8h.
    ("office_ny", nyc(2026, 3, 2), nyc(2026, 3, 9), 40 * H),
    # Lord Howe 2026-04-05, 02:00 +11 -> 01:30 +10:30 at 15Z; shift 01-03 local:
    # 01:00-02:00 (+11, 14Z-15Z) + 01:30-02:00 again (15Z-15:30Z) + 02:00-03:00 (15:30Z-16:30Z).
    ("lord_howe", utc(2026, 4, 4, 12), utc(2026, 4, 5, 12), 2.5 * H),
    # Sao Paulo 2018-11-04 jumped 00:00 -> 01:00 (-03 -> -02); shift 00-02 daily:
    # Nov 3: 2h, Nov 4: only 01-02 exists, Nov 5: 2h.
    ("sp_0_2", utc(2018, 11, 3), utc(2018, 11, 5, 12), 5 * H),
    # ... with Nov 4 a holiday: 2h + 2h.
    ("sp_0_2_hol", utc(2018, 11, 3), utc(2018, 11, 5, 12), 4 * H),
    # Sao Paulo 2018-02-18 00:00 (-02) fell back to 02-17 23:00 (-03): the local date
    # goes backwards. Shift 23-24 daily: Feb 17 23-24 twice (01Z-03Z) + Feb 18 23-24 (Feb 19 02Z).
    ("sp_23", utc(2018, 2, 17, 12), utc(2018, 2, 19, 12), 3 * H),
    # ... with Feb 17 a holiday both passes of its 23:00 hour are dropped.
    ("sp_23_hol", utc(2018, 2, 17, 12), utc(2018, 2, 19, 12), 1 * H),
    # No hours at all.
    ("none", utc(2026, 1, 1), utc(2027, 1, 1), 0),
    # 24x7 counts everything; DST does not matter on UTC instants.
    ("24x7", ber(2026, 3, 28, 12), ber(2026, 3, 29, 12), 23 * H),
    # end <= start is zero, never negative.
    ("office_de", ber(2026, 3, 18, 12), ber(2026, 3, 18, 10), 0),
    ("24x7", utc(2026, 1, 2), utc(2026, 1, 1), 0),
]


@pytest.mark.parametrize(("cal", "start", "end", "expected"), ELAPSED)
def test_elapsed(cal: str, start: datetime, end: datetime, expected: float) -> None:
    c = calendars()[cal]
    assert c.elapsed(start, end) == expected
    assert c.elapsed_ts(start.timestamp(), end.timestamp()) == expected


WED = (2026, 3, 18)  # Berlin office day 09-17 CET = 08Z-16Z
EXCLUDE = [
    # Overlapping spans are a union: 10Z-12Z removed from 8h.
    ([(utc(*WED, 10), utc(*WED, 11)), (utc(*WED, 10, 30), utc(*WED, 12))], 6 * H),
    # Unsorted, and one sticking out before the shift start: 08Z-09Z and 15Z-16Z removed.
    ([(utc(*WED, 15), utc(*WED, 20)), (utc(*WED, 6), utc(*WED, 9))], 6 * H),
    # Spans over non-working time or outside [start, end) change nothing.
    ([(utc(2026, 3, 21), utc(2026, 3, 22)), (utc(*WED, 18), utc(*WED, 19))], 8 * H),
    # An empty or reversed span is ignored.
    ([(utc(*WED, 12), utc(*WED, 12)), (utc(*WED, 13), utc(*WED, 11))], 8 * H),
]


@pytest.mark.parametrize(("exclude", "expected"), EXCLUDE)
def test_elapsed_exclude(exclude: list[tuple[datetime, datetime]], expected: float) -> None:
    c = calendars()["office_de"]
    assert c.elapsed(utc(*WED, 0), utc(*WED, 23), exclude) == expected
    spans = [(a.timestamp(), b.timestamp()) for a, b in exclude]
    assert c.elapsed_ts(utc(*WED, 0).timestamp(), utc(*WED, 23).timestamp(), spans) == expected


def test_always_on_exclude() -> None:
    c = AlwaysOn()
    assert c.name == "24x7"
    spans = [(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)), (utc(2026, 1, 1, 1, 30), utc(2026, 1, 1, 3))]
    # 10h minus the union 01:00-03:00.
    assert c.elapsed(utc(2026, 1, 1), utc(2026, 1, 1, 10), spans) == 8 * H
    # 2h from 00:00 pauses 01:00-03:00, so ends at 04:00.
    assert c.add(utc(2026, 1, 1), 2 * H, spans) == utc(2026, 1, 1, 4)


ADD = [
    # Wed 09:00 CET + 8h ends at 17:00 CET (16Z) the same day, not Thu 09:00.
    ("office_de", ber(2026, 3, 18, 9), 8 * H, utc(2026, 3, 18, 16)),
    # Fri 16:00 + 1h is Fri 17:00 exactly.
    ("office_de", ber(2026, 3, 20, 16), 1 * H, utc(2026, 3, 20, 16)),
    # One second more spills to Mon 09:00:01 CET.
    ("office_de", ber(2026, 3, 20, 16), 1 * H + 1, utc(2026, 3, 23, 8, 0, 1)),
    # Starting at 17:00 sharp: the next working second is Thu 09:00.
    ("office_de", ber(2026, 3, 18, 17), 1, utc(2026, 3, 19, 8, 0, 1)),
    # From Saturday noon, 1h ends Mon 10:00 CET.
    ("office_de", ber(2026, 3, 21, 12), 1 * H, utc(2026, 3, 23, 9)),
    # Across spring forward: Fri 16:00 CET (15Z) + 2h = Mon 10:00 CEST (08Z).
    ("office_de", utc(2026, 3, 27, 15), 2 * H, utc(2026, 3, 30, 8)),
    # Thu 12-24 16:00 + 2h: Thu 1h, Fri is Christmas, weekend, Mon 12-28 10:00 CET (09Z).
    ("office_de", ber(2026, 12, 24, 16), 2 * H, utc(2026, 12, 28, 9)),
    # ... and with 12-28 also a holiday: Tue 12-29 10:00 CET.
    ("office_de_28", ber(2026, 12, 24, 16), 2 * H, utc(2026, 12, 29, 9)),
    # Spring forward, shift 01-04 local from 00Z (01:00 CET): 1h ends at the gap, 01Z.
    ("early_ber", utc(2026, 3, 29, 0), 1 * H, utc(2026, 3, 29, 1)),
    # 1.5h: the gap is skipped, 30 min into 03:00 CEST.
    ("early_ber", utc(2026, 3, 29, 0), 1.5 * H, utc(2026, 3, 29, 1, 30)),
    # Fall back, from 00Z (02:00 CEST): 2h runs through both passes of 02-03.
    ("early_ber", utc(2026, 10, 25, 0), 2 * H, utc(2026, 10, 25, 2)),
    # Night shift Mon 23:00 + 7h: Mon 23-24 + Tue 00-06.
    ("nights", utc(2026, 3, 23, 23), 7 * H, utc(2026, 3, 24, 6)),
    # With Tue a holiday: Mon 23-24; all of Tue (00-06 and 22-24) is dropped; then
    # Wed 00-06 from Tuesday's shift (Wed is no holiday) gives the other 6h.
    ("nights_hol_tue", utc(2026, 3, 23, 23), 7 * H, utc(2026, 3, 25, 6)),
    # Non-positive amounts return the start instant (in UTC).
    ("office_de", ber(2026, 3, 21, 12), 0, utc(2026, 3, 21, 11)),
    ("office_de", ber(2026, 3, 21, 12), -5, utc(2026, 3, 21, 11)),
    # No working hours: never reached within HORIZON.
    ("none", utc(2026, 1, 1), 1, None),
    ("24x7", ber(2026, 3, 28, 12), 24 * H, utc(2026, 3, 29, 11)),
    ("24x7", utc(2026, 1, 1), HORIZON + 1, None),
]


@pytest.mark.parametrize(("cal", "start", "seconds", "expected"), ADD)
def test_add(cal: str, start: datetime, seconds: float, expected: datetime | None) -> None:
    c = calendars()[cal]
    got = c.add(start, seconds)
    assert got == expected
    assert got is None or got.utcoffset() == timedelta(0)
    ts = c.add_ts(start.timestamp(), seconds)
    assert ts == (None if expected is None else expected.timestamp())


ADD_EXCLUDE = [
    # Wed 08Z + 2h, paused 09Z-10Z: 11Z.
    ([(utc(*WED, 9), utc(*WED, 10))], 2 * H, utc(*WED, 11)),
    # 1h is already reached at 09Z, where the pause starts: earliest instant is 09Z.
    ([(utc(*WED, 9), utc(*WED, 10))], 1 * H, utc(*WED, 9)),
    # A pause that began before the start: nothing counts until 08:30Z.
    ([(utc(*WED, 7), utc(*WED, 8, 30))], 1 * H, utc(*WED, 9, 30)),
    # A pause over the rest of the day: 1h on Wed + 7h on Thu (08Z-15Z).
    ([(utc(*WED, 9), utc(2026, 3, 19))], 8 * H, utc(2026, 3, 19, 15)),
]


@pytest.mark.parametrize(("exclude", "seconds", "expected"), ADD_EXCLUDE)
def test_add_exclude(
    exclude: list[tuple[datetime, datetime]], seconds: float, expected: datetime
) -> None:
    c = calendars()["office_de"]
    assert c.add(utc(*WED, 8), seconds, exclude) == expected


def test_is_working() -> None:
    cals = calendars()
    assert cals["office_de"].is_working(ber(2026, 3, 18, 9))  # shift start is inclusive
    assert not cals["office_de"].is_working(ber(2026, 3, 18, 17))  # shift end is exclusive
    assert not cals["office_de"].is_working(ber(2026, 12, 25, 10))  # Christmas
    assert cals["early_ber"].is_working(utc(2026, 10, 25, 1, 30))  # 02:30 CET, second pass
    assert not cals["nights_hol_tue"].is_working(utc(2026, 3, 24, 3))
    assert cals["24x7"].is_working(utc(2026, 3, 24, 3))


def test_holidays_between() -> None:
    cals = calendars()
    got = cals["office_de_28"].holidays_between(ber(2026, 12, 20), ber(2027, 1, 2))
    assert [d for d, _ in got] == [
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 12, 28),
        date(2027, 1, 1),
    ]
    assert dict(got)[date(2026, 12, 28)] == "holiday"
    assert all(name for _, name in got)
    # End is exclusive: [12-25 00:00, 12-26 00:00) only hits 12-25.
    assert [
        d for d, _ in cals["office_de"].holidays_between(ber(2026, 12, 25), ber(2026, 12, 26))
    ] == [date(2026, 12, 25)]
    assert cals["24x7"].holidays_between(utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_holiday_source_names() -> None:
    src = HolidaySource(dates=[date(2026, 5, 4)], names={date(2026, 6, 1): "Company day"})
    assert src.name(date(2026, 5, 4)) == "holiday"
    assert src.name(date(2026, 6, 1)) == "Company day"  # a named date is a holiday too
    assert src.name(date(2026, 6, 2)) is None
    de = HolidaySource("DE", subdiv="BY")
    assert de.name(date(2026, 1, 6)) is not None  # Epiphany: Bavaria only
    assert HolidaySource("DE").name(date(2026, 1, 6)) is None


def test_transitions_between() -> None:
    cals = calendars()
    year = (utc(2026, 1, 1), utc(2027, 1, 1))
    assert cals["office_de"].transitions_between(*year) == [
        utc(2026, 3, 29, 1),
        utc(2026, 10, 25, 1),
    ]
    assert cals["office_ny"].transitions_between(*year) == [utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)]
    # [start, end): an end exactly at the switch excludes it, a start exactly at it includes it.
    assert cals["office_de"].transitions_between(utc(2026, 3, 1), utc(2026, 3, 29, 1)) == []
    assert cals["office_de"].transitions_between(utc(2026, 3, 29, 1), utc(2026, 3, 30)) == [
        utc(2026, 3, 29, 1)
    ]
    assert cals["24x7"].transitions_between(*year) == []


@pytest.mark.parametrize(
    ("week", "expected"),
    [
        (MON_FRI_9_17, 40 * H),
        (NIGHTS, 40 * H),
        ({5: [(time(20), None)]}, 4 * H),
        ({6: [(time(20), time(0))]}, 4 * H),  # ending at 00:00 crosses into nothing
        ({0: [(time(9), time(12)), (time(11), time(13))]}, 4 * H),  # overlaps are a union
        ({6: [(time(22), time(2))], 0: [(time(1), time(3))]}, 5 * H),  # Sun->Mon meets Mon
        ({}, 0),
    ],
)
def test_weekly_working_seconds(
    week: dict[int, list[tuple[time, time | None]]], expected: float
) -> None:
    assert weekly_working_seconds(week) == expected


def test_no_hours_calendar() -> None:
    c = calendars()["none"]
    assert c.add(utc(2026, 1, 1), 1) is None
    assert c.add_ts(utc(2026, 1, 1).timestamp(), 1, [(0.0, 1.0)]) is None
    assert c.elapsed(utc(2026, 1, 1), utc(2030, 1, 1)) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.elapsed(datetime(2026, 1, 1), utc(2026, 1, 2)),
        lambda c: c.elapsed(
            utc(2026, 1, 1), utc(2026, 1, 2), [(datetime(2026, 1, 1), utc(2026, 1, 2))]
        ),
        lambda c: c.add(datetime(2026, 1, 1), 60),
        lambda c: c.is_working(datetime(2026, 1, 1)),
        lambda c: c.holidays_between(datetime(2026, 1, 1), utc(2026, 1, 2)),
        lambda c: c.transitions_between(utc(2026, 1, 1), datetime(2026, 1, 2)),
    ],
)
@pytest.mark.parametrize("cal", ["office_de", "24x7"])
def test_naive_datetime_rejected(cal: str, call: object) -> None:
    with pytest.raises(ValueError, match="naive"):
        call(calendars()[cal])  # type: ignore[operator]


def test_bad_time_zone_names_the_zone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        BusinessCalendar("x", "Mars/Olympus_Mons", MON_FRI_9_17, HolidaySource())


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: HolidaySource("XX"), "XX"),
        (lambda: HolidaySource("DE", subdiv="ZZ"), "DE/ZZ"),
        (lambda: HolidaySource(subdiv="BY"), "without a country"),
        (
            lambda: BusinessCalendar("x", "UTC", {0: [(time(9), time(9))]}, HolidaySource()),
            "end == start",
        ),
        (
            lambda: BusinessCalendar("x", "UTC", {7: [(time(9), time(17))]}, HolidaySource()),
            "weekday",
        ),
    ],
)
def test_invalid_config(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()  # type: ignore[operator]
