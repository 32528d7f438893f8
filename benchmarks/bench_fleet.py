"""A fleet run: `escalate run --jobs 1` against `--jobs 4` on the same 20 emulated instances.

    .venv/bin/python benchmarks/bench_fleet.py             # 20 instances, --jobs 1 and 4, 3 repeats
    .venv/bin/python benchmarks/bench_fleet.py --quick     # one repeat
    .venv/bin/python benchmarks/bench_fleet.py --instances 20 --tickets 200 --jobs 1 2 4 8 \\
        --repeat 3 --latency 0.02 --json fleet.json

Each run gets a fresh fleet: `--instances` sandboxes (`connector.sandbox`, seed 7, 10% of the
open tickets due, every answer delayed by `--latency` seconds), Zendesk and Jira Cloud in turn,
each served over loopback HTTP from this process, and one config naming them all (the example
policy; the instances `zendesk-01`, `jira-cloud-02`, ...). The real CLI,
`escalate run -c fleet.yaml --jobs J --force`, runs as a child process; its wall time runs
from spawn to exit (Python start-up included), and its CPU time (user + system) is read from
`getrusage(RUSAGE_CHILDREN)`. The repeats alternate the `--jobs` values, so
drift in the machine's load falls on all of them alike.

Checked in every run: exit status 0, one summary line per instance in the config's order,
every instance `ok` in the audit log, nothing failed, and the same changes and requests at
every `--jobs` (the work is the same; only its overlap differs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config import read_text  # noqa: E402
from connector.sandbox import INSTANCES, Sandbox  # noqa: E402
from connector.sandbox.config import example_path, with_instances  # noqa: E402

CHILD_TIMEOUT = 1800.0


@dataclass
class Measure:
    jobs: int
    repeat: int
    code: int
    wall: float
    cpu: float  # the connector process's CPU seconds (user + system)
    instances: int
    in_order: bool
    ok: int
    changes: int
    applied: int
    failed: int
    requests: int
    instance_seconds: float  # the sum of the instances' own durations (audit log)
    seed_s: float


def fleet(stack: ExitStack, tmp: Path, args: argparse.Namespace) -> tuple[Path, list[str]]:
    """Start the sandboxes; write the config that names them all. Returns (config, names)."""
    settings: dict[str, dict[str, Any]] = {}
    for i in range(args.instances):
        platform = args.platforms[i % len(args.platforms)]
        box = stack.enter_context(
            Sandbox(tmp / f"box-{i:02d}", tickets=args.tickets, seed=args.seed,
                    latency=args.latency, platforms=[platform], due_share=0.10)
        )  # fmt: skip
        doc = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
        settings[f"{platform}-{i + 1:02d}"] = doc["instances"][INSTANCES[platform]]
    doc = yaml.safe_load(with_instances(read_text(example_path()), settings))
    doc["run"] = {**(doc.get("run") or {}), "state_dir": str(tmp / "state")}
    path = tmp / "fleet.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path, list(settings)


def one_run(args: argparse.Namespace, jobs: int, repeat: int) -> Measure:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as name, ExitStack() as stack:
        tmp = Path(name)
        started = time.perf_counter()
        config, names = fleet(stack, tmp, args)
        seed_s = time.perf_counter() - started
        cmd = [sys.executable, "-m", "connector.cli", "run", "-c", str(config), "--force"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
        env["PYTHONPATH"] = str(ROOT)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(
            [*cmd, "--jobs", str(jobs)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines = [x for x in done.stdout.splitlines() if not x.startswith("  ")]
        finished = _finished(tmp / "state" / "audit.jsonl")
    if done.returncode != 0:
        print(f"  ! jobs {jobs}: exit {done.returncode}: {done.stdout[-600:]}", file=sys.stderr)
    return Measure(
        jobs, repeat, done.returncode, wall, cpu, len(finished),
        in_order=[x.split(" ", 1)[0] for x in lines] == names,
        ok=sum(1 for f in finished if f["outcome"] == "ok"),
        changes=sum(int(f["changes"]) for f in finished),
        applied=sum(int(f["applied"]) for f in finished),
        failed=sum(int(f["failed"]) for f in finished),
        requests=sum(int(f["requests"]) for f in finished),
        instance_seconds=sum(float(f["seconds"]) for f in finished), seed_s=seed_s,
    )  # fmt: skip


def _finished(audit: Path) -> list[dict[str, Any]]:
    if not audit.exists():
        return []
    records = [json.loads(x) for x in audit.read_text(encoding="utf-8").splitlines() if x]
    return [r for r in records if r.get("event") == "instance_finished"]


def table(runs: list[Measure]) -> list[dict[str, Any]]:
    rows = []
    base: float | None = None
    for jobs in sorted({m.jobs for m in runs}):
        same = [m for m in runs if m.jobs == jobs]
        walls = [m.wall for m in same]
        wall = statistics.median(walls)
        base = wall if base is None else base
        rows.append({
            "jobs": jobs,
            "repeats": len(same),
            "wall": wall,
            "range": (min(walls), max(walls)),
            "speedup": base / wall,
            "cpu": statistics.median([m.cpu for m in same]),
            "instance_seconds": statistics.median([m.instance_seconds for m in same]),
            "changes": sorted({m.changes for m in same}),
            "requests": sorted({m.requests for m in same}),
            "checks": all(
                m.code == 0 and m.in_order and m.ok == m.instances and not m.failed
                and m.applied == m.changes for m in same
            ),
        })  # fmt: skip
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.instances} instances ({', '.join(args.platforms)} in turn), {args.tickets}"
        f" tickets each, {args.latency * 1000:.0f} ms latency\n"
    )
    print("| --jobs | wall s (median) | range | speed-up vs first | connector CPU s"
          " | sum of instance s | changes | requests | checks |")  # fmt: skip
    print("|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['jobs']} | {r['wall']:.1f} | {r['range'][0]:.1f}–{r['range'][1]:.1f} |"
            f" {r['speedup']:.2f}× | {r['cpu']:.1f} | {r['instance_seconds']:.1f} |"
            f" {'/'.join(map(str, r['changes']))} | {'/'.join(map(str, r['requests']))} |"
            f" {'pass' if r['checks'] else 'FAIL'} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=200, help="per instance")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--platforms", nargs="+", default=["zendesk", "jira-cloud"],
                        choices=INSTANCES)  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=False,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    info = {"commit": commit, "cpus": os.cpu_count(), "load": os.getloadavg()}
    print(f"# bench_fleet: {info}")
    runs: list[Measure] = []
    for repeat in range(args.repeat):
        for jobs in args.jobs:
            m = one_run(args, jobs, repeat)
            runs.append(m)
            print(
                f"  repeat {repeat + 1} --jobs {jobs}: {m.wall:.1f}s, CPU {m.cpu:.1f}s"
                f" (exit {m.code}, {m.ok}/{m.instances} ok, {m.changes} changes,"
                f" {m.requests} requests; fleet seeded in {m.seed_s:.1f}s)",
                flush=True,
            )
    rows = table(runs)
    info["load_end"] = os.getloadavg()
    print_table(rows, args)
    if args.json:
        out = {"machine": info, "args": {k: v for k, v in vars(args).items() if k != "json"},
               "rows": rows, "runs": [asdict(m) for m in runs]}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
