"""The shared adapter contract, run against the Zendesk emulator.

Every request each test sent is validated against the published OpenAPI document afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from tests.adapters.contract import AdapterContract
from tests.adapters.zendesk_harness import ZendeskHarness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ZendeskHarness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = ZendeskHarness(rsps, tmp_path)
        yield h
        assert h.check_spec() == len(rsps.calls)


class TestZendeskContract(AdapterContract):
    pass
