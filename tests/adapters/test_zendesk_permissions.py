"""Zendesk write failures predicted by `doctor`, and refusals named by what they need.

A drop-down (tagger, multiselect) the policy's `set_fields` writes a value to that is not one
of its option tags (Zendesk answers 200 and drops the value), an agent whose role may not do
what the policy writes, and each 403 named by the role its endpoint needs. Every request is
validated against the OpenAPI document (the `zd` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.errors import PermissionDenied
from adapters.results import Check, WriteStatus
from adapters.zendesk.permissions import need
from emulators.zendesk.roles import add_custom_role, assign_role
from rules.engine import evaluate_ticket
from rules.needs import needs
from rules.policy import load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.zendesk_harness import CLIENT_ID, CLIENT_SECRET, ZendeskHarness

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def set_impact(zd: ZendeskHarness, value: str) -> None:
    """The contract policy, whose rule also sets the drop-down "Impact" to `value`."""
    text = CONTRACT_POLICY.replace(
        "      add_tags: [escalated]\n",
        f"      add_tags: [escalated]\n      set_fields: {{Impact: {value}}}\n",
    )
    zd.custom_policy = load_policy(text, "impact.yaml")


def act_as(zd: ZendeskHarness, user: int) -> None:
    """The connector's OAuth client acts as `user` from now on."""
    zd.emulator.clients[CLIENT_ID] = (CLIENT_SECRET, user)


def doctor(zd: ZendeskHarness) -> dict[str, Check]:
    return {c.name: c for c in zd.adapter().check()}


def run(zd: ZendeskHarness) -> Any:
    adapter, policy = zd.adapter(), zd.policy()
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]
    (result,) = adapter.write(changes, lambda t: evaluate_ticket(policy, t, NOW).change)
    return result


# --- options ------------------------------------------------------------------------------------


def test_doctor_fails_on_a_dropdown_value_that_is_no_option_and_passes_once_it_is(
    zd: ZendeskHarness,
) -> None:
    fid = zd.emulator.add_field("Impact", "tagger", options=["Low", "High"])
    set_impact(zd, "severe")
    assert doctor(zd)["options"] == Check(
        "options",
        False,
        f"drop-down 'Impact' (id {fid}) has no option tagged 'severe' (tags: low, high). Fix:"
        " add the options (Admin Center > Objects and rules > Tickets > Fields), or set the"
        " policy's set_fields to an option's tag. Zendesk accepts any other value and"
        " silently drops it.",
    )
    zd.emulator.fields[fid]["custom_field_options"].append(
        {"id": 1, "name": "Severe", "raw_name": "Severe", "value": "severe", "default": False}
    )
    assert doctor(zd)["options"] == Check(
        "options", True, "every value written is an option's tag of 'Impact'"
    )


def test_an_options_name_written_instead_of_its_tag_gets_a_hint(zd: ZendeskHarness) -> None:
    zd.emulator.add_field("Impact", "multiselect", options=["Very high=impact_vh"])
    set_impact(zd, "[Very high]")
    detail = doctor(zd)["options"].detail
    assert "has no option tagged 'Very high' (tags: impact_vh); 'Very high' is the name of" in (
        detail
    )


def test_zendesk_drops_a_dropdown_value_that_is_no_option_without_an_error(
    zd: ZendeskHarness,
) -> None:
    """Why the doctor must say so: the write "succeeds" and the value is not there."""
    zd.emulator.add_field("Impact", "tagger", options=["Low", "High"])
    set_impact(zd, "severe")
    (tid,) = zd.seed(1, priority="P1")
    result = run(zd)
    assert result.status is WriteStatus.APPLIED
    assert zd.emulator.field_value(int(tid), "Impact") is None
    assert zd.view(tid).tracking["level"] == "L2"  # the rest of the update went in

    set_impact(zd, "high")
    (other,) = zd.seed(1, priority="P1")
    assert run(zd).status is WriteStatus.APPLIED
    assert zd.emulator.field_value(int(other), "Impact") == "high"


# --- permissions --------------------------------------------------------------------------------


def agent_with_role(zd: ZendeskHarness, **configuration: object) -> int:
    rid = add_custom_role(zd.emulator, "Tier 1", **configuration)
    assign_role(zd.emulator, zd.emulator.agent, rid)
    act_as(zd, zd.emulator.agent)
    return rid


