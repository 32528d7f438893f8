"""The adapter tests' fixtures, every request checked against the OpenAPI document when the test
ends: `zd`, a Zendesk emulator bound to `responses` (a module that needs another policy defines
its own), and `make`, which makes Jira harnesses (`make("cloud")`, `make("dc")`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from tests.adapters.jira_harness import Make, harnesses
from tests.adapters.zendesk_harness import ZendeskHarness


@pytest.fixture
def zd(tmp_path: Path) -> Iterator[ZendeskHarness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = ZendeskHarness(rsps, tmp_path)
        yield h
        assert h.check_spec() == len(rsps.calls)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    with harnesses(tmp_path) as factory:
        yield factory
