"""The per-ticket facts every figure of `escalate report` shares, computed once: the
escalations (up the ladder) in the window, the ticket's owner keys, and whether it belongs to a
period's population. The one definition of the escalation rate lives here (`RATE`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connector.insights.collect import Key, Move, Seen
from connector.insights.links import Links
from rules.tracking import parse_time

UNKNOWN = "(none)"
#: The escalation rate, as the page, the text and the docs state it (docs/cli.md, "report").
RATE = (
    "escalation rate = tickets escalated at least once in the period (a level change up the"
    " ladder that was written) / tickets open at some time in the period (from the tickets'"
    " histories, read live). The headline is the whole window, the trend each day or week."
    " A ticket counts under the team, priority, type and organisation it had before its first"
    " escalation in the window (one never escalated: as last seen), in the numerator and the"
    " denominator alike."
)
SLA = (
    "SLA attainment = targets met / (met + breached), each target counted in the period it was"
    " decided: when it was met, or when its deadline passed."
)


class View:
    def __init__(
        self, tickets: list[Seen], index: dict[str, int], first: str, now: float, links: Links
    ) -> None:
        self.tickets, self.index, self.first, self.now = tickets, index, first, now
        self.links = links
        self.ups = {s.key: sorted((m for m in s.moves if self._up(m)), key=_at) for s in tickets}
        #: The population is known only when the tickets (and their histories) were read live.
        self.known = any(s.live is not None for s in tickets)
        self._counted: dict[tuple[Key, float, float], bool] = {}  # asked per row and per team

    def _up(self, m: Move) -> bool:
        return self.index.get(m.target, -1) > self.index.get(m.source, len(self.index))

    def down(self, m: Move) -> bool:
        """Levels the policy no longer has (renamed since) count as neither up nor down."""
        return self.index.get(m.target, len(self.index)) < self.index.get(m.source, -1)

    # --- the rate's two halves --------------------------------------------------------------

    def owner(self, s: Seen) -> Mapping[str, Any]:
        """The ticket as it was before its first escalation in the window, else as last seen."""
        ups = self.ups[s.key]
        return ups[0].about if ups and ups[0].about else s.about

    def key(self, s: Seen, dim: str) -> str:
        value = self.owner(s).get(dim)
        return str(value) if value not in (None, "") else UNKNOWN

    def escalated_in(self, s: Seen, start: float, end: float) -> int:
        """The escalations of `s` in [start, end)."""
        ups = self.ups[s.key]
        return sum(1 for m in ups if start <= m.at < end) if ups else 0

    def counted(self, s: Seen, start: float, end: float) -> bool:
        """`s` is in the period's population: open at some time in it, or escalated in it."""
        known = self._counted.get((s.key, start, end))
        if known is None:
            known = self._counted[(s.key, start, end)] = self._counts(s, start, end)
        return known

    def _counts(self, s: Seen, start: float, end: float) -> bool:
        if self.escalated_in(s, start, end):
            return True
        if s.story is not None:
            return s.story.open_in(start, end)
        if s.live is None:
            return False  # seen in the audit log only, and not escalated then: unknown
        created = parse_time(str(s.about.get("created_at")))
        return created is None or created.timestamp() < end

    # --- per-ticket facts -------------------------------------------------------------------

    def escalated_now(self, s: Seen) -> bool:
        return bool(s.live and s.live["open"] and self.index.get(s.live["level"], 0) > 0)

    def open_now(self, s: Seen) -> bool:
        return bool(s.live and s.live["open"])

    def to_escalate(self, s: Seen) -> float | None:
        ups = self.ups[s.key]
        if not ups or ups[0].source != self.first:
            return None
        created = parse_time(str(ups[0].about.get("created_at") or s.about.get("created_at")))
        if created is None or created.timestamp() > ups[0].at:  # odd data: no sample
            return None
        return ups[0].at - created.timestamp()

    def reopened(self, s: Seen) -> bool:
        """Reopened after its first escalation: by its history, or a later look's count."""
        ups = self.ups[s.key]
        if not ups:
            return False
        start = ups[0].at
        if s.story is not None and any(at > start for at in s.story.reopened):
            return True
        base = ups[0].about.get("reopens")
        return isinstance(base, int) and any(at > start and n > base for at, n in s.reopens)

    def de_escalated(self, s: Seen) -> bool:
        """A level change down the ladder after its first escalation."""
        ups = self.ups[s.key]
        return bool(ups) and any(self.down(m) and m.at > ups[0].at for m in s.moves)

    def refs(self, seen: Iterable[Seen]) -> list[dict[str, Any]]:
        return self.links.refs(s.key for s in seen)

    def ref(self, key: Key) -> dict[str, Any]:
        return self.links.ref(key)


def stats(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0, "median_s": None, "p90_s": None}
    ordered = sorted(samples)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"count": len(ordered), "median_s": median, "p90_s": p90}


def ratio(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


_at: Callable[[Move], float] = lambda m: m.at  # noqa: E731
