"""A sweep's JSON out of the cycle collector's way (BENCHMARKS.md, "Full sweeps").

`sweeping()` marks a sweep under way (the Jira and Zendesk fetches); `loads` is the parse of
every answer (`adapters.http.JsonResponse`): during a sweep, each page parsed is frozen.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

_sweeps = [0]  # sweeps under way (`sweeping`), in any thread
_sweeps_lock = threading.Lock()


@contextmanager
def sweeping() -> Iterator[None]:
    """While a sweep reads: each page parsed is frozen (`gc.freeze`), so that the cycle
    collector never walks its objects again. orjson's objects hold no cycles (freed by their
    reference counts as before); walking them, and the start-up's, on each collection was a
    fifth of a Jira read (BENCHMARKS.md, "Full sweeps"). The last sweep to end unfreezes, so
    that what was frozen is collected as usual after it."""
    with _sweeps_lock:
        _sweeps[0] += 1
    try:
        yield
    finally:
        with _sweeps_lock:
            _sweeps[0] -= 1
            if not _sweeps[0]:
                gc.unfreeze()


def loads(content: bytes, parse: Callable[[bytes], Any] = orjson.loads) -> Any:
    """orjson's parse (or `parse`'s); during a sweep without collections, its objects then
    frozen."""
    if not _sweeps[0]:
        return parse(content)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parse(content)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
