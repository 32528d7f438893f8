"""One instance, one run: fetch everything, evaluate as it streams, then write.

    fetch (all pages) ─► evaluate (one ticket at a time) ─► changes (kept) ─► storm guard ─► write

Nothing is written until the last page has been read: if paging fails part-way, the instance
acts on nothing (DESIGN.md promise 5). Only the tickets that change are kept in memory. The
same path serves `run`, `run --dry-run`, `plan` (no writes) and `apply` (the writes of a saved
plan, each refused if its ticket changed since the plan was made).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from adapters.errors import AdapterError, AuthError, SetupError
from adapters.package import Wiring
from adapters.protocol import Adapter, Reevaluate
from adapters.registry import platform
from adapters.results import WriteResult, WriteStatus
from connector.audit import AuditLog
from connector.config import Config
from connector.due import FULL, Reads, choose
from connector.executor import execute
from connector.notices import Landed, after_writes, open_outbox, waiting
from connector.progress import Progress
from connector.report import InstanceRun, RunOutcome
from connector.scopes import narrowed
from connector.store import open_store
from rules.due import evaluate_due
from rules.engine import evaluate, evaluate_ticket
from rules.errors import ConfigError
from rules.fielduse import without
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy
from state import Lease, Locked, LockLost, Store, StoreError

log = structlog.get_logger("connector.runner")


@dataclass
class Runtime:
    """What a run takes from the outside world; tests inject a fake clock and sleeper, and may
    connect instances to in-memory platforms (`adapters.memory`) instead of their own."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    progress: Progress = field(default_factory=Progress)
    connect: Callable[[Config, str], Adapter] | None = None
    #: Set on Ctrl-C while instances run in parallel (`connector.fleet`): each stops reading,
    #: and starts no further write.
    stop: threading.Event = field(default_factory=threading.Event)
    #: Where locks, the journal and the cache live: the config's (`connector.store`), opened
    #: on first use and shared by the command's instances; tests may give one.
    store: Store | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _opened: bool = field(default=False, repr=False)

    def state(self, config: Config) -> Store:
        with self._lock:
            if self.store is None:
                self.store, self._opened = open_store(config), True
            return self.store

    def close_store(self) -> None:
        """Close the store this runtime opened (one given to it stays as it is)."""
        with self._lock:
            if self.store is not None and self._opened:
                self.store.close()
                self.store, self._opened = None, False

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)


@dataclass
class Options:
    dry_run: bool = False
    max_changes: int = 0  # 0: no storm guard
    concurrency: int = 4
    #: Read what changed or came due (`connector.incremental`); `full` forces a full sweep
    #: that rebuilds the due index; `hint`: tickets to read now whatever the index says;
    #: `search` False: no search for what changed where the adapter can do without
    #: (`connector.due`: a cycle webhooks prompted).
    incremental: bool = False
    full: bool = False
    hint: frozenset[str] = frozenset()
    search: bool = True


#: Adapters are built one at a time: the first build of a platform imports its client library,
#: and threads importing the same modules at once may see them half loaded. A build sends no
#: request, so instances in parallel wait for each other here only briefly.
_BUILDING = threading.Lock()


def open_adapter(config: Config, name: str, runtime: Runtime, *, narrow: bool = False) -> Adapter:
    """The instance's adapter; `narrow`: with the search a run reads (`connector.scopes`),
    for run, plan and apply only (setup, doctor and reports see the scope as written)."""
    if runtime.connect is not None:
        return runtime.connect(config, name)
    settings = narrowed(config, name)[0] if narrow else config.instances[name]
    wiring = Wiring(runtime.clock, runtime.sleep, config.state_dir, store=runtime.state(config))
    with _BUILDING:
        return platform(settings.platform).build(name, settings, config.policy, wiring)


