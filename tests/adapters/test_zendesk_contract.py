"""The shared adapter contract, run against the Zendesk emulator.

Every request each test sent is validated against the published OpenAPI document afterwards.
"""

from __future__ import annotations

import pytest

from tests.adapters.approval_contract import ApprovalContract
from tests.adapters.zendesk_harness import ZendeskHarness


@pytest.fixture
def harness(zd: ZendeskHarness) -> ZendeskHarness:
    return zd


class TestZendeskContract(ApprovalContract):
    pass
