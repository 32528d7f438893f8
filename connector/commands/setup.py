"""`escalate setup`: create what each instance is missing, after showing exactly that.

Per instance, the adapter's plan (`Setup.setup_plan`, read-only) lists the fields it adopts as
they are (warning when another tool seems to fill one), the requests it will send (each
printed as sent: the field definitions, the filter's JQL, the view's conditions), the policy
fields left out and what they switch off, and what it cannot fix. After a yes, the same plan
is sent (`Setup.setup_apply`), and every field created and adopted is reported.
"""

from __future__ import annotations

import sys

import click

from adapters.setup import Done, Plan
from connector.commands.common import runtime, select
from connector.commands.options import config_option, format_option, instance_option
from connector.commands.outputs import dumps, setup_json
from connector.config import load_config
from connector.errors import CHANGES_FAILED, OK, USAGE
from connector.runner import open_adapter
from connector.serve import hookset

INDENT = " " * 17


@click.command()
@config_option()
@instance_option
@click.option("--yes", is_flag=True, help="Create (and adopt) without asking (for scripts).")
@format_option(
    "one JSON object: the plan, and what became of each step (docs/cli.md); without"
    " --yes it shows the plan and creates nothing"
)
@click.option(
    "--webhooks/--no-webhooks",
    default=True,
    show_default=True,
    help="Also create the webhooks `escalate serve` listens to (for the instances serve.webhooks"
    " names, at serve.public_url; Zendesk: a webhook and its trigger).",
)
@click.option(
    "--policy-fields/--no-policy-fields",
    default=True,
    show_default=True,
    help="Also create the missing fields the policy's rules, functions and SLA policies read"
    " (--no-policy-fields: leave them out, and say what stays off without them).",
)
def setup(
    config_path: str,
    instances: tuple[str, ...],
    yes: bool,
    fmt: str,
    webhooks: bool,
    policy_fields: bool,
) -> None:
    """Create the missing tracking and policy fields and the "Escalated tickets" queue.

    Shows, per instance, the fields it adopts as they are (warning when tickets already hold
    values in a tracking field: another tool may own it), then each request it will send,
    exactly as it will send it: the missing tracking fields, the policy's own fields (a
    number where the policy writes numbers, a yes/no where it reads a customer's request, else
    text), and the queue (a Zendesk view, a Jira saved filter). Asks, then sends exactly those
    and reports every field created and adopted. With serve.public_url set, also the webhooks
    `escalate serve` listens to (--no-webhooks: not). Never changes or duplicates what exists.
    Needs an admin account. Exit status 0 done, 1 something could not be created or fixed,
    2 not confirmed (no terminal: pass --yes).
    """
    config = load_config(config_path)
    names = select(config, instances)
    rt = runtime()
    adapters = {name: open_adapter(config, name, rt) for name in names}
    done: dict[str, list[Done]] = {}
    hooked: dict[str, list[Done]] = {}
    confirmed, kept = False, 0
    try:
        plans = {name: a.setup_plan(policy_fields=policy_fields) for name, a in adapters.items()}
        hooks = hookset.plans(config, adapters) if webhooks else {}
        if fmt == "text":
            for name, plan in plans.items():
                show(plan, f"{name} ({plan.platform}, {config.instances[name].url})")
                if name in hooks:
                    show(hooks[name], "")
        every = [*plans.values(), *hooks.values()]
        pending = any(p.steps or p.in_use for p in every)
        if not pending and fmt == "text":
            click.echo("nothing to create")
        if pending:
            confirmed = _confirm(yes, fmt)
        for name, plan in plans.items() if confirmed else ():
            done[name] = adapters[name].setup_apply(plan) if plan.steps else []
            hook = hooks.get(name)
            if hook is not None and hook.steps:
                hooked[name], left = hookset.apply(config, name, adapters[name], hook)
                kept += left
    finally:
        for adapter in adapters.values():
            adapter.close()
    problems = kept + sum(len(p.problems) for p in every)
    for steps in [*done.values(), *hooked.values()]:
        problems += _failed(steps)
    if fmt == "text":
        for name, steps in done.items():
            report(name, plans[name], steps)
        for name, steps in hooked.items():
            report(name, Plan(name, hooks[name].platform), steps)
    code = USAGE if pending and not confirmed else (CHANGES_FAILED if problems else OK)
    if fmt == "json":
        urls = {name: (plan, config.instances[name].url) for name, plan in plans.items()}
        made = {name: steps + hooked.get(name, []) for name, steps in done.items()}
        document = setup_json(urls, made, confirmed=confirmed, problems=problems, code=code)
        click.echo(dumps(document), nl=False)
    raise click.exceptions.Exit(code)


