"""Benchmark: evaluate synthetic tickets against config.example.yaml's policy.

    .venv/bin/python benchmarks/bench_evaluate.py [--counts 10000 100000] [--repeat 3]

Budget (issue 2, "Measure"; DESIGN.md section 6): at least 20,000 tickets/s on one core, with
peak memory flat in the number of tickets. See BENCHMARKS.md for the method and the results.

What is measured, per ticket count and repeat (counts interleaved within each repeat, so the
machine's noise hits all of them alike):

- gen: generating the tickets alone (benchmarks/synthetic.py), consumed and dropped.
- chunked (the headline figure): tickets are generated in chunks of --chunk (1,000) into a
  list, outside the timer; only `evaluate` over each chunk is timed, and the outcomes are
  folded into counters (`rules.plan.Summary`) and dropped.
- stream: `evaluate(policy, generator)` end to end, as the connector runs it; its evaluation
  time is the end-to-end time minus the same repeat's gen time (a cross-check of chunked).

Wall time (perf_counter) and CPU time (process_time) are both kept; Python runs this on one
thread, so CPU tickets/s is the one-core rate with less of the noise from other processes.

Memory runs in fresh subprocesses, one per count, so ru_maxrss (a per-process high-water mark)
is comparable: load the policy, warm up, then stream N tickets through `evaluate` keeping only
counters. One subprocess reports the tracemalloc peak (tracing started after the warm-up), a
second one, without tracemalloc, the ru_maxrss growth.

--profile N runs cProfile around `evaluate` only, for N tickets, and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from rules.engine import evaluate  # noqa: E402
from rules.model import Ticket  # noqa: E402
from rules.plan import Summary  # noqa: E402
from rules.policy import Policy, load_policy  # noqa: E402

POLICY = ROOT / "config.example.yaml"
BUDGET = 20_000  # tickets per second, one core
WARMUP_SEED = 7  # a different stream from the measured one
MiB = 1024 * 1024


# --- helpers -------------------------------------------------------------------------------------


def load() -> tuple[Policy, float]:
    t0 = time.perf_counter()
    policy = load_policy(POLICY.read_text(encoding="utf-8"), str(POLICY))
    return policy, time.perf_counter() - t0


def chunks(items: Iterable[Ticket], size: int) -> Iterator[list[Ticket]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class Counters:
    """What the benchmark keeps of the outcome stream: counts only."""

    def __init__(self) -> None:
        self.summary = Summary()
        self.fired: dict[str, int] = {}

    def add(self, outcome: Any) -> None:
        self.summary.add(outcome)
        for name in outcome.fired:
            self.fired[name] = self.fired.get(name, 0) + 1


def warm_up(policy: Policy, count: int) -> float:
    """Evaluate a throwaway stream: builds the calendars' lazy day tables, loads holidays."""
    t0 = time.perf_counter()
    for _ in evaluate(policy, synthetic.tickets(policy, count, seed=WARMUP_SEED), synthetic.NOW):
        pass
    return time.perf_counter() - t0


def run_gen(policy: Policy, count: int, seed: int) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in synthetic.tickets(policy, count, seed=seed):
        pass
    return time.perf_counter() - w0, time.process_time() - c0


def run_chunked(
    policy: Policy, count: int, seed: int, size: int, profiler: cProfile.Profile | None = None
) -> tuple[float, float, Counters]:
    counters = Counters()
    wall = cpu = 0.0
    now = synthetic.NOW
    for chunk in chunks(synthetic.tickets(policy, count, seed=seed), size):
        if profiler is not None:
            profiler.enable()
        w0, c0 = time.perf_counter(), time.process_time()
        for outcome in evaluate(policy, chunk, now):
            counters.add(outcome)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        if profiler is not None:
            profiler.disable()
    return wall, cpu, counters


def run_stream(policy: Policy, count: int, seed: int) -> tuple[float, float, Counters]:
    counters = Counters()
    w0, c0 = time.perf_counter(), time.process_time()
    for outcome in evaluate(policy, synthetic.tickets(policy, count, seed=seed), synthetic.NOW):
        counters.add(outcome)
    return time.perf_counter() - w0, time.process_time() - c0, counters


def maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def code_version() -> dict[str, Any]:
    """Which engine was measured: HEAD, uncommitted files under rules/, a hash of rules/*.py."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "rules").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    out: dict[str, Any] = {"rules_sha256": digest.hexdigest()[:12]}
    try:
        git = ["git", "--no-optional-locks", "-C", str(ROOT)]
        out["head"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            [*git, "status", "--porcelain", "--", "rules"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        out["rules_uncommitted"] = [line[3:] for line in status.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- memory probe (runs in a fresh subprocess) ---------------------------------------------------


def memory_probe(count: int, trace: bool, hold: bool, warmup: int) -> dict[str, Any]:
    policy, _ = load()
    warm_up(policy, warmup)
    gc.collect()
    rss0 = maxrss_bytes()
    if trace:
        tracemalloc.start()
    counters = Counters()
    kept: list[Any] = []
    for outcome in evaluate(policy, synthetic.tickets(policy, count), synthetic.NOW):
        counters.add(outcome)
        if hold:  # the sanity check: keep every outcome, to show the probe sees growth
            kept.append(outcome)
    result: dict[str, Any] = {
        "count": count,
        "trace": trace,
        "hold": hold,
        "evaluated": counters.summary.evaluated,
        "rss_before": rss0,
        "rss_after": maxrss_bytes(),
    }
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()  # what is still reachable, not garbage waiting for the cycle collector
        current = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result.update(traced_peak=peak, traced_current=current)
    return result


def spawn_probe(count: int, trace: bool, hold: bool, warmup: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--memory-probe", str(count), "--warmup", str(warmup)]
    if trace:
        cmd.append("--trace")
    if hold:
        cmd.append("--hold")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


# --- the benchmark -------------------------------------------------------------------------------


def bench(args: argparse.Namespace) -> dict[str, Any]:
    info = {"machine": machine(), "code": code_version(), "args": vars(args)}
    print(
        f"python {info['machine']['python']} on {info['machine']['cpu']}, "
        f"{info['machine']['cpus']} cpus, load {info['machine']['loadavg']}"
    )
    print(f"code: {info['code']}")
    policy, load_s = load()
    t0 = time.perf_counter()
    for _ in evaluate(policy, synthetic.tickets(policy, 1000, seed=WARMUP_SEED + 1), synthetic.NOW):
        pass
    cold_s = time.perf_counter() - t0
    warm_s = warm_up(policy, args.warmup)
    print(
        f"policy load {load_s * 1000:.0f} ms; first 1,000 tickets (cold) {cold_s * 1000:.0f} ms; "
        f"warm-up {args.warmup} tickets {warm_s:.2f} s"
    )

    runs: dict[int, dict[str, list[float]]] = {
        n: {
            k: []
            for k in ("gen_wall", "gen_cpu", "chunk_wall", "chunk_cpu", "stream_wall", "stream_cpu")
        }
        for n in args.counts
    }
    mix: dict[int, dict[str, Any]] = {}
    for r in range(args.repeat):
        for n in args.counts:
            row = runs[n]
            gw, gc_ = run_gen(policy, n, args.seed)
            row["gen_wall"].append(gw)
            row["gen_cpu"].append(gc_)
            cw, cc, counters = run_chunked(policy, n, args.seed, args.chunk)
            row["chunk_wall"].append(cw)
            row["chunk_cpu"].append(cc)
            line = (
                f"repeat {r + 1}/{args.repeat} n={n:>7,}: gen {n / gw:>8,.0f}/s  "
                f"evaluate (chunked) {n / cw:>8,.0f}/s wall {n / cc:>8,.0f}/s cpu"
            )
            if not args.no_stream:
                sw, sc, _ = run_stream(policy, n, args.seed)
                row["stream_wall"].append(sw)
                row["stream_cpu"].append(sc)
                line += f"  stream-minus-gen {n / max(sw - gw, 1e-9):>8,.0f}/s"
            print(line, flush=True)
            s = counters.summary
            mix[n] = {
                "evaluated": s.evaluated,
                "matched": s.matched,
                "changed": s.changed,
                "skipped": s.skipped,
                "fired_by_rule": dict(sorted(counters.fired.items())),
                "changes_by_rule": dict(sorted(s.by_rule.items())),
                "escalations_by_level": dict(sorted(s.by_level.items())),
            }

    results: dict[str, Any] = {}
    for n, row in runs.items():
        res: dict[str, Any] = {
            "gen_per_s": n / median(row["gen_wall"]),
            "chunk_wall_per_s": n / median(row["chunk_wall"]),
            "chunk_cpu_per_s": n / median(row["chunk_cpu"]),
            "chunk_wall_best_per_s": n / min(row["chunk_wall"]),
            "chunk_wall_per_s_all": [round(n / x) for x in row["chunk_wall"]],
            "chunk_cpu_per_s_all": [round(n / x) for x in row["chunk_cpu"]],
            "us_per_ticket": 1e6 * median(row["chunk_wall"]) / n,
        }
        if row["stream_wall"]:
            e2e = [s - g for s, g in zip(row["stream_wall"], row["gen_wall"], strict=True)]
            e2e_cpu = [s - g for s, g in zip(row["stream_cpu"], row["gen_cpu"], strict=True)]
            res["stream_end_to_end_per_s"] = n / median(row["stream_wall"])
            res["stream_minus_gen_wall_per_s"] = n / median(e2e)
            res["stream_minus_gen_cpu_per_s"] = n / median(e2e_cpu)
        results[str(n)] = res
    ratios = {}
    if len(args.counts) >= 2:
        small, big = args.counts[0], args.counts[-1]
        ratios = {
            f"rate_{big}_over_{small}": median(
                [
                    (big / b) / (small / s)
                    for s, b in zip(runs[small]["chunk_wall"], runs[big]["chunk_wall"], strict=True)
                ]
            ),
        }
        ratios["eval_time_over_gen_time"] = median(
            [c / g for c, g in zip(runs[big]["chunk_wall"], runs[big]["gen_wall"], strict=True)]
        )

    memory = []
    if not args.no_memory:
        for n in args.counts:
            traced = spawn_probe(n, trace=True, hold=False, warmup=args.warmup)
            plain = spawn_probe(n, trace=False, hold=False, warmup=args.warmup)
            memory.append({"count": n, "traced": traced, "plain": plain})
        if args.hold_check:
            for n in args.counts:
                memory.append({"count": n, "hold": spawn_probe(n, True, True, warmup=args.warmup)})

    out = {
        **info,
        "policy_load_s": load_s,
        "cold_first_1000_s": cold_s,
        "results": results,
        "ratios": ratios,
        "mix": mix,
        "memory": memory,
        "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    report(out)
    return out


def report(out: dict[str, Any]) -> None:
    print()
    print(
        "| tickets | evaluate tickets/s, median (wall) | median (cpu) | best (wall) | µs/ticket"
        " | stream−gen tickets/s | generator tickets/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, res in out["results"].items():
        stream = res.get("stream_minus_gen_wall_per_s")
        print(
            f"| {int(n):,} | {res['chunk_wall_per_s']:,.0f} | {res['chunk_cpu_per_s']:,.0f} "
            f"| {res['chunk_wall_best_per_s']:,.0f} | {res['us_per_ticket']:.1f} "
            f"| {f'{stream:,.0f}' if stream else '-'} | {res['gen_per_s']:,.0f} |"
        )
    for name, value in out["ratios"].items():
        print(f"{name}: {value:.3f}")
    for n, m in out["mix"].items():
        print(
            f"mix n={n:,}: changed {m['changed']} ({100 * m['changed'] / m['evaluated']:.1f}%), "
            f"a rule fired for {m['matched']} ({100 * m['matched'] / m['evaluated']:.1f}%), "
            f"skipped {m['skipped']}; "
            f"fired {m['fired_by_rule']}"
        )
    if out["memory"]:
        print()
        print("| tickets | tracemalloc peak | retained after gc | ru_maxrss growth | ru_maxrss |")
        print("|---:|---:|---:|---:|---:|")
        for m in out["memory"]:
            if "hold" in m:
                h = m["hold"]
                print(
                    f"| {m['count']:,} (holding outcomes) | {h['traced_peak'] / MiB:.2f} MiB "
                    f"| {h['traced_current'] / MiB:.2f} MiB | - | - |"
                )
                continue
            t, p = m["traced"], m["plain"]
            print(
                f"| {m['count']:,} | {t['traced_peak'] / MiB:.2f} MiB "
                f"| {t['traced_current'] / MiB:.2f} MiB "
                f"| {(p['rss_after'] - p['rss_before']) / MiB:.2f} MiB "
                f"| {p['rss_after'] / MiB:.1f} MiB |"
            )
    start, end = out["machine"]["loadavg"], out["loadavg_end"]
    print(f"\nload average at the start {start}, at the end {end}")
    rates = [res["chunk_wall_per_s"] for res in out["results"].values()]
    if rates:
        worst = min(rates)
        verdict = "MET" if worst >= BUDGET else "NOT MET"
        print(
            f"\nbudget {BUDGET:,} tickets/s on one core: {verdict} "
            f"(slowest median {worst:,.0f} tickets/s)"
        )


def profile(args: argparse.Namespace) -> None:
    policy, _ = load()
    warm_up(policy, args.warmup)
    profiler = cProfile.Profile()
    wall, _, counters = run_chunked(policy, args.profile, args.seed, args.chunk, profiler)
    print(
        f"profiled {args.profile:,} tickets, {wall:.2f} s wall under cProfile "
        f"(cProfile adds overhead), changed {counters.summary.changed}"
    )
    stats = pstats.Stats(profiler)
    if args.profile_out:
        stats.dump_stats(args.profile_out)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000, help="tickets generated per batch")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=synthetic.SEED)
    parser.add_argument("--no-stream", action="store_true", help="skip the end-to-end runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument(
        "--hold-check",
        action="store_true",
        help="also probe memory while keeping every outcome (shows the probe detects growth)",
    )
    parser.add_argument("--pin", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="N",
        help="cProfile the evaluation of N tickets instead",
    )
    parser.add_argument("--profile-out", default=None, help="save the pstats file")
    parser.add_argument("--memory-probe", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    if args.memory_probe is not None:
        print(json.dumps(memory_probe(args.memory_probe, args.trace, args.hold, args.warmup)))
        return
    if args.profile is not None:
        profile(args)
        return
    out = bench(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
