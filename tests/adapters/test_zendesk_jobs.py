"""Writing to Zendesk above the batch threshold: `update_many` jobs, side by side up to
`jobs_in_flight`, polled together, and every outcome a job can report (adapters/zendesk/jobs.py).
The changes come from the real engine; every request is validated against the OpenAPI document.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.errors import AuthError, Rejected
from adapters.results import WriteStatus
from tests.adapters.test_zendesk_write import JOB_POLL, JOB_POLLS, PUT_TICKET, bodies, plan, write
from tests.adapters.zendesk_harness import ZendeskHarness


def jobs(zd: ZendeskHarness) -> list[tuple[str, list[str], list[str]]]:
    """The job traffic in order: ("submit", [its id], []) per job the emulator queued, and
    ("poll", the ids asked after, the ids answered completed) per show_many."""
    out: list[tuple[str, list[str], list[str]]] = []
    for call in zd.rsps.calls:
        answer = call.response
        if not isinstance(answer, requests.Response) or answer.status_code != 200:
            continue
        url = urlsplit(str(call.request.url))
        path = url.path.removesuffix(".json")
        if path.endswith("/tickets/update_many"):
            out.append(("submit", [answer.json()["job_status"]["id"]], []))
        elif path.endswith("/job_statuses/show_many"):
            asked = parse_qs(url.query)["ids"][0].split(",")
            found = answer.json()["job_statuses"]
            out.append(("poll", asked, [j["id"] for j in found if j["status"] == "completed"]))
    return out


def test_update_many_with_a_partly_failed_job(zd: ZendeskHarness) -> None:
    ids = zd.seed(6, priority="P1", tags=["keep"])
    adapter, changes = plan(zd, batch_threshold=3)
    emu = zd.emulator
    gone, raced, closed = int(ids[1]), int(ids[2]), int(ids[3])
    emu.delete_ticket(gone)
    emu.before_write(raced, lambda: zd.agent_edit(str(raced), add_tags=["agent-was-here"]))
    emu.before_write(closed, lambda: emu.tickets[closed].update(status="closed"))
    results = write(adapter, zd.policy(), changes)

    ok = [ids[0], ids[4], ids[5]]
    assert all(results[t].status is WriteStatus.APPLIED for t in ok)
    assert results[ids[1]].status is WriteStatus.SKIPPED
    assert results[ids[3]].status is WriteStatus.FAILED and "closed" in results[ids[3]].message
    assert isinstance(results[ids[3]].error, Rejected)
    assert results[ids[2]].status is WriteStatus.APPLIED and results[ids[2]].rereads == 1

    job = next(
        b for b in bodies(zd) if "tickets" in b and any("safe_update" in t for t in b["tickets"])
    )
    assert len(job["tickets"]) == 6
    assert all(t["safe_update"] is True and t["updated_stamp"] for t in job["tickets"])
    assert all("tags" not in t for b in bodies(zd) for t in b.get("tickets", []))
    # the change job, then one job with the three replies; each polled once, soon
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 2
    assert zd.count("GET", JOB_POLLS) == 2 and zd.count("GET", JOB_POLL) == 0
    assert zd.slept == [0.5, 0.5]
    # the raced ticket: re-read, re-evaluated and written alone, with its reply
    assert zd.count("PUT", rf"^/api/v2/tickets/{raced}$") == 2
    for tid in [*ok, ids[2]]:
        view = zd.view(tid)
        assert view.tracking["level"] == "L2" and "keep" in view.tags
        assert len(view.notes()) == 1 and len(view.replies()) == 1
    assert "agent-was-here" in zd.view(raced).tags  # the single re-write kept the agent's tag
    assert "agent-was-here" in zd.view(ids[2]).tags


def test_a_change_job_that_landed_before_a_502_is_applied_with_its_replies(
    zd: ZendeskHarness,
) -> None:
    ids = zd.seed(3, priority="P1")
    adapter, changes = plan(zd, batch_threshold=2)
    zd.emulator.fail("PUT", r"/update_many$", 502, after_landing=True)
    results = write(adapter, zd.policy(), changes)
    for tid in ids:
        assert results[tid].status is WriteStatus.APPLIED, results[tid].message
        assert not results[tid].comment_dropped
        view = zd.view(tid)
        assert len(view.notes()) == 1 and len(view.replies()) == 1
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 1, "a job is never re-sent blind"
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 1  # one re-read for all three


def test_a_reply_job_that_landed_before_a_502_is_not_posted_twice(zd: ZendeskHarness) -> None:
    ids = zd.seed(3, priority="P1")
    adapter, changes = plan(zd, batch_threshold=2)
    # Armed while the change job runs, so it hits the next job: the replies.
    zd.emulator.before_write(
        int(ids[0]),
        lambda: zd.emulator.fail("PUT", r"/update_many$", 502, after_landing=True),
    )
    results = write(adapter, zd.policy(), changes)
    for tid in ids:
        assert results[tid].status is WriteStatus.APPLIED and not results[tid].comment_dropped
        assert zd.view(tid).replies() == ["We are on it"]
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 2


def test_a_job_that_never_finishes_is_reread_before_anything_is_repeated(
    zd: ZendeskHarness,
) -> None:
    ids = zd.seed(4, priority="P1")
    zd.emulator.job_polls = 10_000
    adapter, changes = plan(zd, batch_threshold=2, job_timeout_seconds=6)
    results = write(adapter, zd.policy(), changes)
    assert all(r.status is WriteStatus.APPLIED and r.rereads == 1 for r in results.values())
    # polled until its time was up (the last wait cut to end there), then given up on
    assert zd.slept == [0.5, 1.0, 2.0, 2.0, 0.5]
    assert zd.count("GET", JOB_POLLS) == 5
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 1  # one re-read for all four
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 1, "never re-sent"
    assert zd.count("PUT", PUT_TICKET) == 4  # only the replies the landed changes owed
    for tid in ids:
        assert len(zd.view(tid).notes()) == 1 and len(zd.view(tid).replies()) == 1


def test_a_batch_threshold_of_0_sends_even_one_change_as_a_job(zd: ZendeskHarness) -> None:
    (tid,) = zd.seed(1, priority="P1", tags=["keep"])
    adapter, changes = plan(zd, batch_threshold=0)
    assert write(adapter, zd.policy(), changes)[tid].status is WriteStatus.APPLIED
    assert zd.count("PUT", PUT_TICKET) == 0
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 2  # the change, the reply
    assert zd.view(tid).tags == {"keep", "escalated"}


def test_more_than_100_changes_go_in_jobs_of_100(zd: ZendeskHarness) -> None:
    zd.seed(230, priority="P1")
    adapter, changes = plan(zd, page_size=1000)
    results = write(adapter, zd.policy(), changes)
    assert len(results) == 230
    assert all(r.status is WriteStatus.APPLIED for r in results.values())
    sizes = [len(b["tickets"]) for b in bodies(zd) if "tickets" in b]
    assert sizes == [100, 100, 30, 100, 100, 30]  # changes, then replies
    assert zd.count("PUT", PUT_TICKET) == 0
    # all three change jobs go in before the first poll, which asks after all three at once
    log = jobs(zd)
    assert [kind for kind, _, _ in log] == [*["submit"] * 3, "poll", *["submit"] * 3, "poll"]
    change_jobs, reply_jobs = [j for _, (j,), _ in log[:3]], [j for _, (j,), _ in log[4:7]]
    assert log[3] == ("poll", change_jobs, change_jobs)
    assert log[7] == ("poll", reply_jobs, reply_jobs)
    assert zd.count("GET", JOB_POLLS) == 2 and zd.count("GET", JOB_POLL) == 0
    assert zd.slept == [0.5, 0.5]


def test_no_more_jobs_than_jobs_in_flight_are_ever_unfinished(zd: ZendeskHarness) -> None:
    zd.seed(410, priority="P1")
    zd.emulator.job_polls = 2  # each job answers "working" once, then "completed"
    adapter, changes = plan(zd, page_size=1000, jobs_in_flight=2)
    results = write(adapter, zd.policy(), changes)
    assert all(r.status is WriteStatus.APPLIED and not r.rereads for r in results.values())
    unfinished: set[str] = set()
    most = 0
    for kind, ids, done in jobs(zd):
        if kind == "submit":
            unfinished |= set(ids)
        else:  # every poll asks after every unfinished job, and only those
            assert set(ids) == unfinished and len(ids) == len(set(ids))
            unfinished -= set(done)
        most = max(most, len(unfinished))
        assert len(unfinished) <= 2
    assert most == 2 and not unfinished
    # five change jobs, then five reply jobs, two at a time: two polls per pair, the schedule
    # starting over when the next pair goes in
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 10
    assert zd.count("GET", JOB_POLLS) == 12
    assert zd.slept == [0.5, 1.0] * 6


@pytest.mark.parametrize(
    ("poll_seconds", "sleeps"),
    [(2.0, [0.5, 1.0, 2.0, 2.0, 2.0]), (1.5, [0.5, 1.0, 1.5, 1.5, 1.5]), (0.2, [0.2] * 5)],
)
def test_polls_come_soon_then_back_off_up_to_job_poll_seconds(
    zd: ZendeskHarness, poll_seconds: float, sleeps: list[float]
) -> None:
    zd.seed(3, priority="P1")
    zd.emulator.job_polls = 5
    adapter, changes = plan(zd, batch_threshold=2, job_poll_seconds=poll_seconds)
    results = write(adapter, zd.policy(), changes)
    assert all(r.status is WriteStatus.APPLIED and not r.rereads for r in results.values())
    assert zd.slept == sleeps * 2  # the change job, then the reply job
    assert zd.count("GET", JOB_POLLS) == 10


def test_one_jobs_failed_poll_leaves_the_other_jobs_known(zd: ZendeskHarness) -> None:
    zd.seed(101, priority="P1")
    adapter, changes = plan(zd, page_size=1000)
    # show_many fails once: each job is polled alone that round, and the first one's poll fails
    refused = {"error": "RecordNotFound", "description": "Not found"}
    zd.emulator.fail("GET", JOB_POLLS, 404, body=refused)
    zd.emulator.fail("GET", JOB_POLL, 404, body=refused)
    results = write(adapter, zd.policy(), changes)
    first, second, _reply = (
        [str(t["id"]) for t in b["tickets"]] for b in bodies(zd) if "tickets" in b
    )
    assert len(first) == 100 and len(second) == 1
    assert all(results[t].status is WriteStatus.APPLIED for t in results)
    # the failed poll's job: unknown, so its tickets were re-read (all had landed)
    assert all(results[t].rereads == 1 for t in first)
    # that re-read, and the stamp the other job's ticket has after its change, for its reply
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 2
    assert zd.count("PUT", PUT_TICKET) == 100  # the replies they owed, one by one
    # the other job was polled alone, answered, and its ticket's reply went in a job
    assert results[second[0]].rereads == 0
    assert zd.count("GET", JOB_POLL) == 2  # the failed one, and the other's
    assert zd.count("GET", JOB_POLLS) == 2  # the refused one, then the reply job's
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 3
    assert zd.slept == [0.5, 0.5]
    for tid in [*first, *second]:
        assert len(zd.view(tid).notes()) == 1 and len(zd.view(tid).replies()) == 1


def test_each_job_times_out_counted_from_its_own_submission(zd: ZendeskHarness) -> None:
    zd.seed(101, priority="P1")
    zd.emulator.job_polls = 10_000
    adapter, changes = plan(zd, page_size=1000, jobs_in_flight=1, job_timeout_seconds=6)
    results = write(adapter, zd.policy(), changes)
    assert all(r.status is WriteStatus.APPLIED and r.rereads == 1 for r in results.values())
    # one job at a time: the second gets its own 6 s once the first is given up on
    assert zd.slept == [0.5, 1.0, 2.0, 2.0, 0.5] * 2
    assert [kind for kind, _, _ in jobs(zd)] == ["submit", *["poll"] * 5] * 2
    assert zd.count("PUT", r"^/api/v2/tickets/update_many$") == 2, "never re-sent"
    assert zd.count("GET", r"^/api/v2/tickets/show_many$") == 2  # the re-read, 100 a request


def test_a_401_while_polling_jobs_aborts_the_instance(zd: ZendeskHarness) -> None:
    zd.seed(3, priority="P1")
    adapter, changes = plan(zd, batch_threshold=2)
    refused = {"error": "Couldn't authenticate you"}
    zd.emulator.fail("GET", JOB_POLLS, 401, times=2, body=refused)
    with pytest.raises(AuthError, match="credentials were refused"):
        write(adapter, zd.policy(), changes)
    assert zd.count("GET", JOB_POLLS) == 2  # the refused poll, once more after a new token
    assert zd.count("GET", JOB_POLL) == 0, "not polled job by job: the instance is aborted"
