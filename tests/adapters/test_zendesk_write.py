"""Writing to Zendesk: one safe PUT per change, conflicts and timeouts re-read (the jobs above
the batch threshold: test_zendesk_jobs.py). The changes come from the real engine; every request
is validated against the OpenAPI document.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.errors import AuthError, Conflict, PermissionDenied, Rejected
from adapters.results import WriteResult, WriteStatus
from rules.engine import evaluate_ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy
from tests.adapters.zendesk_harness import ZendeskAdapter, ZendeskHarness, policy_with

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PUT_TICKET = r"^/api/v2/tickets/\d+$"
JOB_POLLS = r"^/api/v2/job_statuses/show_many$"
JOB_POLL = r"^/api/v2/job_statuses/[0-9a-f]+$"  # one job alone


def plan(zd: ZendeskHarness, **settings: Any) -> tuple[ZendeskAdapter, list[TicketChange]]:
    adapter, policy = zd.adapter(**settings), zd.policy()
    changes = []
    for ticket in adapter.fetch(needs(policy), NOW):
        change = evaluate_ticket(policy, ticket, NOW).change
        if change is not None:
            changes.append(change)
    return adapter, changes


def write(
    adapter: ZendeskAdapter, policy: Policy, changes: list[TicketChange]
) -> dict[str, WriteResult]:
    def again(ticket: Any) -> TicketChange | None:
        return evaluate_ticket(policy, ticket, NOW).change

    results = {r.ticket: r for r in adapter.write(changes, again)}
    assert set(results) == {c.ticket for c in changes}
    return results


def bodies(zd: ZendeskHarness, method: str = "PUT") -> list[dict[str, Any]]:
    return [
        json.loads(c.request.body)
        for c in zd.rsps.calls
        if c.request.method == method and c.request.body
    ]


def test_one_put_carries_the_change_and_a_second_only_the_reply(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1", tags=["vip", "network"])
    adapter, changes = plan(zd)
    updated_at = zd.emulator.tickets[int(tid)]["updated_at"]
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and not result.comment_dropped
    first, second = (b["ticket"] for b in bodies(zd))
    emu = zd.emulator
    assert first["group_id"] == emu.group_id("Support L2")
    # the whole list (a single update ignores `additional_tags`), safe on the stamp it read
    assert first["tags"] == ["escalated", "network", "vip"] and "additional_tags" not in first
    assert first["comment"] == {"body": "Escalated Printer on fire", "public": False}
    assert first["safe_update"] is True and first["updated_stamp"] == updated_at
    fields = {f["id"]: f["value"] for f in first["custom_fields"]}
    assert fields[emu.field_id("Escalation level")] == "L2"
    assert fields[emu.field_id("Escalation count")] == 1  # an integer field gets a number
    # the reply: a safe update on the stamp the change left, so it can land once only
    after_change = zd.emulator.audits[int(tid)][-2]["created_at"]
    assert after_change > updated_at
    assert second == {
        "comment": {"body": "We are on it", "public": True},
        "id": int(tid),
        "safe_update": True,
        "updated_stamp": after_change,
    }
    assert zd.view(tid).tags == {"vip", "network", "escalated"}
    assert zd.count("PUT", PUT_TICKET) == 2


def test_an_agents_tag_added_after_the_plan_survives_our_whole_tag_list(
    zd: ZendeskHarness,
) -> None:
    """The list we send is the one we read: an agent's tag typed in between makes it a 409,
    and the re-read list (with their tag) is the one written."""
    (tid,) = zd.seed(1, priority="P1", tags=["vip"])
    adapter, changes = plan(zd)
    zd.emulator.before_write(int(tid), lambda: zd.agent_edit(tid, add_tags=["customer-called"]))
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert zd.view(tid).tags == {"vip", "customer-called", "escalated"}


def test_a_drop_down_set_with_tags_keeps_its_option_tag_in_the_whole_list(
    zd: ZendeskHarness,
) -> None:
    """A drop-down's value lives among the tags too: the whole list swaps its option tag, so
    the list and the field agree (and neither the old option nor an agent's tag is lost)."""
    fid = zd.emulator.add_field("Impact", "tagger", options=["Low", "High"])
    zd.custom_policy = policy_with(
        "  - name: p1\n    when: {priority: P1}\n"
        "    then: {add_tags: [escalated], set_fields: {Impact: high}}\n"
    )
    (tid,) = zd.seed(1, priority="P1", tags=["vip"])
    zd.emulator.agent_edit(int(tid), {"custom_fields": [{"id": fid, "value": "low"}]})
    assert "low" in zd.emulator.tickets[int(tid)]["tags"]
    adapter, changes = plan(zd)
    assert write(adapter, zd.policy(), changes)[tid].status is WriteStatus.APPLIED
    (sent,) = (b["ticket"] for b in bodies(zd))
    assert sent["tags"] == ["escalated", "high", "vip"]
    assert set(zd.emulator.tickets[int(tid)]["tags"]) == {"escalated", "high", "vip"}
    assert zd.emulator.field_value(int(tid), "Impact") == "high"


def test_a_plan_saved_without_its_tags_reads_them_first(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1", tags=["vip"])
    adapter, changes = plan(zd)
    old = [replace(c, tags_read=None) for c in changes]  # a plan from an earlier version
    zd.agent_edit(tid, add_tags=["customer-called"])  # and the ticket moved since
    result = write(adapter, zd.policy(), old)[tid]
    assert result.status is WriteStatus.APPLIED
    assert zd.view(tid).tags == {"vip", "customer-called", "escalated"}


def test_a_reply_without_a_note_goes_in_the_one_put(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(
        "  - name: ack\n    when: {priority: P1}\n    then: {reply: customer}\n"
    )
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    assert write(adapter, zd.policy(), changes)[tid].status is WriteStatus.APPLIED
    (only,) = bodies(zd)
    assert only["ticket"]["comment"] == {"body": "We are on it", "public": True}
    assert zd.view(tid).replies() == ["We are on it"] and not zd.view(tid).notes()


def test_ticket_text_cannot_become_markup_in_the_note(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1", title="[pay here](https://evil.example) <img src=x>")
    adapter, changes = plan(zd)
    write(adapter, zd.policy(), changes)
    (note,) = zd.view(tid).notes()
    assert note.startswith("Escalated \\[pay here\\]\\(https")
    assert "<img" not in note and "&lt;img src=x&gt;" in note


def test_a_group_change_unassigns_with_null(zd: ZendeskHarness) -> None:
    agent = zd.emulator.add_user("Lee", "lee@acme.example", "agent")
    tid = zd.emulator.add_ticket(priority="urgent", group="Support L1", assignee=agent)
    adapter, changes = plan(zd)
    assert write(adapter, zd.policy(), changes)[str(tid)].status is WriteStatus.APPLIED
    assert bodies(zd)[0]["ticket"]["assignee_id"] is None
    assert zd.emulator.tickets[tid]["assignee_id"] is None


def test_an_owner_named_in_the_users_map_is_assigned_by_id(zd: ZendeskHarness) -> None:
    zd.custom_policy = policy_with(
        "  - name: to-ann\n    when: {priority: P1}\n    then: {assign: {assignee: Ann}}\n"
    )
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd, users={"Ann": zd.emulator.agent})
    assert write(adapter, zd.policy(), changes)[tid].status is WriteStatus.APPLIED
    assert bodies(zd)[0]["ticket"]["assignee_id"] == zd.emulator.agent


def test_a_conflict_is_reread_and_the_agents_edit_wins(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    # The agent lowers the priority just before our write: P3 no longer escalates.
    zd.emulator.before_write(int(tid), lambda: zd.agent_edit(tid, priority="P3"))
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.UNCHANGED and result.rereads == 1
    view = zd.view(tid)
    assert view.priority == "P3" and view.group == "Support L1" and not view.comments
    assert zd.count("PUT", PUT_TICKET) == 1


def test_a_second_conflict_is_not_tried_a_third_time(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)

    def edit_twice() -> None:  # an edit now, and another just before our retry lands
        zd.agent_edit(tid, add_tags=["busy"])
        zd.emulator.before_write(int(tid), lambda: zd.agent_edit(tid, add_tags=["busier"]))

    zd.emulator.before_write(int(tid), edit_twice)
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.FAILED and result.rereads == 1
    assert isinstance(result.error, Conflict)
    assert zd.count("PUT", PUT_TICKET) == 2
    assert zd.view(tid).tags == {"busy", "busier"} and not zd.view(tid).comments


def test_a_timed_out_put_that_landed_is_reread_not_repeated(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.fail("timeout_after_landing", ticket_id=tid)
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    view = zd.view(tid)
    assert len(view.notes()) == 1 and len(view.replies()) == 1
    assert zd.count("GET", rf"^/api/v2/tickets/{tid}$") == 1  # the re-read
    assert zd.count("PUT", PUT_TICKET) == 2  # the change (landed) and the reply it owed


def test_a_timed_out_put_that_did_not_land_is_written_once_more(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.timeout_before_landing("PUT", rf"/tickets/{tid}$")
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    view = zd.view(tid)
    assert len(view.notes()) == 1 and len(view.replies()) == 1
    assert view.tracking["level"] == "L2"


def test_a_reply_that_timed_out_after_landing_is_not_sent_again(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    # Armed while the first PUT lands, so it hits the second one: the reply.
    zd.emulator.before_write(
        int(tid), lambda: zd.emulator.timeout_after_landing("PUT", rf"/tickets/{tid}$")
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and not result.comment_dropped
    assert len(zd.view(tid).replies()) == 1
    assert zd.count("GET", rf"^/api/v2/tickets/{tid}/comments$") == 1


def test_a_change_that_landed_before_a_502_is_reread_not_sent_again(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.fail("PUT", rf"/tickets/{tid}$", 502, after_landing=True)
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1, result.message
    view = zd.view(tid)
    assert len(view.notes()) == 1 and len(view.replies()) == 1
    assert zd.count("PUT", PUT_TICKET) == 2  # the change (landed, 502), then its reply
    assert zd.count("GET", rf"^/api/v2/tickets/{tid}$") == 1  # the re-read instead of a retry


def test_a_reply_that_landed_before_a_502_is_not_posted_twice(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    # Armed while the change lands, so it hits the reply: a gateway error after it went in.
    zd.emulator.before_write(
        int(tid), lambda: zd.emulator.fail("PUT", rf"/tickets/{tid}$", 502, after_landing=True)
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and not result.comment_dropped, result.message
    assert zd.view(tid).replies() == ["We are on it"]
    assert zd.count("PUT", PUT_TICKET) == 2
    assert zd.count("GET", rf"^/api/v2/tickets/{tid}/comments$") == 1


def test_a_reply_that_did_not_land_is_sent_once_more(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.before_write(
        int(tid), lambda: zd.emulator.timeout_before_landing("PUT", rf"/tickets/{tid}$")
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and not result.comment_dropped, result.message
    assert zd.view(tid).replies() == ["We are on it"]
    assert zd.count("PUT", PUT_TICKET) == 3  # the change, the reply (lost), the reply again


def test_an_edit_between_the_change_and_its_reply_is_kept_and_the_reply_sent(
    zd: ZendeskHarness,
) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    # An agent tags the ticket after our change went in, just before the reply lands.
    zd.emulator.before_write(
        int(tid),
        lambda: zd.emulator.before_write(
            int(tid), lambda: zd.agent_edit(tid, add_tags=["agent-tag"])
        ),
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and not result.comment_dropped, result.message
    view = zd.view(tid)
    assert view.replies() == ["We are on it"] and "agent-tag" in view.tags
    assert zd.count("PUT", PUT_TICKET) == 3  # the change, the reply (409), the reply again


def test_a_reply_that_keeps_failing_is_reported_dropped(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.before_write(
        int(tid), lambda: zd.emulator.fail("PUT", rf"/tickets/{tid}$", 503, times=99)
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.APPLIED and result.comment_dropped
    assert "public reply" in result.message
    assert zd.view(tid).tracking["level"] == "L2" and not zd.view(tid).replies()


def test_a_refused_field_value_is_named(zd: ZendeskHarness) -> None:
    zd.emulator.add_field("Impact score", "integer")
    zd.custom_policy = policy_with(
        "  - name: impact\n    when: {priority: P1}\n"
        "    then: {set_fields: {Impact score: very high}}\n"
    )
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.FAILED and isinstance(result.error, Rejected)
    assert "field 'Impact score'" in result.message and "is not a number" in result.message
    assert zd.count("PUT", PUT_TICKET) == 1, "a 422 is not retried"


def test_a_forbidden_write_names_the_endpoint(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.fail(
        "PUT",
        PUT_TICKET,
        403,
        body={"error": "Forbidden", "description": "You do not have access to this page."},
    )
    result = write(adapter, zd.policy(), changes)[tid]
    assert result.status is WriteStatus.FAILED and isinstance(result.error, PermissionDenied)
    assert f"PUT /api/v2/tickets/{tid}.json answered 403" in result.message


def test_a_401_while_writing_aborts_the_instance(zd: ZendeskHarness) -> None:
    ids = zd.seed(2, priority="P1")
    adapter, changes = plan(zd)
    zd.emulator.fail("PUT", PUT_TICKET, 401, times=2, body={"error": "Couldn't authenticate you"})
    with pytest.raises(AuthError, match="credentials were refused"):
        write(adapter, zd.policy(), changes)
    assert zd.count("PUT", PUT_TICKET) == 2  # the refused PUT, once more after a new token
    assert all(not zd.view(t).comments for t in ids)
