"""What one run did to each instance, the end-of-run summary, and the exit code it earns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from adapters.results import WriteResult, WriteStatus
from connector.errors import BUG, CHANGES_FAILED, OK, code_for
from connector.kinds import breakdown
from notify.outbox import Result, Status
from rules.errors import EscalationError
from rules.plan import Summary, TicketChange
from rules.policy import Policy
from rules.tracking import format_time


class RunOutcome(StrEnum):
    """How one instance's run ended (the value is what summaries, the audit log and the plan
    file say)."""

    OK = "ok"
    DRY_RUN = "dry-run"  # read and evaluated, nothing written (plan, run --dry-run)
    REFUSED = "refused"  # the storm guard: more changes than max_changes, none written
    LOCKED = "locked"  # another run holds the instance's lock
    ABORTED = "aborted"  # credentials, setup or a read failed; `error` says which


@dataclass
class InstanceRun:
    name: str
    platform: str
    summary: Summary = field(default_factory=Summary)
    changes: list[TicketChange] = field(default_factory=list)
    results: list[WriteResult] = field(default_factory=list)
    outcome: RunOutcome = RunOutcome.OK
    error: str = ""
    fatal: BaseException | None = None
    requests: int = 0
    seconds: float = 0.0
    #: Tickets `apply` refused because they changed after the plan was made.
    stale: list[str] = field(default_factory=list)
    #: Comments earlier runs owed, sent (or given up) before this run's fetch.
    owed: list[WriteResult] = field(default_factory=list)
    #: What the run did without, e.g. rules switched off for a missing policy field.
    warnings: list[str] = field(default_factory=list)
    #: Raises LockLost when the instance's lock is no longer held (checked before each write
    #: batch); None without a lock (plan).
    guard: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: What the run read: "full" (the whole scope) or "incremental" (`connector.incremental`),
    #: and why, in words.
    read_mode: str = "full"
    read_why: str = ""
    #: How the search was narrowed where that is exact, and why (`connector.scopes.narrowed`).
    narrowed: str | None = None
    #: Notices sent (or not) this run (notify.outbox), and those earlier runs left waiting
    #: (listed by dry runs and plans).
    notices: list[Result] = field(default_factory=list)
    notices_waiting: list[dict[str, Any]] = field(default_factory=list)
    #: The tickets the fetch returned (kept only when notice channels are configured).
    seen: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def notice_trouble(self) -> int:
        """Notices that failed, were refused, given up or lost to a crash this run."""
        return sum(1 for n in self.notices if n.status is not Status.SENT)

    def count(self, status: WriteStatus) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def failed(self) -> int:
        return self.count(WriteStatus.FAILED)

    @property
    def dropped(self) -> int:
        """Written, but a comment could not be (e.g. its second request failed for good)."""
        return sum(1 for r in self.results if r.status is WriteStatus.APPLIED and r.comment_dropped)

    @property
    def owed_trouble(self) -> bool:
        """A comment an earlier run owed is still owed, or was given up."""
        return any(r.comment_dropped for r in self.owed)

    @property
    def owed_counts(self) -> dict[str, int]:
        """Of the owed comments: sent (or found landed), still owed, dropped for good."""
        sent = sum(1 for r in self.owed if r.status is WriteStatus.APPLIED)
        still = sum(1 for r in self.owed if r.comment_owed)
        return {"sent": sent, "still_owed": still, "dropped": len(self.owed) - sent - still}

    @property
    def bugs(self) -> int:
        return sum(1 for r in (*self.results, *self.owed) if _is_bug(r.error))

    def to_json(self) -> dict[str, Any]:
        statuses = Counter(r.status for r in self.results)
        return {
            "platform": self.platform,
            "outcome": self.outcome,
            "error": self.error or None,
            "fetched": self.summary.evaluated,
            "matched": self.summary.matched,
            "changes": len(self.changes),
            "applied": statuses[WriteStatus.APPLIED],
            "unchanged": statuses[WriteStatus.UNCHANGED],
            "failed": statuses[WriteStatus.FAILED],
            "comments_dropped": self.dropped,
            "comments_owed": sum(1 for r in self.results if r.comment_owed),
            "owed_from_earlier": self.owed_counts,
            "skipped": statuses[WriteStatus.SKIPPED] + self.summary.skipped,
            "stale": len(self.stale),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
            "read": self.read_mode,
            "read_why": self.read_why or None,
            "narrowed": self.narrowed,
            "notices": _notice_counts(self),
        }


def _notice_counts(run: InstanceRun) -> dict[str, int]:
    out: dict[str, int] = {}
    planned = [n for c in run.changes for n in c.notices]
    if planned:
        out["planned"] = len(planned)
        out["deferred"] = sum(1 for n in planned if n.deferred)
    for n in run.notices:
        out[n.status.value] = out.get(n.status.value, 0) + 1
    if run.notices_waiting:
        out["waiting"] = len(run.notices_waiting)
    return out


def _is_bug(error: BaseException | None) -> bool:
    return error is not None and not isinstance(error, EscalationError)


def exit_code(runs: list[InstanceRun], *, locked_is_done: bool = True) -> int:
    """3 a bug, else 2 what stopped an instance was the user's to fix (configuration,
    credentials, setup: `code_for`), else 1 anything not done, else 0. A locked instance is
    done for `run` (the run holding the lock does it), not for `apply`."""
    code = OK
    for run in runs:
        if run.bugs:
            return BUG
        if run.fatal is not None:
            code = max(code, code_for(run.fatal))
        undone = run.outcome in (RunOutcome.REFUSED, RunOutcome.ABORTED)
        locked = run.outcome is RunOutcome.LOCKED and not locked_is_done
        trouble = run.failed or run.stale or run.dropped or run.owed_trouble
        if undone or locked or trouble or run.notice_trouble:
            code = max(code, CHANGES_FAILED)
    return code


def summary_lines(
    runs: list[InstanceRun], *, writes: bool, policy: Policy | None = None, notices: bool = True
) -> list[str]:
    """One line per instance: fetched, matched, changed, failed, skipped, requests, duration;
    with the policy, a second line with the changes by kind (connector/kinds.py); with
    `notices`, the notices a plan or dry run would send, or those a run (`writes`) could not."""
    lines = []
    for run in runs:
        j = run.to_json()
        head = f"{run.name} ({run.platform}): "
        if run.outcome in (RunOutcome.LOCKED, RunOutcome.ABORTED):
            lines.append(head + f"{run.outcome}: {run.error}{_owed_text(j, run)}")
            continue
        text = f"fetched {j['fetched']}, matched {j['matched']}, {j['changes']} to change"
        if run.outcome is RunOutcome.REFUSED:
            text += f"; REFUSED: {run.error}"
        elif writes:
            text += f", applied {j['applied']}"
            if run.dropped:
                text += f" ({run.dropped} without a comment)"
            text += f", unchanged {j['unchanged']}, failed {j['failed']}"
            if j["comments_owed"]:
                text += f", comments owed to the next run {j['comments_owed']}"
            if run.stale:
                text += f", stale {len(run.stale)}"
        text += f", skipped {j['skipped']}{_owed_text(j, run)}{_notice_text(j)}"
        text += f"; {j['requests']} requests in {j['seconds']:.1f}s"
        lines.append(head + text)
        if run.read_why:
            lines.append(f"  read: {run.read_why}")
        if policy is not None and run.changes:
            lines.append("  " + breakdown(run.changes, policy))
        if run.narrowed:
            lines.append(f"  {run.narrowed}")
        lines += notice_lines(run, planned=not writes) if notices else []
        lines += [f"  warning: {w}" for w in run.warnings]
    return lines


#: Notices listed under an instance's line; the rest are counted (the plan file has them all).
NOTICES_LISTED = 20


def notice_lines(run: InstanceRun, *, planned: bool) -> list[str]:
    """A dry run's or plan's notices (and those earlier runs left waiting), or a run's notices
    that did not go out, one line each."""
    found: list[str] = []
    if planned:
        for change in run.changes:
            for n in change.notices:
                when = f"deferred to {format_time(n.due)}" if n.deferred else "now"
                found.append(f"  notice {change.ticket} -> {n.channel}: {when} ({n.key})")
        for w in run.notices_waiting:
            due = format_time(datetime.fromtimestamp(float(w["due"]), UTC))
            found.append(
                f"  notice {w['ticket']} -> {w['channel']}: waiting from an earlier run, due"
                f" {due} ({w['status']}, {w['attempts']} sent)"
            )
    else:
        for r in run.notices:
            if r.status is not Status.SENT:
                found.append(f"  notice {r.ticket} -> {r.channel}: {r.status.value}: {r.detail}")
    extra = len(found) - NOTICES_LISTED
    return found[:NOTICES_LISTED] + ([f"  ... and {extra} more notices"] if extra > 0 else [])


def _notice_text(j: dict[str, Any]) -> str:
    counts = j["notices"]
    if not counts:
        return ""
    return "; notices " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())


def _owed_text(j: dict[str, Any], run: InstanceRun) -> str:
    if not run.owed:
        return ""
    owed = j["owed_from_earlier"]
    text = f", owed comments from earlier runs: sent {owed['sent']}"
    text += f", still owed {owed['still_owed']}" if owed["still_owed"] else ""
    return text + (f", dropped {owed['dropped']}" if owed["dropped"] else "")
