"""The owed-comment journal (adapters/owed.py): the second comment of a change whose first request
went in is sent by the next run, once, and only while the ticket still carries that change.
Zendesk owes the public reply (its own update after the change); Jira owes the JSM internal note
(its own POST after the edit). Every request is validated against the OpenAPI documents.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from adapters.owed import MAX_AGE_SECONDS, Journal, Owed, journal_path
from adapters.protocol import Adapter
from adapters.results import WriteResult, WriteStatus
from rules.engine import evaluate_ticket
from rules.needs import needs
from tests.adapters.jira_harness import JiraHarness, Make
from tests.adapters.test_jira_write import NOW as JIRA_NOW
from tests.adapters.test_jira_write import on_issue
from tests.adapters.test_jira_write import run as jira_run
from tests.adapters.test_zendesk_write import NOW, PUT_TICKET
from tests.adapters.zendesk_harness import ZendeskHarness

# --- the journal itself ------------------------------------------------------------------------


def owed(ticket: str = "7", at: float = 1000.0, state: str = "v1 c=0") -> Owed:
    body = {"comment": {"body": "hi", "public": True}}
    return Owed(ticket, "reply", body, "hi", state, "42", at)


def test_the_journal_keeps_entries_across_instances_until_paid(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "prod/zendesk")
    first = Journal(path, "https://a.example", lambda: 2000.0)
    assert first.owe([owed("7", at=1500.0), owed("8", at=1000.0), owed("8", 1200.0, "v1 c=1")])
    first.confirm(("8", "v1 c=1"))
    first.close()
    assert path.parent.name == "owed" and path.name == "prod_zendesk.sqlite3"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Journal(path, "https://a.example", lambda: 2000.0)
    # oldest first; one entry per (ticket, state): two changes to one ticket are two entries
    assert [o.key for o in again.due()] == [("8", "v1 c=0"), ("8", "v1 c=1"), ("7", "v1 c=0")]
    assert again.due()[0] == owed("8", at=1000.0)
    assert [o.confirmed for o in again.due()] == [False, True, False]
    again.paid([("8", "v1 c=0")])
    assert [o.key for o in again.due()] == [("8", "v1 c=1"), ("7", "v1 c=0")]
    assert not again.expired(owed(at=2000.0 - MAX_AGE_SECONDS))
    assert again.expired(owed(at=2000.0 - MAX_AGE_SECONDS - 1))


def test_entries_for_another_account_are_dropped(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "x")
    Journal(path, "https://a.example", lambda: 0.0).owe([owed()])
    assert Journal(path, "https://b.example", lambda: 0.0).due() == []


def test_an_unusable_file_turns_the_journal_off(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "x")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    journal = Journal(path, "https://a.example", lambda: 0.0)
    assert journal.owe([owed()]) is False
    assert journal.due() == [] and journal.problem
    assert Journal(None, "https://a.example", lambda: 0.0).owe([owed()]) is False


# --- Zendesk: the public reply -----------------------------------------------------------------


def zd_write_all(zd: ZendeskHarness, state: Path, **settings: Any) -> list[WriteResult]:
    """Fetch, plan and write the seeded tickets with a journaling adapter."""
    adapter, policy = zd.adapter(state_dir=state, **settings), zd.policy()
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]
    results = list(adapter.write(changes, lambda t: evaluate_ticket(policy, t, NOW).change))
    adapter.close()
    return results


def zd_write(zd: ZendeskHarness, state: Path) -> WriteResult:
    (result,) = zd_write_all(zd, state)
    return result


def send_owed(adapter: Adapter) -> list[WriteResult]:
    """What the next run does first (connector.runner): resolve the fields, settle the owed."""
    adapter.fields()
    try:
        return list(adapter.send_owed())
    finally:
        adapter.close()


def zd_send_owed(zd: ZendeskHarness, state: Path) -> list[WriteResult]:
    return send_owed(zd.adapter(state_dir=state))


def fail_the_reply(zd: ZendeskHarness, tid: str, status: int, times: int) -> None:
    """The change's PUT lands; the next `times` PUTs on the ticket (its reply) answer `status`."""
    zd.emulator.before_write(
        int(tid), lambda: zd.emulator.fail("PUT", rf"/tickets/{tid}$", status, times=times)
    )


