"""Writing a run's changes to one instance: bounded concurrency, one result per change.

The changes are cut into the chunks the adapter asks for (`batch_size`: one ticket per call for
per-ticket writes, everything in one call where the adapter packs `update_many` jobs) and the
chunks run on at most `concurrency` threads. Every request still goes through the instance's
one transport, so pacing (`budget.requests_per_minute`) and the retry budget are shared by all
threads, reads included.

Promises: one ticket's failure never stops the others; every change gets exactly one
`WriteResult`. An error that makes every further write fail the same way (AuthError,
SetupError, and LockLost: the instance's lock is gone, so another run may be writing) stops
the instance: changes not yet started are reported FAILED with that error and nothing more is
sent; it is re-raised after the writes in flight have finished. So does `interrupted` (Ctrl-C
while instances run in parallel, `connector.fleet`), without raising.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

import structlog

from adapters.errors import AuthError, SetupError
from adapters.protocol import Adapter, Reevaluate
from adapters.results import WriteResult, WriteStatus
from rules.plan import TicketChange
from state import LockLost

OnResult = Callable[[WriteResult], None]
#: With a lock that can be lost (PostgreSQL), a batch call writes at most this many changes
#: (one update_many job), so the lock is checked before each.
GUARDED_BATCH = 100
log = structlog.get_logger("connector.executor")


def chunks(changes: Sequence[TicketChange], size: int) -> list[Sequence[TicketChange]]:
    size = max(1, size)
    return [changes[i : i + size] for i in range(0, len(changes), size)]


def batch_size(adapter: Adapter, count: int, *, guarded: bool) -> int:
    """Changes per write call: the adapter's, but with a lock that can be lost (`guarded`) at
    most one job's worth, so the lock is asked before each, not once for them all."""
    size = adapter.batch_size(count)
    return min(size, GUARDED_BATCH) if guarded else size


def execute(
    adapter: Adapter,
    changes: Sequence[TicketChange],
    reevaluate: Reevaluate,
    *,
    concurrency: int,
    on_result: OnResult,
    guard: Callable[[], None] | None = None,
    interrupted: threading.Event | None = None,
) -> None:
    """Write `changes`; `on_result` is called once per change (from worker threads, one at a
    time). Raises the first instance-fatal error after reporting every change. `guard` runs
    before each write batch and raises LockLost once the instance's lock is gone: nothing
    more is sent."""
    if not changes:
        return
    lock = threading.Lock()
    stop = threading.Event()
    fatal: list[BaseException] = []

    def report(result: WriteResult) -> None:
        with lock:
            on_result(result)

    def work(chunk: Sequence[TicketChange]) -> None:
        done: set[str] = set()
        try:
            if stop.is_set() or (interrupted is not None and interrupted.is_set()):
                raise _Stopped
            if guard is not None:
                guard()
            for result in adapter.write(chunk, reevaluate):
                done.add(result.ticket)
                report(result)
        except _Stopped:
            why = fatal[0] if fatal else KeyboardInterrupt("interrupted")
            _fail_rest(chunk, done, report, f"not written: {why}", why)
        except (AuthError, SetupError, LockLost) as exc:
            with lock:
                fatal.append(exc)
            stop.set()
            _fail_rest(chunk, done, report, str(exc), exc)
        except Exception as exc:  # a bug in an adapter must not stop the other tickets
            log.exception("write_crashed", instance=adapter.instance, tickets=len(chunk))
            _fail_rest(chunk, done, report, f"internal error: {type(exc).__name__}: {exc}", exc)

    adapter.expect_writes(changes)  # Jira reads them ahead, 100 a request, for its re-reads
    parts = chunks(changes, batch_size(adapter, len(changes), guarded=guard is not None))
    workers = max(1, min(concurrency, len(parts)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="write")
    try:
        futures: list[Future[None]] = [pool.submit(work, part) for part in parts]
        wait(futures)
    except BaseException:  # Ctrl-C: start nothing more; the writes in flight finish
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for future in futures:
        future.result()  # an error in reporting itself (say, the audit log's disk is full)
    if fatal:
        raise fatal[0]


class _Stopped(Exception):
    """The instance was stopped by a fatal error in another thread."""


def _fail_rest(
    chunk: Sequence[TicketChange],
    done: set[str],
    report: OnResult,
    message: str,
    error: BaseException,
) -> None:
    for change in chunk:
        if change.ticket not in done:
            exc = error if isinstance(error, Exception) else None
            report(WriteResult(change.ticket, WriteStatus.FAILED, message, error=exc))
