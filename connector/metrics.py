"""Prometheus metrics in node_exporter's textfile format, written at the end of each run.

Each file describes the last run of its instances (gauges, not counters: a cron job has no
process that lives long enough to count). `escalation_last_success_timestamp_seconds` is kept
across runs in `<state_dir>/status/<instance>.json`, so a failing run does not reset it and an
alert on `time() - escalation_last_success_timestamp_seconds` catches a connector that stopped
working. The file is replaced atomically (prometheus_client writes a temporary file and
renames it), so node_exporter never reads half of it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from adapters.results import WriteStatus
from connector.report import InstanceRun, RunOutcome

LABELS = ("instance", "platform")


def _status_file(state_dir: Path, instance: str) -> Path:
    return state_dir / "status" / f"{instance}.json"


def last_success(state_dir: Path, run: InstanceRun, finished: float) -> float | None:
    """Record a successful run; the time of the last one (this or an earlier run)."""
    path = _status_file(state_dir, run.name)
    if run.outcome is RunOutcome.OK and succeeded(run):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"last_success": finished}))
        return finished
    try:
        value = json.loads(path.read_text()).get("last_success")
        return float(value) if value is not None else None
    except (OSError, ValueError, TypeError):
        return None


def succeeded(run: InstanceRun) -> bool:
    """Everything it had to do is done (a dry run counts for the gauge, not for last success)."""
    return run.outcome in (RunOutcome.OK, RunOutcome.DRY_RUN) and not (
        run.failed or run.stale or run.dropped or run.owed_trouble
    )


def write_metrics(
    path: Path, runs: list[InstanceRun], successes: dict[str, float | None], finished: float
) -> None:
    """`successes`: each instance's `last_success` (recorded by every run, metrics or not)."""
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, (*LABELS, *extra), registry=registry)

    escalations = gauge(
        "escalation_last_run_escalations", "Tickets escalated in the last run.", ("level", "rule")
    )
    changes = gauge("escalation_last_run_changes", "Ticket changes by outcome.", ("status",))
    fetched = gauge("escalation_last_run_tickets_fetched", "Open tickets read in the last run.")
    failures = gauge("escalation_last_run_failures", "Ticket writes that failed.")
    requests = gauge("escalation_last_run_requests", "HTTP requests sent in the last run.")
    duration = gauge("escalation_last_run_duration_seconds", "Wall time of the last run.")
    up = gauge("escalation_last_run_success", "1 if the last run did everything it had to.")
    last_run = gauge("escalation_last_run_timestamp_seconds", "When the last run finished.")
    success = gauge(
        "escalation_last_success_timestamp_seconds", "When a run last finished without failures."
    )
    for run in runs:
        base = (run.name, run.platform)
        written = {r.ticket: r.written for r in run.results if r.written is not None}
        counted: Counter[tuple[str, str]] = Counter()
        for change in run.changes:
            done = written.get(change.ticket, change if run.outcome is RunOutcome.DRY_RUN else None)
            if done is not None and done.level_to != done.level_from:
                counted[(done.level_to, ",".join(done.rules) or "approval")] += 1
        for (level, rule), n in counted.items():
            escalations.labels(*base, level, rule).set(n)
        statuses = Counter(r.status for r in run.results)
        for status in WriteStatus:
            changes.labels(*base, status.value).set(statuses[status])
        fetched.labels(*base).set(run.summary.evaluated)
        failures.labels(*base).set(run.failed)
        requests.labels(*base).set(run.requests)
        duration.labels(*base).set(run.seconds)
        up.labels(*base).set(1 if succeeded(run) else 0)
        last_run.labels(*base).set(finished)
        when = successes.get(run.name)
        if when is not None:
            success.labels(*base).set(when)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
