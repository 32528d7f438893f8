"""Tracking and policy fields: resolved by title, every problem named at once, created on request.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from adapters.errors import SetupError
from adapters.results import FieldStatus
from rules.needs import needs
from rules.policy import load_policy
from tests.adapters.zendesk_harness import TITLES, ZendeskHarness, policy_with

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[ZendeskHarness]:
    """An account without any tracking field."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = ZendeskHarness(rsps, tmp_path, fields=())
        yield h
        assert h.check_spec() == len(rsps.calls)


def test_every_missing_field_is_named_at_once(bare: ZendeskHarness) -> None:
    bare.custom_policy = policy_with(
        "  - name: billing\n    when: {custom: {Product: [billing]}}\n    then: {add_tags: [b]}\n"
    )
    with pytest.raises(SetupError) as err:
        bare.adapter().fields()
    message = str(err.value)
    for title in TITLES.values():
        assert repr(title) in message
    assert "escalate setup" in message
    assert "'Product'" not in message  # a policy field only switches off what reads it


def test_fetch_stops_before_reading_tickets_when_fields_are_missing(bare: ZendeskHarness) -> None:
    bare.seed(3)
    with pytest.raises(SetupError):
        list(bare.adapter().fetch(needs(bare.policy()), NOW))
    assert bare.count("GET", r"/search/export$") == 0


def test_setup_creates_the_missing_tracking_fields_with_their_types(bare: ZendeskHarness) -> None:
    statuses = {s.name: s for s in bare.adapter().fields(create=True)}
    assert all(statuses[n].created and statuses[n].id for n in TITLES)
    posted = [
        json.loads(c.request.body)["ticket_field"]
        for c in bare.rsps.calls
        if c.request.method == "POST" and "ticket_fields" in str(c.request.url)
    ]
    types = {p["title"]: p["type"] for p in posted}
    assert types == {title: "integer" if n == "count" else "text" for n, title in TITLES.items()}
    assert all(p["description"] for p in posted)
    again = bare.adapter().fields(create=True)
    assert not any(s.created for s in again)
    assert bare.count("POST", r"/ticket_fields$") == 6


def test_a_field_created_before_a_502_is_not_created_twice(bare: ZendeskHarness) -> None:
    bare.emulator.fail("POST", r"/ticket_fields$", 502, after_landing=True)
    statuses = {s.name: s for s in bare.adapter().fields(create=True)}
    assert all(statuses[n].id and not statuses[n].problem for n in TITLES)
    titles = [f["title"] for f in bare.emulator.fields.values()]
    assert sorted(titles) == sorted(TITLES.values()), "each field exactly once"
    assert bare.count("POST", r"/ticket_fields$") == 6


def test_a_missing_policy_field_is_reported_not_raised(bare: ZendeskHarness) -> None:
    bare.custom_policy = policy_with(
        "  - name: billing\n    when: {custom: {Product: [billing]}}\n    then: {add_tags: [b]}\n"
    )
    statuses = {s.name: s for s in bare.adapter().fields(create=True)}
    assert statuses["Product"] == FieldStatus("Product", "Product", None, "missing", kind="policy")
    assert bare.count("POST", r"/ticket_fields$") == 6  # the tracking fields only


def test_a_date_or_inactive_tracking_field_is_refused(tmp_path: Path) -> None:
    fields = [(t, "text") for n, t in TITLES.items() if n not in ("escalated_at", "state")]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = ZendeskHarness(rsps, tmp_path, fields=[*fields, ("Escalated at", "date")])
        h.emulator.add_field("Escalation state", "text", active=False)
        with pytest.raises(SetupError) as err:
            h.adapter().fields()
        message = str(err.value)
        assert "'Escalated at': it is a date field (date fields hold days only)" in message
        assert "'Escalation state': the field is inactive" in message
        assert h.check_spec() == len(rsps.calls)


def test_two_fields_with_one_title_are_ambiguous(zd: ZendeskHarness) -> None:
    zd.emulator.add_field("Escalation rule", "text")
    with pytest.raises(SetupError, match="'Escalation rule': ambiguous"):
        zd.adapter().fields()


def test_the_instance_can_rename_a_tracking_field(zd: ZendeskHarness) -> None:
    zd.emulator.add_field("Niveau d'escalade", "text")
    (tid,) = zd.seed(1, priority="P1")
    adapter = zd.adapter(fields={"level": "Niveau d'escalade"})
    statuses = {s.name: s for s in adapter.fields()}
    assert statuses["level"].title == "Niveau d'escalade"
    assert statuses["level"].id == str(zd.emulator.field_id("Niveau d'escalade"))
    ticket = next(iter(adapter.fetch(needs(zd.policy()), NOW)))
    assert ticket.id == tid and ticket.tracking.level is None


def test_level_and_state_must_be_mapped(zd: ZendeskHarness) -> None:
    zd.custom_policy = load_policy(
        "levels: [{name: L1}]\n"
        "rules: [{name: p1, when: {priority: P1}, then: {add_tags: [x]}}]\n"
        "platforms: {zendesk: {fields: {escalated_at: Escalated at}}}\n",
        "unmapped.yaml",
    )
    with pytest.raises(SetupError) as err:
        zd.adapter().fields()
    assert "platforms.zendesk.fields.level" in str(err.value)
    assert "platforms.zendesk.fields.state" in str(err.value)


def test_doctor_reports_each_problem(zd: ZendeskHarness) -> None:
    zd.emulator.groups.pop(zd.emulator.group_id("Support L2"))
    checks = {c.name: c for c in zd.adapter().check()}
    assert checks["credentials"].ok and "Escalation Bot" in checks["credentials"].detail
    assert checks["fields"].ok and checks["scope"].ok
    assert not checks["groups"].ok and "Support L2" in checks["groups"].detail


def test_doctor_reports_refused_credentials(zd: ZendeskHarness) -> None:
    zd.emulator.clients.clear()
    (check,) = zd.adapter().check()
    assert check.name == "credentials" and not check.ok