def owing_its_reply(zd: ZendeskHarness, state: Path) -> str:
    """A P1 ticket escalated by a run whose reply PUT kept failing (503): the reply is owed."""
    (tid,) = zd.seed(1, priority="P1")
    fail_the_reply(zd, tid, 503, times=99)
    assert zd_write(zd, state).comment_owed
    zd.emulator.faults.clear()
    return tid


def test_zendesk_a_reply_that_failed_is_sent_by_the_next_run_once(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    fail_the_reply(zd, tid, 503, times=99)
    result = zd_write(zd, state)
    assert result.status is WriteStatus.APPLIED and result.comment_dropped and result.comment_owed
    assert result.message.endswith("it is owed: the next run sends it")
    assert zd.view(tid).tracking["level"] == "L2" and zd.view(tid).replies() == []
    zd.emulator.faults.clear()
    puts = zd.count("PUT", PUT_TICKET)

    (sent,) = zd_send_owed(zd, state)
    assert sent.status is WriteStatus.APPLIED and not sent.comment_dropped, sent.message
    assert zd.view(tid).replies() == ["We are on it"]
    assert zd.count("PUT", PUT_TICKET) == puts + 1
    assert zd_send_owed(zd, state) == []  # paid: nothing owed, nothing sent
    assert zd.count("PUT", PUT_TICKET) == puts + 1


def test_zendesk_a_reply_that_landed_before_the_process_died_is_not_sent_again(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    assert zd_write(zd, state).status is WriteStatus.APPLIED
    assert zd_send_owed(zd, state) == []  # a reply that landed leaves nothing owed
    # As if the process had died after the reply landed but before the journal heard of it:
    written = zd.view(tid).tracking["state"]
    body = {"comment": {"body": "We are on it", "public": True}}
    assert written is not None
    me = str(zd.emulator.me)
    entry = Owed(tid, "reply", body, "We are on it", written, me, zd.time.clock())
    Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock).owe([entry])
    puts = zd.count("PUT", PUT_TICKET)
    (result,) = zd_send_owed(zd, state)
    assert result.status is WriteStatus.APPLIED and "had landed" in result.message
    assert zd.count("PUT", PUT_TICKET) == puts and zd.view(tid).replies() == ["We are on it"]
    assert zd_send_owed(zd, state) == []


def test_zendesk_an_owed_reply_whose_change_did_not_land_is_dropped_quietly(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    unlanded, superseded = zd.seed(2, priority="P1")
    body = {"comment": {"body": "We are on it", "public": True}}
    journal = Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock)
    now = zd.time.clock()
    journal.owe(
        [
            # The process died before its change landed: the ticket lacks that state.
            Owed(unlanded, "reply", body, "We are on it", "v1 c=0 w=1", "", now),
            # A run saw its change and could not send it; the ticket has changed since.
            Owed(superseded, "reply", body, "", "v1 c=0 w=1", "", now, confirmed=True),
        ]
    )
    journal.close()
    (result,) = zd_send_owed(zd, state)
    assert result.ticket == superseded and result.status is WriteStatus.SKIPPED
    assert result.comment_dropped and "escalated again since" in result.message
    assert zd.count("PUT", PUT_TICKET) == 0
    assert zd_send_owed(zd, state) == []


def test_zendesk_an_owed_reply_more_than_a_day_old_is_dropped(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    tid = owing_its_reply(zd, state)
    zd.time.now += MAX_AGE_SECONDS + 60
    (result,) = zd_send_owed(zd, state)
    assert result.status is WriteStatus.SKIPPED and result.comment_dropped
    assert "more than 24 hours" in result.message and zd.view(tid).replies() == []
    assert zd_send_owed(zd, state) == []


def test_zendesk_replies_of_an_update_many_batch_are_owed_too(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    tids = zd.seed(3, priority="P1")
    # Armed while the change job runs, so it hits the next job: the replies, never applied.
    zd.emulator.before_write(
        int(tids[0]), lambda: zd.emulator.fail("PUT", r"/update_many$", 500, times=99)
    )
    results = zd_write_all(zd, state, batch_threshold=1)
    assert all(r.status is WriteStatus.APPLIED and r.comment_owed for r in results)
    assert all(zd.view(t).replies() == [] for t in tids)
    zd.emulator.faults.clear()
    sent = zd_send_owed(zd, state)
    assert sorted(r.ticket for r in sent) == sorted(tids)
    assert all(r.status is WriteStatus.APPLIED and "sent" in r.message for r in sent)
    assert all(zd.view(t).replies() == ["We are on it"] for t in tids)
    assert zd_send_owed(zd, state) == []


# --- Jira: the JSM internal note ---------------------------------------------------------------


def jira_send_owed(h: JiraHarness, state: Path) -> list[WriteResult]:
    return send_owed(h.adapter(state_dir=state))


def test_jira_a_note_that_failed_is_sent_by_the_next_run_once(make: Make, tmp_path: Path) -> None:
    h, state = make("cloud"), tmp_path / "state"
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("POST", key, "/comment"), 403)
    result = jira_run(h, adapter=h.adapter(state_dir=state))[key]
    assert result.status is WriteStatus.APPLIED and result.comment_owed
    assert result.message.endswith("it is owed: the next run sends it")
    assert h.view(key).tracking["level"] == "L2" and h.view(key).notes() == []

    (sent,) = jira_send_owed(h, state)
    assert sent.status is WriteStatus.APPLIED and "sent the note" in sent.message
    assert h.view(key).notes() == ["Escalated Printer on fire"]
    (post, again) = h.sent("POST", f"/issue/{key}/comment")
    assert again.body == post.body  # exactly the body the first run meant to send
    assert jira_send_owed(h, state) == []
    assert len(h.sent("POST", f"/issue/{key}/comment")) == 2
    # and the engine has nothing left to do on the issue
    adapter, policy = h.adapter(), h.policy()
    assert all(
        evaluate_ticket(policy, t, JIRA_NOW).change is None
        for t in adapter.fetch(needs(policy), JIRA_NOW)
    )


def test_jira_a_note_that_landed_is_not_posted_again(make: Make, tmp_path: Path) -> None:
    h, state = make("dc"), tmp_path / "state"
    (key,) = h.seed(1, priority="P1")
    assert jira_run(h, adapter=h.adapter(state_dir=state))[key].status is WriteStatus.APPLIED
    assert jira_send_owed(h, state) == []
    (post,) = h.sent("POST", f"/issue/{key}/comment")
    written = h.view(key).tracking["state"]
    assert written is not None
    text = "Escalated Printer on fire"
    entry = Owed(key, "note", post.body, text, written, "", h.time.clock())
    Journal(journal_path(state, "contract"), h.url, h.time.clock).owe([entry])
    (result,) = jira_send_owed(h, state)
    assert result.status is WriteStatus.APPLIED and "had landed" in result.message
    assert len(h.sent("POST", f"/issue/{key}/comment")) == 1
    assert h.view(key).notes() == ["Escalated Printer on fire"]


# --- a write whose fate was unknown keeps what it owes ------------------------------------------


def test_zendesk_a_retry_that_landed_behind_a_504_still_gets_its_reply(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """409 (an agent's edit), then the re-evaluated change lands but answers 504: the write is
    reported failed, its fate unknown. The entry stays; the next run finds the change on the
    ticket and sends the reply, once."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")

    def agent_then_gateway() -> None:
        zd.agent_edit(tid, add_tags=["agent-was-here"])
        zd.emulator.fail("PUT", rf"/tickets/{tid}$", 504, after_landing=True)

    zd.emulator.before_write(int(tid), agent_then_gateway)
    result = zd_write(zd, state)
    assert result.status is WriteStatus.FAILED and "may have landed" in result.message
    assert zd.view(tid).tracking["level"] == "L2" and zd.view(tid).replies() == []
    (sent,) = zd_send_owed(zd, state)
    assert sent.status is WriteStatus.APPLIED and "sent" in sent.message, sent.message
    assert zd.view(tid).replies() == ["We are on it"]
    assert "agent-was-here" in zd.view(tid).tags
    assert zd_send_owed(zd, state) == []


def test_zendesk_a_change_that_was_refused_leaves_nothing_to_send(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """A 422 is a definite refusal, but the entry is only ever removed on positive knowledge:
    the next run reads the ticket, sees the change is not there, and forgets it quietly (the
    engine redoes the change whole)."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    zd.emulator.fail("PUT", rf"/tickets/{tid}$", 422)
    assert zd_write(zd, state).status is WriteStatus.FAILED
    puts = zd.count("PUT", PUT_TICKET)
    assert zd_send_owed(zd, state) == []
    assert zd.count("PUT", PUT_TICKET) == puts and zd.view(tid).replies() == []
    assert Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock).due() == []


def test_zendesk_reply_jobs_carry_the_stamp_the_change_left(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """A reply job that runs late (after the next run sent the reply) must be refused: each
    item is a safe update on the `updated_at` read after the change job, one read per 100."""
    tids = zd.seed(3, priority="P1")
    results = zd_write_all(zd, tmp_path / "state", batch_threshold=1)
    assert all(r.status is WriteStatus.APPLIED and not r.comment_dropped for r in results)
    jobs = [
        json.loads(c.request.body)["tickets"]
        for c in zd.rsps.calls
        if c.request.method == "PUT" and "update_many" in str(c.request.url)
    ]
    (changes, replies) = jobs
    assert all("comment" in item and item["comment"]["public"] for item in replies)
    assert all(item["safe_update"] is True and item["updated_stamp"] for item in replies)
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 1
    assert all(zd.view(t).replies() == ["We are on it"] for t in tids)
    assert {i["id"] for i in changes} == {i["id"] for i in replies} == {int(t) for t in tids}


def test_jira_a_retry_that_landed_behind_a_timeout_still_gets_its_note(
    make: Make, tmp_path: Path
) -> None:
    """409, then the retried edit lands but times out, and the re-read that would tell fails:
    failed, fate unknown. The next run sees the edit on the issue and posts the note, once."""
    h, state = make("cloud"), tmp_path / "state"
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("PUT", key), 409)
    h.emulator.timeout_after_landing(on_issue("PUT", key))
    h.emulator.fail(lambda r: r.method == "GET" and r.path.endswith(f"/issue/{key}"), 500)
    result = jira_run(h, adapter=h.adapter(state_dir=state))[key]
    assert result.status is WriteStatus.FAILED, result.message
    assert h.view(key).tracking["level"] == "L2" and h.view(key).notes() == []
    (sent,) = jira_send_owed(h, state)
    assert sent.status is WriteStatus.APPLIED and "sent the note" in sent.message
    assert h.view(key).notes() == ["Escalated Printer on fire"]
    assert jira_send_owed(h, state) == []


# --- what the second review found ---------------------------------------------------------------


def test_zendesk_a_comment_by_a_person_on_the_connectors_account_is_not_the_reply(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """The connector's account may be a person's: their public comment, made after the reply
    failed, is not the reply (the text differs), so the owed reply still goes out."""
    state = tmp_path / "state"
    tid = owing_its_reply(zd, state)
    zd.time.now += 60
    comment = {"comment": {"body": "Quick update from me", "public": True}}
    zd.emulator.agent_edit(int(tid), comment, author=zd.emulator.me)
    (sent,) = zd_send_owed(zd, state)
    assert "sent the public reply" in sent.message, sent.message
    assert zd.view(tid).replies() == ["Quick update from me", "We are on it"]


def test_zendesk_a_landed_reply_is_found_by_its_text_after_a_note_by_the_same_account(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """The reply landed, the process died before it was settled, then a person on the
    connector's account added an internal note: the reply is still recognised, not re-sent."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    assert zd_write(zd, state).status is WriteStatus.APPLIED
    view = zd.view(tid)
    written = view.tracking["state"]
    assert written is not None
    body = {"comment": {"body": "We are on it", "public": True}}
    entry = Owed(tid, "reply", body, "We are on it", written, str(zd.emulator.me), zd.time.clock())
    Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock).owe([entry])
    note = {"comment": {"body": "Internal: call them back", "public": False}}
    zd.emulator.agent_edit(int(tid), note, author=zd.emulator.me)
    (result,) = zd_send_owed(zd, state)
    assert "had landed" in result.message
    assert zd.view(tid).replies() == ["We are on it"]


def test_zendesk_an_entry_waits_while_its_safe_update_may_still_land(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """A change job that timed out may still run: while the ticket still shows the stamp its
    safe update was sent on (and the old state), the entry waits instead of being forgotten.
    Once the ticket moves on, that update can never land: forgotten quietly."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    stamp = str(zd.emulator.tickets[int(tid)]["updated_at"])
    body = {"comment": {"body": "We are on it", "public": True}}
    entry = Owed(tid, "reply", body, "We are on it", "v1 c=0 w=1", "", zd.time.clock(), sent=stamp)
    journal = Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock)
    journal.owe([entry])
    assert zd_send_owed(zd, state) == [] and [o.key for o in journal.due()] == [entry.key]
    zd.time.now += 60
    zd.agent_edit(tid, add_tags=["moved-on"])
    assert zd_send_owed(zd, state) == [] and journal.due() == []
    assert zd.count("PUT", PUT_TICKET) == 0


def test_an_entry_whose_change_was_replaced_by_another_is_reported(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """Neither the state the change wrote nor the one it replaced: a later escalation wrote
    the ticket, so this reply is lost. Reported (even if no writer had confirmed it)."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    assert zd_write(zd, state).status is WriteStatus.APPLIED  # the ticket now has a state
    body = {"comment": {"body": "We are on it", "public": True}}
    entry = Owed(tid, "reply", body, "We are on it", "v1 c=9", "", zd.time.clock(), old="")
    Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock).owe([entry])
    (result,) = zd_send_owed(zd, state)
    assert result.status is WriteStatus.SKIPPED and "escalated again" in result.message


def test_zendesk_a_refusal_when_paying_drops_the_reply_reported(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    tid = owing_its_reply(zd, state)
    zd.emulator.tickets[int(tid)]["status"] = "closed"  # closed tickets refuse updates (422)
    (result,) = zd_send_owed(zd, state)
    assert result.status is WriteStatus.SKIPPED and "refused" in result.message, result.message
    assert zd_send_owed(zd, state) == []


def test_an_entry_whose_change_was_re_evaluated_into_another_is_forgotten(
    zd: ZendeskHarness, tmp_path: Path
) -> None:
    """After a conflict or a timeout the writer re-evaluates and writes a new change, owed
    under its own state. The ticket holding the new one's state means the first never landed:
    forgotten quietly, not reported as superseded."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    assert zd_write(zd, state).status is WriteStatus.APPLIED
    written = zd.view(tid).tracking["state"]
    assert written is not None
    body, now = {"comment": {"body": "We are on it", "public": True}}, zd.time.clock()
    first = Owed(tid, "reply", body, "We are on it", "v1 c=0 w=1", "", now - 1)
    second = Owed(tid, "reply", body, "We are on it", written, str(zd.emulator.me), now)
    Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock).owe([first, second])
    (result,) = zd_send_owed(zd, state)
    assert "had landed" in result.message
    assert zd_send_owed(zd, state) == []


@pytest.mark.parametrize("confirmed", [False, True])
def test_a_write_that_goes_in_ends_what_earlier_runs_owed_on_the_ticket(
    zd: ZendeskHarness, tmp_path: Path, confirmed: bool
) -> None:
    """An entry left waiting (its safe update might still have run) is dead once a new write
    moves the ticket on: forgotten. One whose change had landed (confirmed) is lost: said."""
    state = tmp_path / "state"
    (tid,) = zd.seed(1, priority="P1")
    stamp = str(zd.emulator.tickets[int(tid)]["updated_at"])
    body = {"comment": {"body": "We are on it", "public": True}}
    entry = Owed(tid, "reply", body, "x", "v1 c=0 w=1", "", zd.time.clock(), confirmed, sent=stamp)
    journal = Journal(journal_path(state, "zendesk-test"), zd.base_url, zd.time.clock)
    journal.owe([entry])
    result = zd_write(zd, state)
    assert result.status is WriteStatus.APPLIED
    assert result.comment_dropped is confirmed
    assert ("superseded" in result.message) is confirmed
    assert journal.due() == []
