"""Durations, percentages, clock times and day ranges as admins write them."""

from __future__ import annotations

from datetime import time

import pytest

from rules.units import (
    format_duration,
    human_duration,
    parse_clock,
    parse_days,
    parse_duration,
    parse_percent,
    signed_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("4h", 14400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("90s", 90),
        ("1.5h", 5400),
        (45, 2700),  # a bare number is minutes
        ("0m", 0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["eighty minutes", "1x", "h", "", "30m garbage", True, -5, "1h-30m"]
)
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0m"), (59, "0m"), (60, "1m"), (5400, "1h 30m"), (90000, "1d 1h"), (-120, "-2m")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("text", "value"), [("80%", 80.0), (" 50 % ", 50.0), (100, 100.0)])
def test_parse_percent(text: object, value: float) -> None:
    assert parse_percent(text) == value


@pytest.mark.parametrize("text", ["eighty", "0%", "-5%", "2000%", True])
def test_parse_percent_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="expected a percentage"):
        parse_percent(text)


def test_parse_clock() -> None:
    assert parse_clock("09:00") == time(9)
    assert parse_clock("24:00") is None
    for bad in ("9", "25:00", "12:60", "noon"):
        with pytest.raises(ValueError, match="expected a time of day"):
            parse_clock(bad)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat", [5]),
        ("mon,wed", [0, 2]),
        ("fri-mon", [4, 5, 6, 0]),
        ("daily", list(range(7))),
        ("Monday-Tuesday", [0, 1]),
    ],
)
def test_parse_days(text: str, days: list[int]) -> None:
    assert parse_days(text) == days


def test_parse_days_rejects() -> None:
    with pytest.raises(ValueError, match="expected days"):
        parse_days("weekdays")


@pytest.mark.parametrize(
    ("seconds", "human", "signed"),
    [
        (0, "0 s", "0 s"),
        (45, "45 s", "+45 s"),
        (1200, "20 min", "+20 min"),
        (150, "2 min 30 s", "+2 min 30 s"),
        (-3900, "-1 h 05 min", "-1 h 05 min"),
        (7200, "2 h 00 min", "+2 h 00 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h", "+3 d 4 h"),
        (-86400, "-1 d", "-1 d"),
        (4 * 86400 + 2 * 3600 + 40 * 60, "4 d 2 h 40 min", "+4 d 2 h 40 min"),
        (86400 + 300, "1 d 0 h 05 min", "+1 d 0 h 05 min"),
    ],
)
def test_durations_people_read(seconds: float, human: str, signed: str) -> None:
    assert human_duration(seconds) == human
    assert signed_duration(seconds) == signed
