"""`escalate demo`: the whole connector, end to end, on local emulated platforms.

Starts the sandbox (Zendesk, Jira Cloud and Jira Data Center emulated over HTTP on 127.0.0.1,
seeded with a few hundred tickets each), writes a config that points the example policy at
them, then runs `plan`, `run` and a second `run` through the real adapters and client
libraries, and shows each queue before and after. Nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from connector.audit import AuditLog
from connector.commands.common import runtime
from connector.commands.outputs import instance_json
from connector.commands.report import gather
from connector.config import Config, load_config
from connector.insights.page import page
from connector.kinds import WHY, count, plural
from connector.report import InstanceRun, exit_code, summary_lines
from connector.runner import Options, Runtime, plan_instance, run_instance
from connector.sandbox import Sandbox
from connector.sandbox.inspect import Row, snapshot
from connector.sandbox.mix import past_count
from connector.sandbox.notices import add_channels, received
from connector.sandbox.notices import rows as notice_rows
from emulators.sink import Sink
from rules.plan import TicketChange

COLUMNS = ("ticket", "group", "level", "priority", "sla_due")


@click.command(name="demo")
@click.option(
    "--tickets",
    default=300,
    show_default=True,
    type=click.IntRange(10, 20000),
    help="Open tickets seeded per platform (and 40% as many solved over the past month).",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the ticket mix.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Keep the sandbox config, secrets, audit log here (default: a temporary folder).",
)
@click.option("--rows", default=8, show_default=True, help="Changed tickets listed per instance.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def demo_command(tickets: int, seed: int, directory: str | None, rows: int, fmt: str) -> None:
    """Run the example policy end to end on local emulated Zendesk and Jira (no account needed).

    Seeds the sandbox platforms, runs `plan`, then `run`, then `run` again (which changes
    nothing), through the real adapters over HTTP, and prints each queue before and after.
    """
    rt = runtime()
    if directory is not None:
        code = _demo(Path(directory), tickets, seed, rows, fmt, rt, kept=True)
    else:
        with tempfile.TemporaryDirectory(prefix="escalate-demo-") as tmp:
            code = _demo(Path(tmp), tickets, seed, rows, fmt, rt, kept=False)
    raise click.exceptions.Exit(code)


def _demo(
    where: Path, tickets: int, seed: int, rows: int, fmt: str, rt: Runtime, *, kept: bool
) -> int:
    say: Callable[[str], None] = click.echo if fmt == "text" else (lambda _: None)
    say(
        f"Seeding {tickets} open tickets on each emulated platform (127.0.0.1), and"
        f" {past_count(tickets)} solved over the past month..."
    )
    sink = Sink().start()
    with contextlib.ExitStack() as stack:
        stack.callback(sink.close)
        box = stack.enter_context(Sandbox(where, tickets=tickets, seed=seed, clock=rt.clock))
        add_channels(box.config_path, sink)
        config = load_config(box.config_path)  # its state directory: where/state
        names = list(config.instances)
        say(
            f"Policy {config.policy.hash}: config.example.yaml with notices to local channels,"
            f" on {', '.join(names)}\n"
        )
        before = snapshot(box)
        audit = AuditLog(config.audit_log, uuid.uuid4().hex[:12], rt.clock)
        steps: dict[str, list[InstanceRun]] = {}
        try:
            steps["plan"] = [plan_instance(config, n, rt, audit) for n in names]
            options = Options(
                max_changes=config.run.max_changes, concurrency=config.run.concurrency
            )
            steps["run"] = [run_instance(config, n, rt, audit, options) for n in names]
            steps["second run"] = [run_instance(config, n, rt, audit, options) for n in names]
        finally:
            audit.close()
        after = snapshot(box)
        if kept:  # the past 30 days as a manager reads them, while the platforms are up
            report = _report(config, rt, where / "report.html")
    for step, runs in steps.items():
        say(f"$ escalate {'plan' if step == 'plan' else 'run'}    # {step}")
        for line in summary_lines(runs, writes=step != "plan", policy=config.policy):
            say("  " + line)
        say("")
    if fmt == "json":
        data = _json(config, steps, before, after)
        data["notices"] = {"received": [list(r) for r in received(sink)]}
        click.echo(json.dumps(data, indent=2))
    else:
        written = {run.name: run.changes for run in steps["run"]}
        for name in names:
            why = _unmoved(before[name], after[name], written[name], config)
            say(_tables(name, before[name], after[name], rows, why))
        say(_notices(sink, [r for step in ("run", "second run") for r in steps[step]], rows))
        if kept:
            say(f"Report of the past 30 days (escalate report --format html): {report}")
        if directory_kept(where):
            say(f"Audit log of these runs: {config.audit_log}")
            say(
                f"The emulated platforms stopped with the demo: `escalate sandbox serve --dir"
                f" {where}` brings them back (new tickets, new ports) before plan/run/doctor"
                f" -c {box.config_path}"
            )
        else:
            say("Try it yourself: escalate sandbox serve  (then plan/run/doctor against it)")
    return max(exit_code(runs) for runs in steps.values())


def _report(config: Config, rt: Runtime, target: Path) -> Path:
    now = rt.clock()
    fig, _ = gather(config, rt, since=now - 30 * 86400, now=now, names=[], audit_paths=[])
    target.write_text(page(fig), encoding="utf-8")
    return target


def _notices(sink: Sink, runs: list[InstanceRun], limit: int) -> str:
    """What the runs told whom: each notice's fate, and what the local services received."""
    lines = [
        f"Notices (to a local webhook sink {sink.base} and SMTP server 127.0.0.1:"
        f"{sink.smtp_port}; chat and e-mail in Berlin office hours, L3 on-call at once)"
    ]
    fates = notice_rows(runs)
    lines += _table(("instance", "ticket", "channel", "when", "status"), fates[:limit])
    if len(fates) > limit:
        lines.append(f"  ... and {len(fates) - limit} more")
    got = received(sink)
    lines += ["", f"Received by the local services: {len(got)}"]
    lines += _table(("service", "to", "what"), [(s, t, w[:70]) for s, t, w in got[:limit]])
    return "\n".join(lines) + "\n"


