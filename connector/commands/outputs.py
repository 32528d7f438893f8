"""The `--format json` documents of `run`, `apply`, `doctor` and `setup` (docs/cli.md, "JSON
output"): stable shapes for scripts, secrets masked. Keys are only ever added, never renamed;
`format` says which shape this is.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from adapters.results import Check, WriteStatus
from adapters.secrets import mask_all
from adapters.setup import Done, Plan
from connector.kinds import KINDS, count
from connector.report import InstanceRun
from rules.policy import Policy

FORMAT = 1


def dumps(document: dict[str, Any], *, indent: int | None = 2) -> str:
    return json.dumps(mask_all(document), indent=indent, ensure_ascii=False, default=str) + "\n"


def instance_json(run: InstanceRun, policy: Policy) -> dict[str, Any]:
    """An instance's summary line as JSON, with its changes by kind and the failed tickets."""
    kinds = count(run.changes, policy)
    failures = [
        {"ticket": r.ticket, "message": r.message}
        for r in run.results
        if r.status is WriteStatus.FAILED
    ]
    return {
        **run.to_json(),
        "kinds": {k: kinds[k] for k in KINDS if kinds[k]},
        "failures": failures,
    }


def run_json(
    runs: list[InstanceRun], policy: Policy, *, dry_run: bool, code: int
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "command": "run",
        "dry_run": dry_run,
        "exit_code": code,
        "instances": {run.name: instance_json(run, policy) for run in runs},
    }


def apply_json(
    plan_path: str, runs: list[InstanceRun], policy: Policy, spent: list[bool], code: int
) -> dict[str, Any]:
    instances = {
        run.name: {
            **instance_json(run, policy),
            "already_applied": done,
            "stale_tickets": run.stale,
        }
        for run, done in zip(runs, spent, strict=True)
    }
    return {
        "format": FORMAT,
        "command": "apply",
        "plan": plan_path,
        "exit_code": code,
        "already_applied": bool(runs) and all(spent),
        "instances": instances,
    }


def doctor_json(
    found: dict[str, tuple[str, str, list[Check]]], problems: int, code: int
) -> dict[str, Any]:
    """`found`: instance -> (platform, url, its checks); `problems` as the text counts them
    (each failed check, and an instance where no check could run)."""
    instances = {
        name: {
            "platform": platform,
            "url": url,
            "ok": bool(checks) and all(c.ok for c in checks),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        }
        for name, (platform, url, checks) in found.items()
    }
    return {
        "format": FORMAT,
        "command": "doctor",
        "exit_code": code,
        "problems": problems,
        "instances": instances,
    }


def setup_json(
    plans: dict[str, tuple[Plan, str]],
    done: dict[str, list[Done]],
    *,
    confirmed: bool,
    problems: int,
    code: int,
) -> dict[str, Any]:
    """`plans`: instance -> (its setup plan, its URL); `done`: what became of each step sent."""
    return {
        "format": FORMAT,
        "command": "setup",
        "exit_code": code,
        "confirmed": confirmed,
        "problems": problems,
        "instances": {
            name: _setup_instance(plan, url, done.get(name, []))
            for name, (plan, url) in plans.items()
        },
    }


def _setup_instance(plan: Plan, url: str, done: list[Done]) -> dict[str, Any]:
    queue = plan.queue
    return {
        "platform": plan.platform,
        "url": url,
        "adopt": [
            {
                "title": a.status.title,
                "id": a.status.id,
                "kind": a.status.kind,
                "in_use": a.in_use or None,
            }
            for a in plan.adopted
        ],
        "leave_out": [{"title": s.title, "switches_off": parts} for s, parts in plan.skipped],
        "cannot_fix": list(plan.problems),
        "queue": None if queue is None else asdict(queue),
        "create": [
            {
                "what": step.what,
                "title": step.title,
                "role": step.role,
                "summary": step.summary,
                "request": asdict(step.request),
            }
            for step in plan.steps
        ],
        "done": [
            {
                "what": d.step.what,
                "title": d.step.title,
                "id": d.id,
                "url": d.url,
                "problem": d.problem or None,
                "note": d.note or None,
            }
            for d in done
        ],
    }
