"""The adapter tests' fixtures, every request checked against the OpenAPI document when the test
ends: `zd`, a Zendesk emulator bound to `responses` (a module that needs another policy sets
`ZD_POLICY`), and `make`, which makes Jira harnesses (`make("cloud")`, `make("dc")`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from tests.adapters.jira_harness import Make, harnesses
from tests.adapters.zendesk_harness import ZendeskHarness


@pytest.fixture
def zd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ZendeskHarness]:
    """A module that sets `ZD_POLICY` (a Policy) gets harnesses with that policy."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = ZendeskHarness(rsps, tmp_path)
        h.custom_policy = getattr(request.module, "ZD_POLICY", None)
        yield h
        assert h.check_spec() == len(rsps.calls)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    with harnesses(tmp_path) as factory:
        yield factory
