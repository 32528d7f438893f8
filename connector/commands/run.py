"""`escalate run`, `escalate plan` and `escalate apply`: the commands that touch tickets."""

from __future__ import annotations

from pathlib import Path

import click
import structlog

from adapters.results import WriteStatus
from connector.commands.common import audit_log, finish, runtime, select
from connector.commands.options import config_option, format_option, instance_option, jobs_option
from connector.commands.outputs import apply_json, run_json
from connector.commands.outputs import dumps as json_text
from connector.config import Config, check_secrets, load_config
from connector.errors import CHANGES_FAILED, OK, PENDING
from connector.fleet import each
from connector.kinds import plural
from connector.notices import channels_of
from connector.planfile import dumps, load_plan, plan_json, render_text, save_plan
from connector.report import InstanceRun, RunOutcome, exit_code, summary_lines
from connector.runner import Options, Runtime, apply_instance, plan_instance, run_instance
from rules.errors import ConfigError
from rules.plan import TicketChange
from rules.units import parse_duration

log = structlog.get_logger("connector.cli")


@click.command()
@config_option()
@instance_option
@click.option("--dry-run", is_flag=True, help="Fetch and evaluate, write nothing.")
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    help="Storm guard: an instance with more changes due writes nothing (default: the"
    " config's run.max_changes, 200; 0 turns it off).",
)
@click.option("--force", is_flag=True, help="Write even when the storm guard would refuse.")
@click.option(
    "--full",
    is_flag=True,
    help="With run.incremental: read the whole scope now (a full sweep, which rebuilds the"
    " due index).",
)
@jobs_option
@click.option("--loop", is_flag=True, help="Run again and again, every --interval, until stopped.")
@click.option(
    "--interval", default="5m", show_default=True, help="Time between runs with --loop (5m, 1h)."
)
@format_option("one JSON object per run (docs/cli.md), on one line with --loop")
def run(
    config_path: str,
    instances: tuple[str, ...],
    dry_run: bool,
    max_changes: int | None,
    force: bool,
    full: bool,
    jobs: int | None,
    loop: bool,
    interval: str,
    fmt: str,
) -> None:
    """Fetch, evaluate and write every instance: the command to schedule.

    Reads every open ticket in scope (all pages, or nothing is written), evaluates the policy,
    and writes the changes: reassignment, priority, tracking fields and comments, one ticket at a
    time within the instance's request budget. Safe to repeat, to kill and to overlap: what was
    done is read back from the tracking fields, and one run per instance holds a lock (a second
    one exits at once, status 0, saying so).

    With `run.incremental: true`, reads only the tickets updated since the last run or come
    due, with a full sweep every `run.full_sweep` (or now, with --full); each summary line says
    which.

    With --jobs N, up to N instances run at once; one that fails does not stop the others.
    Prints one summary line per instance, in the order of the configuration (or of --instance).
    Exit status (the worst instance counts): 0 everything done, 1 some tickets not written or
    an instance refused/aborted, 2 configuration or credentials, 3 a bug.
    """
    try:
        every = parse_duration(interval)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    if every <= 0:  # back to back, without a pause: the platforms' budget gone in minutes
        raise click.BadParameter(f"{interval!r}: must be more than 0", param_hint="--interval")
    source = click.get_current_context().get_parameter_source("interval")
    if not loop and source is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--interval is for --loop (one run, else: schedule it)")
    config = load_config(config_path)
    names = select(config, instances)
    if not dry_run:
        channels_of(config)  # the notice channels' secrets, read before anything is sent
    rt = runtime()
    guard = 0 if force else (config.run.max_changes if max_changes is None else max_changes)
    options = Options(
        dry_run=dry_run,
        max_changes=guard,
        concurrency=config.run.concurrency,
        incremental=config.run.incremental,
        full=full,
    )
    jobs = config.run.jobs if jobs is None else jobs
    while True:
        started = rt.clock()
        runs, code = _once(config, names, rt, options, jobs)
        if fmt == "json":
            document = run_json(runs, config.policy, dry_run=dry_run, code=code)
            click.echo(json_text(document, indent=None if loop else 2), nl=False)
        else:
            # A dry run's changes by kind under each line; a run keeps one line per instance.
            kinds = config.policy if dry_run else None
            for line in summary_lines(runs, writes=not dry_run, policy=kinds):
                click.echo(line)
        if not loop:
            break
        try:
            rt.sleep(max(0.0, every - (rt.clock() - started)))
        except KeyboardInterrupt:
            break
    raise click.exceptions.Exit(code)


def _once(
    config: Config, names: list[str], rt: Runtime, options: Options, jobs: int
) -> tuple[list[InstanceRun], int]:
    with audit_log(config, rt, "run", instances=names, dry_run=options.dry_run) as audit:

        def work(name: str) -> InstanceRun:
            return run_instance(config, name, rt, audit, options)

        runs = each(names, work, jobs=jobs, stop=rt.stop, progress=rt.progress)
        code = exit_code(runs)
        finish(config, rt, runs, audit, code)
    return runs, code


