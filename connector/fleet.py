"""Many instances, one command: `run --jobs N` and `plan --jobs N` work on up to N instances at
once, each on its own thread (and under its own lock, taken by the runner as it would be
alone), and hand back their runs in the order they were asked for, whatever order they finished
in, so the summary reads the same at any `--jobs`.

Promises: one instance's failure never stops the others (the runner turns what stops an
instance into its outcome). What would stop the whole command when run alone (the lock folder
cannot be created, the audit log cannot be written) stops starting instances, lets those in
flight finish, and is raised. Ctrl-C sets `stop`: nothing more is started, no further write
starts in any instance (the writes in flight finish), then KeyboardInterrupt is raised.

`jobs=1` is the sequential loop, on the calling thread, exactly as before `--jobs`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from connector.progress import Progress
from connector.report import InstanceRun

Work = Callable[[str], InstanceRun]


def each(
    names: Sequence[str], work: Work, *, jobs: int, stop: threading.Event, progress: Progress
) -> list[InstanceRun]:
    """`work(name)` for every name, at most `jobs` at once; the runs in the order of `names`."""
    if jobs <= 1 or len(names) <= 1:
        return [work(name) for name in names]
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(names)), thread_name_prefix="instance")
    futures: list[Future[InstanceRun]] = []
    progress.instances(0, len(names))
    try:
        futures = [pool.submit(work, name) for name in names]
        _wait(futures, progress)
    except BaseException:  # Ctrl-C: start nothing more, and tell the instances in flight
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for future in futures:
        error = None if future.cancelled() else future.exception()
        if error is not None:
            raise error  # the first in the order asked for
    return [future.result() for future in futures]


def _wait(futures: list[Future[InstanceRun]], progress: Progress) -> None:
    """Until every instance is done, or one raised (then the rest are cancelled; those in flight
    finish). Wakes at each instance's end: the progress line counts them."""
    pending: set[Future[InstanceRun]] = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        progress.instances(len(futures) - len(pending), len(futures))
        if any(f.exception() is not None for f in done):
            for future in pending:
                future.cancel()
            wait(pending)
            return
