"""The due index and the read it chooses, for incremental runs (`run.incremental`, DESIGN.md
promise 12; `connector.incremental` runs them): read what changed or came due, not the
backlog, and make exactly the plan a full sweep would make.

Each run evaluates with `rules.due`, which gives every ticket the next instant at which a rule
could fire for it as it is. The due index in the state store (`state.DueRows`, schema step 3)
keeps, per ticket: that instant, the `updated_at` it was read with, and the hash of the policy
and instance settings that computed it; and per instance a mark: the high-water mark (the start
of the last run that read, on our clock), the last full sweep, and that hash.

A run then reads either
- **incremental**: the tickets in scope updated since the high-water mark minus `index_lag`
  (the platform's search sees an update late, and its clock may differ from ours), plus the
  tickets whose next instant has come, read by id in bulk (`adapters.protocol.Incremental`),
  plus any hinted (a webhook's tickets, `escalate serve`); a cycle that webhooks prompted
  (`search=False`) skips the search for what changed when the adapter places every ticket read
  by id (`Incremental.places_by_id`: on Zendesk, a scope of statuses alone), and then leaves
  the high-water mark where it was, so the next run that searches covers the same window; or
- **full**: the whole scope, as without `incremental`, rebuilding the index from scratch, when
  `run --full` asks, when there is no index yet, when the policy or the instance's settings
  changed (another hash), when the last full sweep is `full_sweep` old (the reconcile that
  catches what was missed: deleted webhooks, clock changes), when our clock went back, or when
  the adapter cannot read incrementally.

Why the two plans are equal: a ticket not read was not updated since it was indexed (or the
search would have found it within the overlap), and its next instant has not come, so its
evaluation now is what it was then: nothing to do. A ticket with a change is due at once until
that change is on it (its write moves `updated_at`, which the next run reads).

The index is written only by a run that writes (not `--dry-run`, not a refused storm guard),
in one transaction with the new mark, after the writes; a run that fails part-way leaves the
mark where it was, so the next run reads the same window again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.protocol import Adapter, Incremental
from connector.config import Config
from rules.model import Ticket
from rules.needs import needs
from rules.plan import Outcome
from rules.policy import Policy
from rules.tracking import format_time
from rules.units import format_duration
from state import DueMark, DueRow, DueRows

FULL, INCREMENTAL = "full", "incremental"


def _effective(digest: str, policy: Policy) -> str:
    """`digest` with what of the policy is in effect: the rules, functions and SLA policies a
    run switched off for an unusable field change it (the index was built without them)."""
    parts = (
        [r.name for r in policy.rules if r.model.enabled],
        [f[0] for f in policy.functions],
        [s.name for s in policy.slas],
    )
    blob = json.dumps([digest, parts])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def settings_hash(config: Config, name: str) -> str:
    """The policy's hash and the instance's settings (its scope among them), hashed: a change
    to either makes the index stale."""
    settings = config.instances[name].model_dump(mode="json")
    blob = json.dumps({"policy": config.policy.hash, "instance": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Reads:
    """One run's read mode, what it reads, and the index rows it will write."""

    rows: DueRows
    hash: str
    started: float
    mode: str
    why: str
    mark: DueMark | None = None
    since: datetime | None = None
    due: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    stamps: dict[str, str] = field(default_factory=dict)
    kept: list[DueRow] = field(default_factory=list)
    #: Whether this run searches for what changed since the mark (a full sweep reads it all).
    search: bool = True

    def tickets(self, adapter: Adapter, policy: Policy, now: datetime) -> Iterator[Ticket]:
        """The tickets this run reads, each noted for the index. `policy`: the one in effect
        (without what needs an unusable field: `connector.runner.usable_policy`)."""
        self.hash = _effective(self.hash, policy)
        if self.mode == INCREMENTAL and not isinstance(adapter, Incremental):
            self.mode, self.why = FULL, f"the {adapter.platform} adapter reads whole scopes only"
        elif self.mode == INCREMENTAL and (self.mark is None or self.mark.policy != self.hash):
            self.mode = FULL
            self.why = (
                "the policy or the instance's settings changed since the index was built (or"
                " what of the policy is in effect: parts switched off for an unusable field)"
            )
        elif self.mode == INCREMENTAL:  # due as of the evaluation's `now`
            self.due = dict(self.rows.due(now.timestamp())) | self.due
        wanted = needs(policy)
        if self.mode == FULL:
            found = adapter.fetch(wanted, now)
        else:
            assert self.since is not None and isinstance(adapter, Incremental)
            self.search = self.search or not adapter.places_by_id()
            since = self.since if self.search else None
            found = adapter.fetch_changed(wanted, now, since, self.due, self.gone)
        for ticket in found:
            self.stamps[ticket.id] = format_time(ticket.updated_at)
            yield ticket

    def note(self, outcome: Outcome) -> None:
        """Keep the evaluated ticket's next instant (a skipped ticket is due at once)."""
        stamp = self.stamps.get(outcome.ticket)
        if stamp is None:
            return
        at = outcome.next_at.timestamp() if outcome.next_at is not None else None
        if outcome.skipped:
            at = self.started
        self.kept.append((outcome.ticket, at, stamp, self.hash))

    def commit(self) -> None:
        """Write the rows and the new mark (one transaction), then forget the gone tickets."""
        swept = self.started if self.mode == FULL else self.mark.swept_at if self.mark else 0.0
        high = self.started
        if self.mode == INCREMENTAL and not self.search and self.mark is not None:
            high = self.mark.high_water  # nothing searched: the next search covers it all
        mark = DueMark(high_water=high, swept_at=swept, policy=self.hash)
        self.rows.put(self.kept, mark, sweep=self.mode == FULL)
        self.rows.drop(sorted(self.gone - set(self.stamps)))

    def describe(self) -> str:
        """One line for the run's summary and audit: what was read, and why."""
        if self.mode == FULL:
            return f"full sweep: {self.why}"
        since = self.since.strftime("%Y-%m-%dT%H:%M:%SZ") if self.since else "?"
        if not self.search:
            return (
                f"incremental: {len(self.due)} due or hinted by id (no search for what changed"
                f" since {since}: a cycle webhooks prompted; the interval's cycle searches)"
            )
        return (
            f"incremental: updated since {since} ({self.why}), {len(self.due)} due or hinted by id"
        )


