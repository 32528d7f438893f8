"""Parsing of the small value languages used in the policy: durations, percentages, clock times."""

from __future__ import annotations

import re
from datetime import time

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> float:
    """'1h30m', '45m', '2d' or a number of minutes -> seconds; 1d is 24 hours in any time mode."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30m, 4h or 1h30m, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"expected a duration that is not negative, got {value!r}")
        return float(value) * 60
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, total = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
            pos = match.end()
        if text and pos == len(text):
            return total
    raise ValueError(f"expected a duration such as 30m, 4h or 1h30m, got {value!r}")


def format_duration(seconds: float) -> str:
    """Seconds -> '2h 5m' (whole minutes; '0m' for under a minute; negative gets a '-')."""
    sign = "-" if seconds < 0 else ""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        parts.append(f"{mins}m")
    return sign + " ".join(parts)


def human_duration(seconds: float) -> str:
    """Seconds -> a duration people read: '45 s', '20 min', '2 min 30 s', '1 h 05 min',
    '3 d 4 h 05 min' (seconds only under an hour)."""
    total = round(abs(seconds))
    sign = "-" if seconds < 0 and total else ""
    if total < 60:
        return f"{sign}{total} s"
    if total < 3600:
        mins, secs = divmod(total, 60)
        return sign + (f"{mins} min {secs:02d} s" if secs else f"{mins} min")
    if total < 86400:
        hours, mins = divmod(total // 60, 60)
        return f"{sign}{hours} h {mins:02d} min"
    days, rest = divmod(total // 60, 1440)
    hours, mins = divmod(rest, 60)
    return sign + " ".join(
        [
            f"{days} d",
            *([f"{hours} h"] if hours or mins else []),
            *([f"{mins:02d} min"] if mins else []),
        ]
    )


def signed_duration(seconds: float) -> str:
    """A difference in time: '+20 min', '-1 h 05 min', '0 s'."""
    text = human_duration(seconds)
    return text if text.startswith("-") or round(seconds) == 0 else "+" + text


def parse_percent(value: object) -> float:
    """'80%' or 80 -> 80.0 (percent of a target)."""
    text = value.strip().rstrip("%").strip() if isinstance(value, str) else value
    if isinstance(text, str):
        try:
            text = float(text)
        except ValueError:
            text = None
    if isinstance(text, int | float) and not isinstance(text, bool) and 0 < text <= 1000:
        return float(text)
    raise ValueError(
        f"expected a percentage above 0% and at most 1000%, such as 80%, got {value!r}"
    )


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock(text: str) -> time | None:
    """'09:00' -> time(9); '24:00' -> None (the end of the day)."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"expected a time of day such as 09:00, got {text!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        return None
    if hour > 23 or minute > 59:
        raise ValueError(f"expected a time of day such as 09:00, got {text!r}")
    return time(hour, minute)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(text: str) -> list[int]:
    """'mon-fri', 'sat', 'mon,wed' or 'daily' -> weekday numbers (0 = Monday)."""
    spec = text.strip().lower()
    if spec in ("daily", "every day", "mon-sun"):
        return list(range(7))
    days: list[int] = []
    for part in spec.split(","):
        bounds = [_day(p) for p in part.split("-")]
        if not all(b in _DAYS for b in bounds) or len(bounds) > 2:
            raise ValueError(f"expected days such as mon-fri, sat or mon,wed, got {text!r}")
        first, last = _DAYS.index(bounds[0]), _DAYS.index(bounds[-1])
        days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
    return days


_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(text: str) -> str:
    """'mon' or 'monday' -> 'mon'; anything else is returned as is (and then rejected)."""
    word = text.strip()
    return word[:3] if word in _FULL else word
