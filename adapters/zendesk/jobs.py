"""update_many jobs side by side: submitted up to a cap, all polled with one request a round.

Zendesk runs at most 30 queued or running jobs per account (shared with its other apps), so at
most `in_flight` of ours are ever unfinished; when some finish, the next ones are submitted.
Every unfinished job is polled with one `GET /api/v2/job_statuses/show_many?ids=`: soon at
first (after `FIRST_POLL` seconds), then twice as long each round up to `poll_seconds`. The
schedule starts over when new jobs were submitted, so a new job is looked at soon too.

Each ticket's outcome is ("ok" | "conflict" | "gone" | "failed" | "unknown", message): a
submission that may have landed, a job whose poll failed, that vanished or that did not finish
within `timeout` seconds of its submission (counted in the sleeps between polls) is "unknown",
for the writer to re-read; it is never submitted again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.errors import AdapterError, AuthError, TransientError
from adapters.http import Sleeper, maybe_landed
from adapters.zendesk.client import JOB_SIZE, Client, chunks
from adapters.zendesk.mapping import as_int

Json = dict[str, Any]
Outcome = tuple[str, str]
FIRST_POLL = 0.5  # seconds before the first poll of newly submitted jobs
DONE = ("completed", "failed")
SLACK = 1e-9  # seconds: what summing float sleeps may leave short of a deadline


def kind_of(item: Mapping[str, Any] | None) -> Outcome:
    """A job result: ("ok" | "conflict" | "gone" | "failed" | "unknown", message)."""
    if item is None:
        return "unknown", "missing from the job's results"
    if item.get("success") is True:
        return "ok", ""
    parts = [item.get(k) for k in ("error", "errors", "details", "status")]
    text = "; ".join(str(p) for p in parts if p)
    lowered = text.lower()
    if "conflict" in lowered or "safe update" in lowered or "outdated" in lowered:
        return "conflict", text
    if "notfound" in lowered or "not found" in lowered or "not_found" in lowered:
        return "gone", text
    return "failed", text or "the job reported a failure"


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
                _settle(running.pop(job_id).tickets, ("unknown", note), out)
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
        except AuthError:
            raise
        except TransientError as exc:
            _settle(tickets, ("unknown" if maybe_landed(exc) else "failed", str(exc)), out)
            return
        except AdapterError as exc:
            _settle(tickets, ("failed", str(exc)), out)
            return
        job_id = str(job.get("id") or "")
        if job.get("status") in DONE:
            _finish(tickets, job, out)
        elif not job_id:
            _settle(tickets, ("unknown", "the job status has no id"), out)
        else:
            running[job_id] = _Running(tickets)

    def _poll(self, running: dict[str, _Running], out: dict[int, Outcome]) -> None:
        """One show_many for every unfinished job. If it fails, each job is polled alone this
        round: a job whose own poll fails is "unknown", the others keep being polled."""
        ids = list(running)
        try:
            found = {str(j.get("id")): j for j in self.client.job_statuses(ids)}
        except AuthError:
            raise
        except AdapterError:
            found = {}
            for job_id in ids:
                try:
                    found[job_id] = self.client.job_status(job_id)
                except AuthError:
                    raise
                except AdapterError as exc:
                    _settle(running.pop(job_id).tickets, ("unknown", str(exc)), out)
        for job_id in list(running):
            job = found.get(job_id)
            if job is None:  # Zendesk leaves out ids it does not know (job data lasts a day)
                note = f"job {job_id} is no longer known to Zendesk"
                _settle(running.pop(job_id).tickets, ("unknown", note), out)
            elif job.get("status") in DONE:
                _finish(running.pop(job_id).tickets, job, out)


def _finish(tickets: Sequence[int], status: Mapping[str, Any], out: dict[int, Outcome]) -> None:
    """A finished job: each ticket's outcome from its result (none: "unknown")."""
    results = status.get("results")
    items = {
        as_int(r.get("id")): r
        for r in (results if isinstance(results, list) else [])
        if isinstance(r, dict)
    }
    for tid in tickets:
        out[tid] = kind_of(items.get(tid))


def _settle(tickets: Sequence[int], outcome: Outcome, out: dict[int, Outcome]) -> None:
    for tid in tickets:
        out[tid] = outcome
