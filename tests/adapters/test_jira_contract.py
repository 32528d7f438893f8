"""The shared adapter contract, run against the Jira emulator as Cloud and as Data Center.

Every request each test sent is validated against the published OpenAPI document afterwards
(v3 paths fully, v2 paths for path, method and query parameters).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from tests.adapters.approval_contract import ApprovalContract
from tests.adapters.jira_harness import JiraHarness


@pytest.fixture(params=["cloud", "dc"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JiraHarness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = JiraHarness(request.param, rsps, tmp_path)
        yield h
        assert h.check_spec() == len(rsps.calls)


class TestJiraContract(ApprovalContract):
    pass