@click.command()
@config_option()
@instance_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the JSON plan here (for `escalate apply`), readable by its owner only (0600).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 no changes, 2 changes pending, 1 anything went wrong (as Terraform's plan).",
)
@jobs_option
def plan(
    config_path: str,
    instances: tuple[str, ...],
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    jobs: int | None,
) -> None:
    """Show what a run would do, ticket by ticket, and write nothing.

    First the summary (one line per instance, then its changes by kind), then for each ticket
    that would change: the field diffs, the new owner, the rendered comments and the reasons.
    `--format json` prints the documented plan (docs/operations.md); `--out FILE` saves it for
    `escalate apply FILE`, which writes exactly that plan later. With --jobs N, up to N
    instances are read at once; the plan keeps the configuration's order.

    Exit status as for run; with --detailed-exitcode: 0 no changes, 2 changes pending, 1 any
    error (configuration, credentials, an instance not read, a bug).
    """
    config = load_config(config_path)
    names = select(config, instances)
    rt = runtime()
    with audit_log(config, rt, "plan", instances=names) as audit:
        generated = rt.now()

        def work(name: str) -> InstanceRun:
            return plan_instance(config, name, rt, audit)

        jobs = config.run.jobs if jobs is None else jobs
        runs = each(names, work, jobs=jobs, stop=rt.stop, progress=rt.progress)
        code = exit_code(runs)
        audit.event("run_finished", exit_code=code)
    document = plan_json(str(Path(config_path).resolve()), config.policy.hash, generated, runs)
    if out is not None:
        save_plan(out, document)
    if fmt == "json" and out is None:
        click.echo(dumps(document), nl=False)
    else:
        for line in summary_lines(runs, writes=False, policy=config.policy, notices=False):
            click.echo(line)
        text = render_text(runs, config.policy)
        if fmt == "text" and text:
            click.echo("\n" + text.rstrip("\n"))
        if out is not None:
            click.echo(f"plan written to {out}; apply it with: escalate apply {out}")
    if detailed_exitcode:
        code = CHANGES_FAILED if code else (PENDING if document["changes"] else OK)
    raise click.exceptions.Exit(code)


@click.command(name="apply")
@click.argument("plan_path", metavar="PLAN.json", type=click.Path())
@config_option(
    required=False,
    help="The configuration (default: $ESCALATE_CONFIG, else the one the plan was made from).",
)
@format_option("one JSON object (docs/cli.md)")
def apply_command(plan_path: str, config_path: str | None, fmt: str) -> None:
    """Write exactly the changes of a saved plan (`escalate plan --out PLAN.json`).

    A ticket updated since the plan was made (by anyone) is refused and reported as stale;
    nothing is re-evaluated, so what is written is what the plan shows. The configuration's
    policy must be the one the plan was made with (same policy hash). A plan applied before
    says so ("already applied") and writes nothing. Exit status as for run.
    """
    document, changes = load_plan(plan_path)
    config = load_config(config_path or document["config"])
    if config.policy.hash != document["policy_hash"]:
        raise ConfigError(
            f"{plan_path} was made with policy {document['policy_hash']}, but"
            f" {config.path} now has policy {config.policy.hash}: make a new plan"
        )
    by_instance: dict[str, list[TicketChange]] = {}
    for change in changes:
        if change.instance not in config.instances:
            raise ConfigError(f"{plan_path}: instance {change.instance!r} is not in {config.path}")
        by_instance.setdefault(change.instance, []).append(change)
    check_secrets(config, list(by_instance))
    channels_of(config)
    rt = runtime()
    runs: list[InstanceRun] = []
    with audit_log(config, rt, "apply", plan=plan_path) as audit:
        for name, planned in by_instance.items():
            runs.append(apply_instance(config, name, planned, rt, audit, config.run.concurrency))
        code = exit_code(runs, locked_is_done=False)
        finish(config, rt, runs, audit, code)
    code = code if runs else OK
    if fmt == "json":
        document = apply_json(plan_path, runs, config.policy, [spent(r) for r in runs], code)
        click.echo(json_text(document), nl=False)
        raise click.exceptions.Exit(code)
    for run in runs:
        for ticket in run.stale:
            click.echo(f"{run.name} {ticket}: refused, updated since the plan was made")
    for line in apply_lines(runs):
        click.echo(line)
    if not changes:
        click.echo("the plan has no changes")
    elif all(map(spent, runs)):
        click.echo(f"{plan_path} was already applied: nothing written")
    raise click.exceptions.Exit(code)


def spent(run: InstanceRun) -> bool:
    """Every change of the plan for this instance is on its tickets already, nothing written
    now (an earlier apply wrote them: each is recognised as ours by its tracking values)."""
    done = run.outcome is RunOutcome.OK and bool(run.results) and not run.stale
    return done and all(r.status is WriteStatus.UNCHANGED for r in run.results)


def apply_lines(runs: list[InstanceRun]) -> list[str]:
    """The summary lines, an instance whose part of the plan was applied before said so."""
    lines: list[str] = []
    for run in runs:
        if spent(run) and not run.owed:
            n = len(run.results)
            are = "is on its ticket" if n == 1 else "are on their tickets"
            lines.append(
                f"{run.name} ({run.platform}): already applied: the plan's"
                f" {plural(n, 'change')} {are}, nothing written;"
                f" {run.requests} requests in {run.seconds:.1f}s"
            )
        else:
            lines += summary_lines([run], writes=True)
    return lines
