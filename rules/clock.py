"""Business-time clock: working seconds between instants and deadlines, per calendar.

Definition. A UTC instant t is *working time* for a calendar iff, converting t to the
calendar's IANA zone (zoneinfo), its local date d is not a holiday and its local
wall-clock time falls inside a weekly shift. The shifts and holidays, in local terms, are
`rules.schedule`'s (a shift may cross midnight). The holiday test uses the local date of
each instant itself, so the after-midnight part of a crossing shift is dropped when the
*next* date is a holiday. DST follows from the definition: a
spring-forward gap contains no working time (those local times never occur), and in a
fall-back overlap the repeated local hour counts twice when it lies inside a shift (both
UTC instants map to local times in the shift).

Intervals are half-open: elapsed(start, end) counts working seconds in [start, end).

Implementation. Each BusinessCalendar lazily builds a contiguous per-local-day table:
the UTC start of each local day, that day's sorted UTC working intervals and the
cumulative working seconds at the start of the day (prefix sums relative to an arbitrary
anchor day). W(t), the cumulative working seconds up to t, is then a bisect plus a scan
of a few intervals; elapsed is a difference of W values and add() inverts W by bisecting
the prefix sums. A day's intervals are built from UTC segments of constant UTC offset
(offset changes found by bisecting on whole UTC seconds), so DST is exact. Assumption:
offset changes that cancel out within one local day are not seen (tzdata has none).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from rules.schedule import (
    DAY,
    HolidaySource,
    Spans,
    Week,
    union_spans,
    weekday_ranges,
    weekly_working_seconds,
)

__all__ = ["HORIZON", "AlwaysOn", "BusinessCalendar", "Calendar", "HolidaySource"]
__all__ += ["weekly_working_seconds"]

HORIZON: float = 3 * 366 * 86400.0
"""add() gives up (returns None) when the deadline would be more than this many seconds away."""

_EPOCH_ORD = date(1970, 1, 1).toordinal()
_CHUNK = 64  # days built per table extension
_INF = float("inf")

DtSpans = Sequence[tuple[datetime, datetime]]
Ivs = tuple[tuple[float, float], ...]


class Calendar(Protocol):
    """What the engine needs from a calendar."""

    name: str

    def elapsed(self, start: datetime, end: datetime, exclude: DtSpans = ()) -> float:
        """Working seconds in [start, end) outside the union of `exclude`; 0.0 if end <= start."""

    def elapsed_ts(self, start: float, end: float, exclude: Spans = ()) -> float:
        """elapsed() on POSIX timestamps."""

    def add(self, start: datetime, seconds: float, exclude: DtSpans = ()) -> datetime | None:
        """Earliest t >= start with elapsed(start, t, exclude) >= seconds; None past HORIZON."""

    def add_ts(self, start: float, seconds: float, exclude: Spans = ()) -> float | None:
        """add() on POSIX timestamps."""

    def is_working(self, at: datetime) -> bool:
        """Whether the instant `at` is working time."""

    def holidays_between(self, start: datetime, end: datetime) -> list[tuple[date, str]]:
        """Holiday (local date, name) pairs for the local dates hit by [start, end)."""

    def transitions_between(self, start: datetime, end: datetime) -> list[datetime]:
        """UTC instants in [start, end) at which the zone's UTC offset changes."""