def choose(
    config: Config,
    name: str,
    rows: DueRows,
    started: float,
    *,
    full: bool = False,
    hint: frozenset[str] = frozenset(),
    search: bool = True,
) -> Reads:
    """The read for this run: full or incremental, and why (reads the index's mark; writes
    nothing). The due rows are read with the tickets (`Reads.tickets`), as of the evaluation's
    `now`. `search=False`: no search for what changed where the adapter can do without."""
    settings, digest = config.run, settings_hash(config, name)
    rows.open(f"due {name}")
    mark = rows.mark()
    reads = Reads(rows, digest, started, FULL, "", mark)
    if full:
        reads.why = "asked for (--full)"
    elif mark is None:
        reads.why = "no due index yet"
    elif started < mark.high_water:
        reads.why = "the clock is before the last run's start"
    elif started - mark.swept_at >= settings.full_sweep:
        ago, every = format_duration(started - mark.swept_at), format_duration(settings.full_sweep)
        reads.why = f"the last full sweep was {ago} ago (full_sweep: {every})"
    else:
        reads.mode = INCREMENTAL
        reads.since = datetime.fromtimestamp(mark.high_water - settings.index_lag, tz=UTC)
        reads.why = f"last run minus index_lag {format_duration(settings.index_lag)}"
        reads.due = dict.fromkeys(hint, "")  # changed since, whatever the index says
        reads.search = search
    return reads