def _guarded(
    config: Config,
    name: str,
    runtime: Runtime,
    body: Callable[[Adapter, InstanceRun], None],
    guard: Callable[[], None] | None = None,
) -> InstanceRun:
    """Run `body` on a fresh adapter, turning what stops an instance into its outcome."""
    run = InstanceRun(name, config.instances[name].platform, guard=guard)
    run.narrowed = narrowed(config, name)[1]
    started = runtime.clock()
    adapter: Adapter | None = None
    try:
        adapter = open_adapter(config, name, runtime, narrow=True)
        body(adapter, run)
    except (AuthError, SetupError, LockLost, StoreError) as exc:
        run.outcome, run.error, run.fatal = RunOutcome.ABORTED, str(exc), exc
    except AdapterError as exc:  # the fetch failed: the executor keeps write errors per ticket
        run.outcome, run.error, run.fatal = (
            RunOutcome.ABORTED,
            f"{exc} (no change was written)",
            exc,
        )
    except Exception as exc:  # a bug, or a secret gone since the start: the next instance runs
        log.exception("instance_crashed", instance=name)
        run.outcome, run.error, run.fatal = RunOutcome.ABORTED, f"{type(exc).__name__}: {exc}", exc
    finally:
        runtime.progress.finish()
        if adapter is not None:
            run.requests = adapter.stats.total
            adapter.close()
        run.seconds = runtime.clock() - started
    if run.outcome is RunOutcome.ABORTED:
        log.error("instance_aborted", instance=name, error=run.error)
    return run


def usable_policy(adapter: Adapter, policy: Policy, run: InstanceRun) -> Policy:
    """The policy this instance can run: the fields resolved (SetupError when a tracking
    field is unusable), and whatever needs an unusable policy field switched off, with a
    warning naming each part and field (`rules.fielduse`)."""
    unusable = {s.name: s.problem for s in adapter.fields() if s.kind == "policy" and s.problem}
    if not unusable:
        return policy
    cut = without(policy, unusable)
    warning = f"{cut.describe()}. Create the fields (escalate setup) or fix their names."
    run.warnings.append(warning)
    log.warning(
        "policy_fields_unusable",
        instance=run.name,
        fields=sorted(unusable),
        off=[str(user) for user, _ in cut.off],
    )
    return cut.policy


def _plan(
    adapter: Adapter,
    config: Config,
    runtime: Runtime,
    run: InstanceRun,
    audit: AuditLog,
    *,
    dry_run: bool,
    reads: Reads | None = None,
    peek: Callable[[Ticket], None] | None = None,
) -> Policy:
    """Fetch and evaluate every ticket (or, with `reads`, what it reads); keep the changes.
    Raises if any page fails. Returns the policy it evaluated (without what needs an unusable
    policy field). `peek` sees each ticket as read."""
    progress = runtime.progress
    policy = usable_policy(adapter, config.policy, run)
    now = runtime.now()
    keep_seen = bool(policy.channels)
    if reads is None:
        tickets = adapter.fetch(needs(policy), now)
        outcomes = evaluate(policy, _peeking(tickets, peek) if peek else tickets, now)
    else:
        tickets = reads.tickets(adapter, policy, now)
        outcomes = evaluate_due(policy, _peeking(tickets, peek) if peek else tickets, now)
    for outcome in outcomes:
        if runtime.stop.is_set():
            raise KeyboardInterrupt  # Ctrl-C while instances run in parallel: stop reading
        run.summary.add(outcome)
        if keep_seen:
            run.seen.add(outcome.ticket)
        if outcome.skipped:
            log.warning(
                "ticket_skipped", instance=run.name, ticket=outcome.ticket, reason=outcome.skipped
            )
            audit.skipped(run.name, outcome.ticket, outcome.skipped)
        if outcome.change is not None:
            run.changes.append(outcome.change)
        if reads is not None:
            reads.note(outcome)
        progress.fetching(run.name, run.summary.evaluated, len(run.changes))
    if reads is not None:
        run.read_mode, run.read_why = reads.mode, reads.describe()
    log.info(
        "instance_evaluated",
        instance=run.name,
        fetched=run.summary.evaluated,
        matched=run.summary.matched,
        changes=len(run.changes),
    )
    for change in run.changes:
        audit.decision(change, dry_run=dry_run)
    return policy


def _peeking(tickets: Iterable[Ticket], peek: Callable[[Ticket], None]) -> Iterator[Ticket]:
    for ticket in tickets:
        peek(ticket)
        yield ticket