def _ts(dt: datetime) -> float:
    """POSIX timestamp of an aware datetime; ValueError for naive ones."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} (a time zone is required)")
    return dt.timestamp()


def _spans(exclude: DtSpans) -> list[tuple[float, float]]:
    """Datetime spans as timestamp spans."""
    return [(_ts(a), _ts(b)) for a, b in exclude]


class _Clock:
    """Shared elapsed/add logic on top of W(t) (cumulative working seconds) and its inverse."""

    name: str

    def _w(self, t: float) -> float:
        raise NotImplementedError

    def _inv(self, target: float, lo: float, limit: float) -> float | None:
        """Earliest t >= lo with W(t) >= target, or None if that t is after `limit`."""
        raise NotImplementedError

    def _cover(self, lo: float, hi: float) -> None:
        """Make W valid on [lo, hi]."""

    def elapsed_ts(self, start: float, end: float, exclude: Spans = ()) -> float:
        """Working seconds in [start, end) outside the union of `exclude`."""
        if not end > start:
            return 0.0
        self._cover(start, end)
        w = self._w
        r = w(end) - w(start)
        for a, b in union_spans(exclude, start, end) if exclude else ():
            r -= w(b) - w(a)
        return r

    def add_ts(self, start: float, seconds: float, exclude: Spans = ()) -> float | None:
        """Earliest t >= start with elapsed_ts(start, t, exclude) >= seconds; None past HORIZON."""
        if not seconds > 0:
            return float(start)
        limit = start + HORIZON
        self._cover(start, start)
        w, p, rem = self._w, start, seconds
        wp = w(p)
        for a, b in union_spans(exclude, start, _INF) if exclude else ():
            t = self._inv(wp + rem, p, limit)
            if t is None or t <= a:
                return t
            rem -= w(a) - wp  # the working time before the pause counts; then resume at b
            if b > limit:
                return None
            self._cover(b, b)
            p, wp = b, w(b)
        return self._inv(wp + rem, p, limit)

    def elapsed(self, start: datetime, end: datetime, exclude: DtSpans = ()) -> float:
        """Working seconds in [start, end) outside the union of `exclude`; 0.0 if end <= start."""
        return self.elapsed_ts(_ts(start), _ts(end), _spans(exclude))

    def add(self, start: datetime, seconds: float, exclude: DtSpans = ()) -> datetime | None:
        """Earliest t >= start with elapsed(start, t, exclude) >= seconds; None past HORIZON."""
        t = self.add_ts(_ts(start), seconds, _spans(exclude))
        return None if t is None else datetime.fromtimestamp(t, UTC)


class AlwaysOn(_Clock):
    """The built-in "24x7" calendar: every instant is working time."""

    def __init__(self) -> None:
        self.name = "24x7"

    def _w(self, t: float) -> float:
        return t

    def _inv(self, target: float, lo: float, limit: float) -> float | None:
        return target if target <= limit else None

    def elapsed_ts(self, start: float, end: float, exclude: Spans = ()) -> float:
        """Seconds in [start, end) outside the union of `exclude`."""
        if exclude:
            return super().elapsed_ts(start, end, exclude)
        return float(end - start) if end > start else 0.0

    def add_ts(self, start: float, seconds: float, exclude: Spans = ()) -> float | None:
        """start + seconds, pushed back by the excluded spans it meets."""
        if exclude:
            return super().add_ts(start, seconds, exclude)
        if not seconds > 0:
            return float(start)
        return float(start + seconds) if seconds <= HORIZON else None

    def is_working(self, at: datetime) -> bool:
        """Always True."""
        _ts(at)
        return True

    def holidays_between(self, start: datetime, end: datetime) -> list[tuple[date, str]]:
        """Always empty."""
        _ts(start), _ts(end)
        return []

    def transitions_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Always empty (the calendar runs on UTC)."""
        _ts(start), _ts(end)
        return []


class _Table(NamedTuple):
    """Snapshot of a calendar's day table (replaced whole when extended)."""

    starts: list[float]  # UTC start of day i; len n + 1 (the last is the end of the last day)
    cum: list[float]  # W at starts[i]; len n + 1
    ivs: list[Ivs]  # sorted UTC working intervals of day i; len n
    trans: list[float]  # sorted UTC offset-change instants within the table


