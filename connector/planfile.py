"""The plan: what a run would do, as stable JSON (docs/operations.md, "Plan JSON") and as text.

`escalate plan --out plan.json` writes it; `escalate apply plan.json` reads it back and writes
exactly those changes. Each change record is `TicketChange.to_json()`, whose comment actions
carry their template/data `parts` so the platform escaping is the same as in a direct run.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from adapters.secrets import mask, mask_all
from connector.config import read_text
from connector.report import InstanceRun, RunOutcome
from rules.errors import ConfigError
from rules.mapping import platform_priority
from rules.plan import Summary, TicketChange, from_json
from rules.policy import Policy
from rules.tracking import format_time

FORMAT = 1


def plan_json(
    config_path: str, policy_hash: str, generated_at: datetime, runs: list[InstanceRun]
) -> dict[str, Any]:
    total = Summary()
    for run in runs:
        total.evaluated += run.summary.evaluated
        total.matched += run.summary.matched
        total.changed += run.summary.changed
        total.skipped += run.summary.skipped
        for key, n in run.summary.by_level.items():
            total.by_level[key] = total.by_level.get(key, 0) + n
        for key, n in run.summary.by_rule.items():
            total.by_rule[key] = total.by_rule.get(key, 0) + n
    return {
        "format": FORMAT,
        "generated_at": format_time(generated_at),
        "config": config_path,
        "policy_hash": policy_hash,
        "instances": {run.name: run.to_json() for run in runs},
        # An instance whose read failed has only part of its changes: none of them is kept.
        "changes": [
            c.to_json() for run in runs if run.outcome is RunOutcome.DRY_RUN for c in run.changes
        ],
        "summary": total.to_json(),
    }


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(mask_all(plan), indent=2, ensure_ascii=False, default=str) + "\n"


def save_plan(path: str, plan: dict[str, Any]) -> None:
    """Write the plan readable by its owner only (mode 0600, whatever the umask, an existing
    file's mode included): it holds ticket titles, customer names and comment text."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(dumps(plan))


def load_plan(path: str) -> tuple[dict[str, Any], list[TicketChange]]:
    """The plan and its changes; ConfigError naming the record for anything malformed."""
    try:
        plan = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(plan, dict) or plan.get("format") != FORMAT:
        raise ConfigError(
            f"{path}: not a plan written by `escalate plan --format json` (format {FORMAT})"
        )
    for key in ("policy_hash", "changes", "config"):
        if key not in plan:
            raise ConfigError(f"{path}: the plan has no {key!r}")
    changes: list[TicketChange] = []
    seen: set[tuple[str, str]] = set()
    for index, record in enumerate(plan["changes"]):
        where = f"{path}: changes[{index}]"
        if isinstance(record, dict) and "ticket" in record:
            where += f" (ticket {record.get('instance')}/{record['ticket']})"
        try:
            change = from_json(record)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(f"{where}: {what}") from None
        if (change.instance, change.ticket) in seen:
            raise ConfigError(f"{where}: the ticket appears twice in the plan")
        seen.add((change.instance, change.ticket))
        changes.append(change)
    return plan, changes


def render_text(runs: list[InstanceRun], policy: Policy) -> str:
    out: list[str] = []
    for run in runs:
        if run.outcome is not RunOutcome.DRY_RUN:
            continue  # aborted: the summary line says why
        for change in run.changes:
            out.extend(change_lines(change, policy))
            out.append("")
    return mask("\n".join(out))


def change_lines(c: TicketChange, policy: Policy) -> list[str]:
    """One change as the text plan shows it; priorities are the policy's names, with the
    platform's own in brackets where it differs ("P2 (high)")."""
    level = f"{c.level_from} -> {c.level_to}" if c.level_from != c.level_to else c.level_from
    lines = [f"{c.instance} {c.ticket}  {level}  {c.url}", f"  rules: {', '.join(c.rules)}"]
    for name in ("group", "assignee", "priority"):
        diff = getattr(c, name)
        if diff is None:
            continue
        old, new = diff.old, diff.new
        if name == "priority":
            old, new = (_priority(policy, c.platform, v) for v in (old, new))
        lines.append(f"  {name}: {old or '-'} -> {new or '-'}")
    if c.add_tags or c.remove_tags:
        tags = [f"+{t}" for t in c.add_tags] + [f"-{t}" for t in c.remove_tags]
        lines.append(f"  tags: {' '.join(tags)}")
    for name, diff in sorted(c.fields.items()):
        lines.append(f"  field {name}: {diff.old or '-'} -> {diff.new or '-'}")
    changed = ", ".join(
        f"{n}={d.new}" if d.new is not None else f"{n} cleared"
        for n, d in c.tracking.items()
        if n != "state"
    )
    if changed:
        lines.append(f"  tracking: {changed}")
    for title, body in (("internal note", c.internal_note), ("public reply", c.public_reply)):
        if body is not None:
            lines.append(f"  {title}:")
            lines.extend(f"    | {line}" for line in body.plain().strip().splitlines())
    if c.notify:
        lines.append(f"  notify: {', '.join(c.notify)}")
    for n in c.notices:
        when = f"deferred to {format_time(n.due)}" if n.deferred else "now"
        lines.append(f"  notice {n.channel}: {when} ({n.key})")
    lines.extend(f"  why: {reason}" for reason in c.reasons)
    return lines


def _priority(policy: Policy, platform: str, neutral: object) -> str | None:
    if neutral is None:
        return None
    theirs = platform_priority(policy, platform, str(neutral))
    return str(neutral) if theirs == neutral else f"{neutral} ({theirs})"
