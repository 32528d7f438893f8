"""update_many jobs side by side: submitted up to a cap, all polled with one request a round.

Zendesk runs at most 30 queued or running jobs per account (shared with its other apps), so at
most `in_flight` of ours are ever unfinished; when some finish, the next ones are submitted.
Every unfinished job is polled with one `GET /api/v2/job_statuses/show_many?ids=`: soon at
first (after `FIRST_POLL` seconds), then twice as long each round up to `poll_seconds`. The
schedule starts over when new jobs were submitted, so a new job is looked at soon too.

Each ticket's outcome is typed (`adapters.outcomes`): a submission that may have landed, a job
whose poll failed, that vanished or that did not finish within `timeout` seconds of its
submission (counted in the sleeps between polls) is `Uncertain`, for the write protocol to
re-read; it is never submitted again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    MaybeLanded,
    NotFound,
    Rejected,
    SetupError,
)
from adapters.http import Sleeper
from adapters.outcomes import Conflicted, Failed, Gone, Outcome, Sent, Uncertain
from adapters.zendesk.client import JOB_SIZE, Client, chunks
from adapters.zendesk.mapping import as_int

Json = dict[str, Any]
FIRST_POLL = 0.5  # seconds before the first poll of newly submitted jobs
DONE = ("completed", "failed")
SLACK = 1e-9  # seconds: what summing float sleeps may leave short of a deadline


def outcome_of(tid: int, item: Mapping[str, Any] | None) -> Outcome:
    """What a finished job's result says of one ticket."""
    if item is None:
        return Uncertain(MaybeLanded(f"ticket {tid}: missing from the job's results"))
    if item.get("success") is True:
        return Sent()
    parts = [item.get(k) for k in ("error", "errors", "details", "status")]
    text = "; ".join(str(p) for p in parts if p)
    lowered = text.lower()
    if "conflict" in lowered or "safe update" in lowered or "outdated" in lowered:
        return Conflicted(Conflict(f"ticket {tid}: changed meanwhile ({text})"))
    if "notfound" in lowered or "not found" in lowered or "not_found" in lowered:
        return Gone(NotFound(f"ticket {tid}: {text}"))
    return failed(tid, text or "the job reported a failure")


def failed(tid: int, text: str) -> Failed:
    return Failed(Rejected(f"ticket {tid}: update_many refused it: {text}"))


@dataclass
class _Running:
    tickets: list[int]
    waited: float = 0.0  # seconds slept since it was submitted


@dataclass
class Jobs:
    """Runs a phase's jobs (the changes, or the replies) to the end; safe to share: no state
    outlives a `run`."""

    client: Client
    sleep: Sleeper
    in_flight: int
    poll_seconds: float
    timeout: float

    def run(self, bodies: Mapping[int, Json]) -> dict[int, Outcome]:
        """Every ticket's outcome, its body sent in a job of at most 100 tickets."""
        out: dict[int, Outcome] = {}
        waiting = [[*chunk] for chunk in chunks(list(bodies), JOB_SIZE)]
        running: dict[str, _Running] = {}
        wait = min(FIRST_POLL, self.poll_seconds)
        while waiting or running:
            if waiting and len(running) < self.in_flight:
                wait = min(FIRST_POLL, self.poll_seconds)
            while waiting and len(running) < self.in_flight:
                tickets = waiting.pop(0)
                self._submit({tid: bodies[tid] for tid in tickets}, running, out)
            for job_id in [j for j, job in running.items() if job.waited >= self.timeout - SLACK]:
                note = f"job {job_id} did not finish within {self.timeout:g}s"
                _unknown(running.pop(job_id).tickets, note, out)
            if not running:
                continue
            # Never past a job's deadline: its last poll comes when its time is up.
            step = min(wait, *(self.timeout - job.waited for job in running.values()))
            self.sleep(step)
            for job in running.values():
                job.waited += step
            wait = min(wait * 2, self.poll_seconds)
            self._poll(running, out)
        return out

    def _submit(
        self, bodies: Mapping[int, Json], running: dict[str, _Running], out: dict[int, Outcome]
    ) -> None:
        tickets = list(bodies)
        try:
            job = self.client.update_many(bodies)
        except (AuthError, SetupError):
            raise
        except MaybeLanded as exc:
            _unknown(tickets, str(exc), out)
            return
        except AdapterError as exc:
            out.update((tid, failed(tid, str(exc))) for tid in tickets)
            return
        job_id = str(job.get("id") or "")
        if job.get("status") in DONE:
            _finish(tickets, job, out)
        elif not job_id:
            _unknown(tickets, "the job status has no id", out)
        else:
            running[job_id] = _Running(tickets)

    def _poll(self, running: dict[str, _Running], out: dict[int, Outcome]) -> None:
        """One show_many for every unfinished job. If it fails, each job is polled alone this
        round: a job whose own poll fails is uncertain, the others keep being polled."""
        ids = list(running)
        try:
            found = {str(j.get("id")): j for j in self.client.job_statuses(ids)}
        except (AuthError, SetupError):
            raise
        except AdapterError:
            found = {}
            for job_id in ids:
                try:
                    found[job_id] = self.client.job_status(job_id)
                except (AuthError, SetupError):
                    raise
                except AdapterError as exc:
                    _unknown(running.pop(job_id).tickets, str(exc), out)
        for job_id in list(running):
            job = found.get(job_id)
            if job is None:  # Zendesk leaves out ids it does not know (job data lasts a day)
                note = f"job {job_id} is no longer known to Zendesk"
                _unknown(running.pop(job_id).tickets, note, out)
            elif job.get("status") in DONE:
                _finish(running.pop(job_id).tickets, job, out)


def _finish(tickets: Sequence[int], status: Mapping[str, Any], out: dict[int, Outcome]) -> None:
    """A finished job: each ticket's outcome from its result (none: uncertain)."""
    results = status.get("results")
    items = {
        as_int(r.get("id")): r
        for r in (results if isinstance(results, list) else [])
        if isinstance(r, dict)
    }
    for tid in tickets:
        out[tid] = outcome_of(tid, items.get(tid))


def _unknown(tickets: Sequence[int], why: str, out: dict[int, Outcome]) -> None:
    """The job may have run, or may still: each ticket is re-read, never submitted again."""
    for tid in tickets:
        out[tid] = Uncertain(MaybeLanded(why))
