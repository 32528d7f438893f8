"""A calendar's working schedule in local terms: weekly shifts and the holidays that void them.

Shifts are given per weekday (0=Monday..6=Sunday) as (start, end) pairs of ``datetime.time``;
``end=None`` means 24:00. If ``end < start`` the shift crosses midnight (``end == start`` is
rejected): it covers [start, 24:00) on weekday w and [00:00, end) on weekday w+1 (mod 7).
Holidays are local dates: a `holidays` country/subdivision plus explicit dates. Time zones
and instants are `rules.clock`'s business; nothing here knows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

DAY = 86400
"""Seconds in a local day, as wall-clock time counts them."""

Spans = Sequence[tuple[float, float]]
Week = Mapping[int, Sequence[tuple[time, time | None]]]


def union_spans(spans: Spans, lo: float, hi: float) -> list[tuple[float, float]]:
    """Union of `spans` clipped to [lo, hi], as sorted disjoint non-touching spans."""
    out: list[tuple[float, float]] = []
    for sa, sb in sorted(spans):  # clipping after sorting keeps the order
        a, b = (sa if sa > lo else lo), (sb if sb < hi else hi)
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class HolidaySource:
    """Which local dates are holidays: a `holidays` country/subdivision plus explicit dates."""

    def __init__(
        self,
        country: str | None = None,
        subdiv: str | None = None,
        dates: Iterable[date] = (),
        names: Mapping[date, str] | None = None,
    ) -> None:
        self.country = country
        self.subdiv = subdiv
        self._names: dict[date, str] = dict(names or {})
        self._explicit = set(dates) | set(self._names)
        self._years: dict[int, dict[date, str]] = {}
        self._lib: Any = None
        for d in self._explicit:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"explicit holiday {d!r} must be a date")
        if subdiv is not None and country is None:
            raise ValueError(f"holiday subdivision {subdiv!r} given without a country")
        if country is not None:
            import holidays  # noqa: PLC0415 (lazy: the package is slow to import)

            self._lib = holidays
            try:
                holidays.country_holidays(country, subdiv=subdiv)
            except NotImplementedError as e:
                where = country if subdiv is None else f"{country}/{subdiv}"
                raise ValueError(f"unknown holiday country/subdivision {where!r}: {e}") from e

    def name(self, day: date) -> str | None:
        """The holiday's name, or None if `day` is not a holiday."""
        if day in self._names:
            return self._names[day]
        if self.country is not None:
            year = self._years.get(day.year)
            if year is None:
                lib = self._lib.country_holidays(self.country, subdiv=self.subdiv, years=day.year)
                year = self._years[day.year] = {d: str(n) for d, n in lib.items()}
            if day in year:
                return year[day]
        return "holiday" if day in self._explicit else None


def _secs(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def weekday_ranges(week: Week) -> list[list[tuple[float, float]]]:
    """Per weekday, the sorted disjoint local-day second ranges covered by shifts."""
    days: list[list[tuple[float, float]]] = [[] for _ in range(7)]
    for wd, shifts in week.items():
        if not isinstance(wd, int) or not 0 <= wd <= 6:
            raise ValueError(f"weekday {wd!r} must be an int 0 (Monday) .. 6 (Sunday)")
        for start, end in shifts:
            if start.tzinfo is not None or (end is not None and end.tzinfo is not None):
                raise ValueError(f"shift times must be naive local times, got {start}-{end}")
            s = _secs(start)
            if end is None:
                days[wd].append((s, DAY))
                continue
            e = _secs(end)
            if e == s:
                raise ValueError(f"shift {start}-{end} on weekday {wd} is empty (end == start)")
            if e > s:
                days[wd].append((s, e))
            else:
                days[wd].append((s, DAY))
                if e > 0:
                    days[(wd + 1) % 7].append((0.0, e))
    return [[(float(a), float(b)) for a, b in union_spans(d, 0.0, DAY)] for d in days]


def weekly_working_seconds(week: Week) -> float:
    """Nominal working seconds per week, ignoring DST and holidays."""
    return sum(b - a for day in weekday_ranges(week) for a, b in day)
