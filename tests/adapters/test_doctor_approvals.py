"""`doctor` on approval gates: the approval field must be mapped, every approver group must
exist (Zendesk groups, Jira groups), at the HTTP level on Zendesk, Jira Cloud and Data Center."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from adapters.results import Check
from rules.policy import load_policy
from tests.adapters.approval_contract import APPROVAL_POLICY, approval_policy
from tests.adapters.jira_harness import JiraHarness
from tests.adapters.zendesk_harness import ZendeskHarness

WITHOUT_FIELD = APPROVAL_POLICY.replace("      approved_by: Escalation approved by\n", "")


@pytest.fixture(params=["zendesk", "cloud", "dc"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ZendeskHarness | JiraHarness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        if request.param == "zendesk":
            yield ZendeskHarness(rsps, tmp_path)
        else:
            yield JiraHarness(request.param, rsps, tmp_path)


def approvals(h: ZendeskHarness | JiraHarness) -> Check:
    adapter = h.adapter()
    try:
        return next(c for c in adapter.check() if c.name == "approvals")
    finally:
        adapter.close()


def test_a_missing_approver_group_fails_and_passes_once_it_exists(
    h: ZendeskHarness | JiraHarness,
) -> None:
    h.use_approvals(approval_policy())
    check = approvals(h)
    assert not check.ok and "no group named 'Managers'" in check.detail
    h.in_group("Managers", "dana@acme.example")
    check = approvals(h)
    assert check.ok and "Managers (1 member)" in check.detail


def test_a_gate_without_an_approval_field_fails(h: ZendeskHarness | JiraHarness) -> None:
    h.use_approvals(load_policy(WITHOUT_FIELD, "no-field.yaml"))
    check = approvals(h)
    assert not check.ok and "no field is mapped for approved_by" in check.detail


def test_no_gate_no_check(h: ZendeskHarness | JiraHarness) -> None:
    adapter = h.adapter()
    try:
        assert "approvals" not in {c.name for c in adapter.check()}
    finally:
        adapter.close()