def test_an_agent_whose_role_may_not_edit_tickets_fails_doctor(zd: ZendeskHarness) -> None:
    agent_with_role(zd, ticket_editing=False, ticket_comment_access="none")
    assert doctor(zd)["permissions"] == Check(
        "permissions",
        False,
        "the account is an agent (custom role 'Tier 1'), but its role may not edit ticket"
        " properties: that blocks every write; its role may not make public comments: that"
        " blocks customer replies. Fix: give it a role that may edit all tickets (Admin Center"
        " > People > Team > Roles), or make it an admin.",
    )


def test_an_agent_restricted_to_its_groups_fails_doctor(zd: ZendeskHarness) -> None:
    agent_with_role(zd, ticket_access="within-groups")
    detail = doctor(zd)["permissions"].detail
    assert detail.startswith(
        "the account is an agent (custom role 'Tier 1'), but it sees only the tickets of its"
        " groups: the others in scope are neither read nor written"
    )


def test_a_light_agent_fails_doctor(zd: ZendeskHarness) -> None:
    zd.emulator.users[zd.emulator.agent]["role_type"] = 1
    act_as(zd, zd.emulator.agent)
    assert doctor(zd)["permissions"].detail.startswith(
        "the account is an agent, but it is a light agent, who may not edit tickets: that"
        " blocks every write."
    )


def test_an_agent_whose_role_allows_what_the_policy_writes_passes(zd: ZendeskHarness) -> None:
    agent_with_role(zd, manage_ticket_fields=True)
    checks = doctor(zd)
    assert checks["permissions"] == Check(
        "permissions",
        True,
        "agent (custom role 'Tier 1'): may run; may create fields; the shared view needs an admin",
    )
    assert all(c.ok for c in checks.values())


def test_an_end_user_gets_the_permissions_check_and_nothing_more(zd: ZendeskHarness) -> None:
    customer = zd.emulator.add_user("Cy Customer", "cy@example.com")
    act_as(zd, customer)
    assert [c.name for c in zd.adapter().check()] == ["credentials", "permissions"]


def test_a_write_refused_with_403_names_what_the_role_needs(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    agent_with_role(zd, ticket_editing=False)
    result = run(zd)
    assert result.status is WriteStatus.FAILED and isinstance(result.error, PermissionDenied)
    assert result.message == (
        f"PUT /api/v2/tickets/{tid}.json answered 403: the connector's account lacks an agent"
        " role that may edit ticket properties (custom role: `ticket_editing`) and see the"
        " ticket (all tickets, or the ticket's group) (Forbidden; You do not have access to"
        " this page. Please contact the account owner of this help desk for further help)."
        " Fix: give the account's role those permissions in Admin Center > People > Team >"
        " Roles, or make it an admin."
    )


def test_creating_a_field_as_an_agent_is_refused_naming_the_admin_role(
    zd: ZendeskHarness,
) -> None:
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    act_as(zd, zd.emulator.agent)
    adapter = zd.adapter()
    done = adapter.setup_apply(adapter.setup_plan())
    problem = next(d.problem for d in done if d.step.title == "SLA due")
    assert "answered 403: the connector's account lacks an admin role (or an agent role that" in (
        problem
    )
    assert (
        "Fix: run `escalate setup` as an admin, or let the role manage ticket fields in Admin"
        " Center > People > Team > Roles." in problem
    )


@pytest.mark.parametrize(
    ("what", "needed"),
    [
        ("PUT /api/v2/tickets/42.json", "an agent role that may edit ticket properties"),
        ("PUT /api/v2/tickets/update_many.json", "an agent role that may edit ticket"),
        ("POST /api/v2/ticket_fields.json", "an admin role (or an agent role that may manage"),
        ("POST /api/v2/views.json", "an admin role to create a view shared"),
        ("GET /api/v2/incremental/ticket_events.json", "an admin role (the incremental"),
        ("GET /api/v2/search/export.json", "an agent role (an end user may not"),
    ],
)
def test_each_endpoint_names_what_it_needs(what: str, needed: str) -> None:
    found = need(what)
    assert found is not None and found.permission.startswith(needed)


def test_users_me_and_the_token_endpoint_need_nothing_in_particular() -> None:
    assert need("GET /api/v2/users/me.json") is None and need("POST /oauth/tokens") is None
