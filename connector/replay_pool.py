"""Replaying tickets on several processes (`escalate backtest --jobs N`), in the export's
order, with a bounded number of chunks in flight, so a streamed export stays streamed."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from itertools import islice

from connector.config import load_config
from rules.backtest import TicketResult, result
from rules.policy import Policy
from rules.ticketio import TicketRecord, to_ticket

CHUNK = 50  # tickets per task: enough to make a task's overhead small
Pair = tuple[TicketResult, TicketResult | None]  # this policy's result, the --compare one's

_policies: tuple[Policy, Policy | None] | None = None  # in each worker process


def replay_all(
    records: Iterable[TicketRecord],
    window: tuple[datetime | None, datetime],
    policies: tuple[Policy, Policy | None],
    paths: tuple[str, str | None],
    jobs: int,
) -> Iterator[Pair]:
    """Each record replayed with the policy (and the --compare one) up to the window's end, in
    order, keeping the changes from its start (None: all). With `jobs` > 1 the work runs on
    that many processes, each loading the configurations from `paths`."""
    if jobs <= 1:
        yield from _replay(records, window, policies)
        return
    with ProcessPoolExecutor(jobs, initializer=_load, initargs=paths) as pool:
        inflight: deque[Future[list[Pair]]] = deque()
        todo = iter(records)
        while chunk := list(islice(todo, CHUNK)):
            inflight.append(pool.submit(_work, chunk, window))
            if len(inflight) >= jobs * 4:
                yield from inflight.popleft().result()
        while inflight:
            yield from inflight.popleft().result()


def _replay(
    records: Iterable[TicketRecord],
    window: tuple[datetime | None, datetime],
    policies: tuple[Policy, Policy | None],
) -> Iterator[Pair]:
    (start, end), (policy, other) = window, policies
    for record in records:
        ours = result(policy, to_ticket(record, policy), end, start)
        theirs = None
        if other is not None:
            theirs = result(other, to_ticket(record, other), end, start)
        yield ours, theirs


def _load(config_path: str, other_path: str | None) -> None:
    global _policies  # noqa: PLW0603 (one per worker process, set once)
    other = load_config(other_path).policy if other_path is not None else None
    _policies = (load_config(config_path).policy, other)


def _work(records: list[TicketRecord], window: tuple[datetime | None, datetime]) -> list[Pair]:
    assert _policies is not None
    return list(_replay(records, window, _policies))