def _failed(done: list[Done]) -> int:
    return sum(1 for d in done if d.id is None)


def show(plan: Plan, head: str) -> None:
    """The plan as it will be carried out: each request exactly as it will be sent."""
    if head:
        click.echo(head)
    for adoption in plan.adopted:
        s = adoption.status
        warning = f": WARNING {adoption.in_use}; {_owner_hint(plan, s.name)}"
        click.echo(
            f"  adopt field    {s.title!r} ({s.id}, {s.kind}){warning * bool(adoption.in_use)}"
        )
    for status, parts in plan.skipped:
        click.echo(
            f"  leave out      {status.title!r} (policy field): without it, off on"
            f" {plan.instance}: {parts}"
        )
    for problem in plan.problems:
        click.echo(f"  cannot fix     {problem}")
    queue = plan.queue
    if queue is not None and queue.id is not None:
        where = queue.url or queue.id
        note = f": {queue.problem}" if queue.problem else ""
        click.echo(f"  exists         {queue.kind} {queue.title!r} ({where}){note}")
    for step in plan.steps:
        click.echo(f"  create {step.what:<8}{step.title!r} ({step.role}): {step.summary}")
        click.echo(f"{INDENT}{step.request.show()}")


def _owner_hint(plan: Plan, name: str) -> str:
    return (
        "another tool may own this field, and the connector would read its values as its own:"
        f" map another title to {name} (platforms.{plan.platform}.fields), or adopt it if the"
        " values are yours"
    )


def _confirm(yes: bool, fmt: str) -> bool:
    """Whether to go ahead: --yes, else the terminal's answer; JSON output never asks (its
    stdout is the document), so without --yes it shows the plan and creates nothing."""
    if yes:
        return True
    if fmt == "json":
        click.echo("not confirmed: re-run with --yes to create and adopt the above", err=True)
        return False
    if not sys.stdin.isatty():
        click.echo("not a terminal: re-run with --yes to create and adopt the above", err=True)
        return False
    click.confirm("Create and adopt the above?", abort=True)
    return True


def report(name: str, plan: Plan, done: list[Done]) -> None:
    """Print what became of each step and every field adopted."""
    notes: dict[str, list[str]] = {}  # a note every new field shares, said once
    for d in done:
        step = d.step
        if d.id is None:
            click.echo(f"{name}: {step.what} {step.title!r} not created: {d.problem}", err=True)
            continue
        if step.what == "field" and d.note:
            notes.setdefault(d.note, []).append(step.title)
        where = f": {d.url}" if d.url else f" ({d.id})"
        note = f": {d.note}" if d.note and step.what != "field" else ""
        click.echo(f"{name}: created {step.what} {step.title!r}{where}{note}")
    for note, titles in notes.items():
        click.echo(f"{name}: {_fields(titles)}: {note}")
    for adoption in plan.adopted:
        s = adoption.status
        held = ", which already holds values" if adoption.in_use else ""
        click.echo(f"{name}: adopted field {s.title!r} ({s.id}){held}")
    for status, parts in plan.skipped:
        click.echo(f"{name}: left out policy field {status.title!r}: off until it exists: {parts}")


def _fields(titles: list[str]) -> str:
    return f"the new field {titles[0]!r}" if len(titles) == 1 else f"the {len(titles)} new fields"
