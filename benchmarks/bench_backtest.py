"""Benchmark: `escalate backtest` on an export of N tickets with 30 days of history each.

    .venv/bin/python benchmarks/bench_backtest.py [--counts 1000 10000] [--repeat 1]

Budget (issue 6, "Measure"): 10k tickets with 30 days of history each, from an export file,
in under 60 s, with memory flat in the number of tickets.

Each count runs in a fresh subprocess (so ru_maxrss, a per-process high-water mark, compares):
it writes a synthetic export (tickets created over 30 days, each with 4 to 30 events over up to
30 days: customer and agent comments, status changes including pauses, a reassignment now and
then; priorities P1 2%, P2 12%, P3 66%, P4 20%), then runs the real CLI command in process
(`escalate backtest -c config.example.yaml --tickets FILE --format json`, output discarded)
and reports wall time, changes, escalations, the peak RSS of the process, and that of its
largest worker with `--jobs` (0 without).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 10, 1, 8, tzinfo=UTC)
PRIORITIES = [("urgent", 2), ("high", 12), ("normal", 66), ("low", 20)]


def export(count: int, seed: int) -> dict[str, Any]:
    return {"tickets": list(tickets(count, seed))}


def tickets(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """The synthetic tickets, one at a time."""
    rng = random.Random(seed)
    weights = [w for _, w in PRIORITIES]
    for i in range(count):
        created = START + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        at = created
        history: list[dict[str, Any]] = [
            {"at": _t(at), "kind": "status", "actor": "customer", "value": "new"},
            {"at": _t(at), "kind": "comment", "actor": "customer", "text": "It is broken"},
        ]
        status = "new"
        for _ in range(rng.randrange(2, 28)):
            at += timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
            if at > created + timedelta(days=30):
                break
            roll = rng.random()
            if roll < 0.45:
                actor = rng.choice(["agent", "customer"])
                history.append({"at": _t(at), "kind": "comment", "actor": actor, "text": "..."})
            elif roll < 0.9:
                status = rng.choice(["open", "pending", "open", "hold"] if status != "solved"
                                    else ["open"])  # fmt: skip
                history.append({"at": _t(at), "kind": "status", "actor": "agent", "value": status})
            else:
                group = rng.choice(["Support L1", "Billing Specialists"])
                history.append({"at": _t(at), "kind": "group", "actor": "agent", "value": group})
        if rng.random() < 0.3:
            at += timedelta(hours=rng.randrange(1, 48))
            history.append({"at": _t(at), "kind": "status", "actor": "agent", "value": "solved"})
            status = "solved"
        priority = rng.choices([p for p, _ in PRIORITIES], weights)[0]
        yield (
            {
                "id": f"B{i}",
                "instance": "zendesk-prod",
                "platform": "zendesk",
                "title": f"Synthetic {i}",
                "status": status,
                "priority": priority,
                "group": "Support L1",
                "requester": {"id": "501", "name": "Alex", "email": "alex@shop.example"},
                "created_at": _t(created),
                "history": history,
            }
        )


def _t(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def child(count: int, seed: int, lines: bool, jobs: int) -> dict[str, Any]:
    """In a fresh process: write the export (a JSON file, or JSON Lines), run the CLI, measure."""
    from connector.cli import main  # noqa: PLC0415 (after the fork: nothing loaded before)

    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path = Path(tmp) / ("export.jsonl" if lines else "export.json")
        with path.open("w", encoding="utf-8") as sink:
            if lines:  # written a ticket at a time, so that the export is not held either
                for ticket in tickets(count, seed):
                    sink.write(json.dumps(ticket) + "\n")
            else:
                sink.write(json.dumps(export(count, seed)))
        size = path.stat().st_size
        out = Path(tmp) / "out.json"
        argv = ["backtest", "-c", str(ROOT / "config.example.yaml"), "--tickets", str(path),
                "--until", "2026-12-01T00:00:00Z", "--format", "json"]  # fmt: skip
        argv += ["--jobs", str(jobs)]
        started = time.perf_counter()
        with out.open("w") as sink:
            saved, sys.stdout = sys.stdout, sink
            try:
                main(argv)
            except SystemExit as exc:
                if exc.code:
                    raise
            finally:
                sys.stdout = saved
        wall = time.perf_counter() - started
        # the high-water mark now, before reading the output back (that is not the command's)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        # the largest worker process of --jobs (they have ended by now), 0 without workers
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(out.read_text())["summary"]
    return {
        "tickets": count,
        "export_mib": round(size / 2**20, 1),
        "wall_s": round(wall, 2),
        "changes": sum(summary["by_rule"].values()),
        "escalations": summary["escalations"],
        "peak_rss_mib": round(rss, 0),
        "worker_rss_mib": round(workers, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jsonl", action="store_true", help="export as JSON Lines (streamed)")
    parser.add_argument("--jobs", type=int, default=1, help="escalate backtest --jobs")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.seed, args.jsonl, args.jobs)))
        return
    shape = "JSON Lines" if args.jsonl else "one JSON document"
    head = f"cpus {os.cpu_count()}, python {sys.version.split()[0]}, {shape}, jobs {args.jobs}"
    print(f"# bench_backtest: {head}")
    print("| tickets | export MiB | wall s | changes | escalations | peak RSS MiB | worker MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for _ in range(args.repeat):
        for count in args.counts:
            cmd = [sys.executable, __file__, "--child", str(count), "--seed", str(args.seed)]
            cmd += ["--jsonl"] if args.jsonl else []
            cmd += ["--jobs", str(args.jobs)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"| {r['tickets']:,} | {r['export_mib']} | {r['wall_s']} | {r['changes']:,} |"
                f" {r['escalations']:,} | {r['peak_rss_mib']:.0f} | {r['worker_rss_mib']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