def _send_owed(adapter: Adapter, run: InstanceRun, audit: AuditLog) -> None:
    """The second comments earlier runs owe (adapters.owed), before this run reads anything:
    a comment sent now moves its ticket's `updated_at`, which the fetch then sees."""
    adapter.fields()
    if run.guard is not None:
        run.guard()
    for result in adapter.send_owed():  # sends the next one when asked for it
        run.owed.append(result)
        audit.outcome(run.name, result, event="owed_comment")
        bad = result.status is WriteStatus.FAILED or result.comment_dropped
        (log.warning if bad else log.info)(
            "owed_comment",
            instance=run.name,
            ticket=result.ticket,
            status=result.status.value,
            message=result.message,
        )
        if run.guard is not None:
            run.guard()  # before the next one is sent


def _write(
    adapter: Adapter,
    changes: Sequence[TicketChange],
    reevaluate: Reevaluate,
    runtime: Runtime,
    run: InstanceRun,
    audit: AuditLog,
    concurrency: int,
    relabel: Callable[[WriteResult], WriteResult] = lambda result: result,
) -> None:
    failed = [0]

    def on_result(result: WriteResult) -> None:
        result = relabel(result)
        run.results.append(result)
        audit.outcome(run.name, result)
        failed[0] += result.status is WriteStatus.FAILED
        bad = result.status is WriteStatus.FAILED or result.comment_dropped
        (log.warning if bad else log.info)(
            "comment_dropped" if result.comment_dropped else f"ticket_{result.status.value}",
            instance=run.name,
            ticket=result.ticket,
            message=result.message or None,
            rereads=result.rereads or None,
        )
        runtime.progress.writing(run.name, len(run.results), len(changes), failed[0])

    execute(
        adapter,
        changes,
        reevaluate,
        concurrency=concurrency,
        on_result=on_result,
        guard=run.guard,
        interrupted=runtime.stop,
    )


def run_instance(
    config: Config, name: str, runtime: Runtime, audit: AuditLog, options: Options
) -> InstanceRun:
    """`escalate run` for one instance, under its lock."""
    policy = [config.policy]  # what `_plan` evaluated: re-evaluations use the same

    unusable: dict[str, str] = {}

    def reevaluate(ticket: Ticket) -> TicketChange | None:
        try:
            return evaluate_ticket(policy[0], ticket, runtime.now()).change
        except Exception as exc:  # odd data on the fresh ticket: leave it for the next run
            unusable[ticket.id] = f"the fresh ticket could not be evaluated: {exc}"
            log.warning("reevaluation_failed", instance=name, ticket=ticket.id, error=str(exc))
            return None

    def relabel(result: WriteResult) -> WriteResult:
        """`None` from a failed re-evaluation is not "nothing to do": report it skipped."""
        why = unusable.get(result.ticket)
        if why is None or result.status is not WriteStatus.UNCHANGED:
            return result
        return replace(result, status=WriteStatus.SKIPPED, message=why)

    def body(adapter: Adapter, run: InstanceRun) -> None:
        reads = _reads(config, name, runtime, options)
        if not options.dry_run:
            _send_owed(adapter, run, audit)
        sending = not options.dry_run
        outbox = open_outbox(config, name, runtime.state(config), runtime.clock, sending=sending)
        landed = Landed(outbox if sending else None)
        policy[0] = _plan(
            adapter,
            config,
            runtime,
            run,
            audit,
            dry_run=options.dry_run,
            reads=reads,
            peek=landed.peek,
        )
        landed.confirm()
        if _storm(run, options.max_changes):
            return
        if options.dry_run:
            run.notices_waiting = waiting(outbox)
            run.outcome = RunOutcome.DRY_RUN
            return
        if outbox is not None:
            outbox.plan(run.changes)  # kept before the writes: a crash after one loses none
        _write(adapter, run.changes, reevaluate, runtime, run, audit, options.concurrency, relabel)
        if reads is not None:
            reads.commit()
        if outbox is not None:  # an incremental read saw only some tickets: none is "gone"
            full = reads is None or reads.mode == FULL
            after_writes(outbox, adapter, policy[0], run, audit, run.seen if full else None)

    return _locked(config, name, runtime, audit, body)


def _reads(config: Config, name: str, runtime: Runtime, options: Options) -> Reads | None:
    """With `run.incremental`: what this run reads (chosen before anything is sent, so that
    its start is the next high-water mark); None: the whole scope, as without the index."""
    if not options.incremental:
        return None
    return choose(
        config,
        name,
        runtime.state(config).due(name),
        runtime.clock(),
        full=options.full,
        hint=options.hint,
        search=options.search,
    )


