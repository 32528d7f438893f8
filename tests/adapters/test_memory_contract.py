"""The shared adapter contract, run against the in-memory adapter: the fake the runner and
executor tests use keeps the promises the real adapters keep."""

from __future__ import annotations

import pytest

from tests.adapters.approval_contract import ApprovalContract
from tests.adapters.memory_harness import MemoryHarness


@pytest.fixture(params=[None, 1], ids=["any-comments", "one-comment-per-update"])
def harness(request: pytest.FixtureRequest) -> MemoryHarness:
    """Also as a platform that takes one comment per update (as Zendesk): a note and a reply
    then take two updates, the second one journaled."""
    return MemoryHarness(request.param)


class TestMemoryContract(ApprovalContract):
    pass