def directory_kept(where: Path) -> bool:
    return not where.name.startswith("escalate-demo-")


def _changed(before: list[Row], after: list[Row]) -> list[tuple[Row, Row]]:
    old = {r.ticket: r for r in before}
    return [
        (old[r.ticket], r)
        for r in after
        if r.ticket in old and any(getattr(old[r.ticket], c) != getattr(r, c) for c in COLUMNS)
    ]


def _cell(old: object, new: object) -> str:
    return f"{old or '-'} -> {new or '-'}" if old != new else str(new or "-")


def _table(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> list[str]:
    rows = [header, *body]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return [
        "  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _tables(name: str, before: list[Row], after: list[Row], limit: int, why: str) -> str:
    changed = _changed(before, after)
    lines = [
        f"{name}: {len(changed)} of {len(after)} tickets moved (group, level, priority or SLA due)",
        why,
    ]
    queues_before = Counter(r.group or "(none)" for r in before)
    queues_after = Counter(r.group or "(none)" for r in after)
    moved = sorted(g for g in queues_before | queues_after if queues_before[g] != queues_after[g])
    lines += _table(
        ("queue (group)", "before", "after"),
        [(g, str(queues_before[g]), str(queues_after[g])) for g in moved],
    )
    lines.append("")
    body = [
        (
            new.ticket,
            _cell(old.group, new.group),
            _cell(old.level or "L1", new.level or "L1"),
            _cell(old.priority, new.priority),
            _cell(old.sla_due, new.sla_due),
        )
        for old, new in changed[:limit]
    ]
    lines += _table(("ticket", "group", "level", "priority", "SLA due"), body)
    if len(changed) > limit:
        lines.append(f"  ... and {len(changed) - limit} more (--rows to show more)")
    return "\n".join(lines) + "\n"


def _unmoved(
    before: list[Row], after: list[Row], written: list[TicketChange], config: Config
) -> str:
    """Why the run changed more tickets than the table shows: the changes that moved none of
    its columns, by kind (a note asking for approval, a reminder, a tracking value)."""
    moved = {new.ticket for _, new in _changed(before, after)}
    # The table shows Jira keys and Zendesk ids as the platform does; so do the changes.
    others = [c for c in written if c.ticket not in moved]
    if not others:
        return f"  (the run's {plural(len(written), 'change')}, all below)"
    kinds = count(others, config.policy)
    parts = "; ".join(f"{n} {k} ({WHY.get(k, 'see the plan')})" for k, n in kinds.most_common())
    return (
        f"  The run made {plural(len(written), 'change')}; {len(others)} of them moved none of"
        f" these: {parts}."
    )


def _json(
    config: Config,
    steps: dict[str, list[InstanceRun]],
    before: dict[str, list[Row]],
    after: dict[str, list[Row]],
) -> dict[str, Any]:
    return {
        "policy_hash": config.policy.hash,
        "steps": {
            step: {r.name: instance_json(r, config.policy) for r in runs}
            for step, runs in steps.items()
        },
        "changed": {
            name: [
                {"before": dataclasses.asdict(old), "after": dataclasses.asdict(new)}
                for old, new in _changed(before[name], after[name])
            ]
            for name in after
        },
    }