def _storm(run: InstanceRun, max_changes: int) -> bool:
    """The storm guard: more changes than `max_changes` refuse the run (nothing written)."""
    if not max_changes or len(run.changes) <= max_changes:
        return False
    run.outcome = RunOutcome.REFUSED
    run.error = (
        f"{len(run.changes)} tickets would change, more than max_changes = {max_changes};"
        " no change was written. Check the plan (escalate plan), then raise run.max_changes"
        " or pass --force."
    )
    log.error("storm_guard", instance=run.name, changes=len(run.changes), max_changes=max_changes)
    return True


def _locked(
    config: Config,
    name: str,
    runtime: Runtime,
    audit: AuditLog,
    body: Callable[[Adapter, InstanceRun], None],
) -> InstanceRun:
    platform = config.instances[name].platform
    store = runtime.state(config)
    try:
        lease = store.lock(name)
    except Locked as exc:
        log.warning("instance_locked", instance=name, error=str(exc))
        run = InstanceRun(name, platform, outcome=RunOutcome.LOCKED, error=str(exc))
    except StoreError as exc:  # every instance would fail alike: the command stops
        if store.kind == "sqlite":  # the state directory: the config's to fix (exit 2)
            raise ConfigError(str(exc)) from None
        raise
    else:
        try:
            guard = _guard(name, lease) if store.kind != "sqlite" else None  # a flock holds
            run = _guarded(config, name, runtime, body, guard=guard)
        finally:
            lease.release()
    audit.event("instance_finished", instance=name, **run.to_json())
    return run


def _guard(name: str, lease: Lease) -> Callable[[], None]:
    def check() -> None:
        if not lease.alive():
            raise LockLost(name, "its connection to the state store dropped")

    return check


def plan_instance(config: Config, name: str, runtime: Runtime, audit: AuditLog) -> InstanceRun:
    """`escalate plan` for one instance: read-only, so no lock is taken."""

    def body(adapter: Adapter, run: InstanceRun) -> None:
        _plan(adapter, config, runtime, run, audit, dry_run=True)

    run = _guarded(config, name, runtime, body)
    if run.outcome is RunOutcome.OK:
        run.outcome = RunOutcome.DRY_RUN
    return run


def apply_instance(
    config: Config,
    name: str,
    changes: Sequence[TicketChange],
    runtime: Runtime,
    audit: AuditLog,
    concurrency: int,
) -> InstanceRun:
    """`escalate apply` for one instance: exactly the planned changes, each only if its ticket
    is as it was when the plan was made."""
    planned = {c.ticket: c for c in changes}

    def body(adapter: Adapter, run: InstanceRun) -> None:
        run.changes = list(changes)
        adapter.fields()  # owed comments wait for the next `run`: this writes exactly the plan

        def reevaluate(fresh: Ticket) -> TicketChange | None:
            change = planned.get(fresh.id)
            if change is not None and fresh.updated_at == change.ticket_updated_at:
                return change
            if change is None or not _landed(fresh, change):
                run.stale.append(fresh.id)
                log.warning(
                    "ticket_stale",
                    instance=name,
                    ticket=fresh.id,
                    planned_at=change.ticket_updated_at.isoformat() if change else None,
                    updated_at=fresh.updated_at.isoformat(),
                )
            return None

        outbox = open_outbox(config, name, runtime.state(config), runtime.clock)
        if outbox is not None:
            outbox.plan(changes)
        _write(adapter, changes, reevaluate, runtime, run, audit, concurrency)
        if outbox is not None:  # the plan's notices, and what earlier runs left due
            after_writes(outbox, adapter, config.policy, run, audit, None)

    return _locked(config, name, runtime, audit, body)


def _landed(fresh: Ticket, change: TicketChange) -> bool:
    """Our own write of this change is on the ticket (an earlier apply, or a write that landed
    before a timeout). `level` and `state` are the tracking fields every instance maps, and
    `state` records the write's time and the rules that fired: enough to recognise it."""
    raw = fresh.tracking.to_raw()
    compared = [n for n in ("level", "state") if n in change.tracking]
    return bool(compared) and all(raw.get(n) == change.tracking[n].new for n in compared)
