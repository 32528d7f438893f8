"""What the commands share: the injected runtime, instance selection, run bookkeeping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
import structlog

from connector.audit import AuditLog
from connector.config import Config, check_secrets
from connector.metrics import last_success, write_metrics
from connector.report import InstanceRun, RunOutcome
from connector.runner import Runtime
from rules.errors import ConfigError

log = structlog.get_logger("connector.cli")


def runtime() -> Runtime:
    """The runtime `main()` was given (tests: a fake clock and sleeper), else the real one."""
    ctx = click.get_current_context()
    found = ctx.find_object(Runtime)
    return found if found is not None else Runtime()


def select(config: Config, names: Sequence[str], *, secrets: bool = True) -> list[str]:
    """The instances to work on; their secrets are read now, before any request (`secrets`
    false: by the caller, as `doctor` does, one instance at a time)."""
    known = list(config.instances)
    if not known:
        raise ConfigError(f"{config.path}: no instances configured (see docs/adapters.md)")
    unknown = [n for n in names if n not in config.instances]
    if unknown:
        raise click.BadParameter(
            f"unknown instance {', '.join(map(repr, unknown))} (configured: {', '.join(known)})",
            param_hint="--instance",
        )
    chosen = list(dict.fromkeys(names)) or known
    if secrets:
        check_secrets(config, chosen)
    return chosen


@contextmanager
def audit_log(config: Config, rt: Runtime, command: str, **fields: object) -> Iterator[AuditLog]:
    audit = AuditLog(config.audit_log, uuid.uuid4().hex[:12], rt.clock, rt.state(config).audit())
    audit.event(
        "run_started", command=command, config=config.path, policy_hash=config.policy.hash, **fields
    )
    try:
        yield audit
    finally:
        audit.close()
        rt.close_store()  # the command's state store (its database connections)


def finish(
    config: Config, rt: Runtime, runs: list[InstanceRun], audit: AuditLog, code: int
) -> None:
    """Run status, metrics and the closing audit line."""
    outcomes = {run.name: run.outcome for run in runs}
    finished = rt.clock()
    # A run skipped for the lock did nothing: the metrics of the run holding it stand.
    runs = [run for run in runs if run.outcome is not RunOutcome.LOCKED]
    successes = {run.name: last_success(config.state_dir, run, finished) for run in runs}
    target = config.metrics_file
    try:
        if target is not None and runs and "{instance}" in target.name:
            for run in runs:
                path = target.with_name(target.name.replace("{instance}", run.name))
                write_metrics(path, [run], successes, finished)
        elif target is not None and runs:
            write_metrics(target, runs, successes, finished)
    except OSError as exc:  # the run is done; say so loudly, but do not hide its summary
        log.error("metrics_not_written", path=str(target), error=exc.strerror)
    audit.event("run_finished", exit_code=code, instances=outcomes)


def emit(body: str, out: str | None, what: str) -> None:
    """A command's result to stdout, or to the file `--out` names (said on stderr)."""
    if out is None:
        click.echo(body, nl=False)
    else:
        Path(out).write_text(body, encoding="utf-8")
        click.echo(f"{what} written to {out}", err=True)