class BusinessCalendar(_Clock):
    """Working time = weekly local shifts in an IANA zone, minus holidays (see module doc)."""

    def __init__(self, name: str, tz: str, week: Week, holidays: HolidaySource) -> None:
        try:
            self.zone = ZoneInfo(tz)
        except (KeyError, ValueError, OSError, TypeError) as e:
            raise ValueError(f"unknown time zone {tz!r}") from e
        self.name = name
        self.holidays = holidays
        self._pieces = weekday_ranges(week)
        self._hol: dict[int, bool] = {}  # date ordinal -> is a holiday
        self._tab = _Table([_INF], [0.0], [], [])
        self._first = 0  # ordinal of the local date of table day 0

    def _off(self, t: int) -> int:
        off = datetime.fromtimestamp(t, self.zone).utcoffset()
        assert off is not None
        return int(off.total_seconds())

    def _midnight(self, ordinal: int) -> int:
        d = date.fromordinal(ordinal)
        return int(datetime(d.year, d.month, d.day, tzinfo=self.zone).timestamp())

    def _is_holiday(self, ordinal: int) -> bool:
        if ordinal not in self._hol:
            self._hol[ordinal] = self.holidays.name(date.fromordinal(ordinal)) is not None
        return self._hol[ordinal]

    def _segment(self, sa: int, sb: int, o: int, out: list[tuple[float, float]]) -> None:
        """Append the working intervals of UTC [sa, sb), throughout which the offset is `o`."""
        la, lb = sa + o, sb + o  # local "naive epoch" seconds
        dn = la // DAY
        while dn * DAY < lb:
            base = dn * DAY
            if not self._is_holiday(_EPOCH_ORD + dn):
                for ps, pe in self._pieces[(dn + 3) % 7]:  # 1970-01-01 was a Thursday
                    x, y = max(la, base + ps), min(lb, base + pe)
                    if x < y:
                        if out and out[-1][1] == x - o:
                            out[-1] = (out[-1][0], y - o)
                        else:
                            out.append((x - o, y - o))
            dn += 1

    def _day(self, a: int, b: int, trans: list[float]) -> Ivs:
        """Working intervals of UTC [a, b), recording offset changes in [a, b) into `trans`."""
        out: list[tuple[float, float]] = []
        if b <= a:
            return ()
        off = self._off
        o = off(a)
        if off(a - 1) != o:
            trans.append(a)
        while True:
            if off(b - 1) == o:
                self._segment(a, b, o, out)
                return tuple(out)
            lo, hi = a, b - 1  # off(lo) == o != off(hi): bisect for the first changed second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(mid) == o:
                    lo = mid
                else:
                    hi = mid
            self._segment(a, hi, o, out)
            trans.append(hi)
            a, o = hi, off(hi)

    def _build(self, first: int, last: int) -> tuple[list[float], list[Ivs], list[float]]:
        """Day starts (len n + 1), intervals and transitions for ordinals [first, last)."""
        mids = [self._midnight(o) for o in range(first, last + 1)]
        trans: list[float] = []
        ivs = [self._day(mids[k], mids[k + 1], trans) for k in range(last - first)]
        return [float(m) for m in mids], ivs, trans

    def _cover(self, lo: float, hi: float) -> None:
        """Extend the day table (whole chunks) until starts[0] <= lo and hi < starts[-1]."""
        tab = self._tab
        if tab.starts[0] <= lo and hi < tab.starts[-1]:
            return
        if tab.starts[0] == _INF:  # first use: an empty table anchored at lo's local date
            self._first = datetime.fromtimestamp(lo, self.zone).toordinal()
            tab = self._tab = _Table([float(self._midnight(self._first))], [0.0], [], [])
        while tab.starts[0] > lo:
            k = max(_CHUNK, int((tab.starts[0] - lo) // DAY) + 2)
            starts, ivs, trans = self._build(self._first - k, self._first)
            cum = [tab.cum[0]]  # prefix sums run backwards from the old first day
            for iv in reversed(ivs):
                cum.append(cum[-1] - sum(y - x for x, y in iv))
            cum.reverse()
            tab = self._tab = _Table(
                starts[:-1] + tab.starts, cum[:-1] + tab.cum, ivs + tab.ivs, trans + tab.trans
            )
            self._first -= k
        while hi >= tab.starts[-1]:
            k = max(_CHUNK, int((hi - tab.starts[-1]) // DAY) + 2)
            first = self._first + len(tab.ivs)
            starts, ivs, trans = self._build(first, first + k)
            cum = list(tab.cum)
            for iv in ivs:
                cum.append(cum[-1] + sum(y - x for x, y in iv))
            tab = self._tab = _Table(tab.starts + starts[1:], cum, tab.ivs + ivs, tab.trans + trans)

    def _w(self, t: float) -> float:
        starts, cum, ivs, _ = self._tab
        i = bisect_right(starts, t) - 1
        w = cum[i]
        for a, b in ivs[i]:
            if t <= a:
                break
            if t < b:
                return w + (t - a)
            w += b - a
        return w

    def _inv(self, target: float, lo: float, limit: float) -> float | None:
        tab = self._tab
        while tab.cum[-1] < target and tab.starts[-1] <= limit:
            self._cover(tab.starts[0], tab.starts[-1])  # one more chunk of days
            tab = self._tab
        j = max(bisect_left(tab.cum, target), 1)
        if j >= len(tab.cum):
            return None
        need, t = target - tab.cum[j - 1], tab.starts[j - 1]
        for a, b in tab.ivs[j - 1]:
            t = b  # fallback if rounding leaves `need` a hair above the day's total
            if b - a >= need:
                t = a + need
                break
            need -= b - a
        t = max(t, lo)
        return t if t <= limit else None

    def is_working(self, at: datetime) -> bool:
        """Whether the instant `at` is working time."""
        t = _ts(at)
        self._cover(t, t)
        tab = self._tab
        return any(a <= t < b for a, b in tab.ivs[bisect_right(tab.starts, t) - 1])

    def holidays_between(self, start: datetime, end: datetime) -> list[tuple[date, str]]:
        """Holiday (local date, name) pairs for the local dates hit by [start, end)."""
        if not _ts(end) > _ts(start):
            return []
        last = (end.astimezone(UTC) - datetime.resolution).astimezone(self.zone).toordinal()
        out: list[tuple[date, str]] = []
        for o in range(start.astimezone(self.zone).toordinal(), last + 1):
            d = date.fromordinal(o)
            n = self.holidays.name(d)
            if n is not None:
                out.append((d, n))
        return out

    def transitions_between(self, start: datetime, end: datetime) -> list[datetime]:
        """UTC instants in [start, end) at which the zone's UTC offset changes."""
        lo, hi = _ts(start), _ts(end)
        if not hi > lo:
            return []
        self._cover(lo, hi)
        tr = self._tab.trans
        return [
            datetime.fromtimestamp(x, UTC) for x in tr[bisect_left(tr, lo) : bisect_left(tr, hi)]
        ]
