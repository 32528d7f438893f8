"""The shared adapter contract, run against the in-memory adapter: the fake the runner and
executor tests use keeps the promises the real adapters keep."""

from __future__ import annotations

import pytest

from tests.adapters.contract import AdapterContract
from tests.adapters.memory_harness import MemoryHarness


@pytest.fixture
def harness() -> MemoryHarness:
    return MemoryHarness()


class TestMemoryContract(AdapterContract):
    pass
