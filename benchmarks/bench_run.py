"""A whole `escalate run` against the sandbox, next to a naive script (`naive_writes.py`).

    .venv/bin/python benchmarks/bench_run.py            # 1k and 10k tickets, 3 repeats
    .venv/bin/python benchmarks/bench_run.py --quick    # 1k, Zendesk and Jira Cloud, once
    .venv/bin/python benchmarks/bench_run.py --counts 10000 --platforms zendesk \\
        --concurrency 4 8 --repeat 3 --json run.json

For each platform, count, concurrency and repeat, a fresh sandbox (`connector.sandbox`:
seeded emulated Zendesk / Jira Cloud / Jira Data Center, 10% of the open tickets due, every
answer delayed by `--latency` seconds) is served over loopback HTTP from this process, and the
real CLI, `escalate run -c <sandbox config> --instance X --force`, runs as a child process.
Measured: its wall time (from spawn to exit, so interpreter start-up included; split at the
`instance_evaluated` log line into fetch+evaluate and write), its peak RSS (`wait4`), and
every request the emulator answered, split into reads before the first write (the fetch),
writes, and reads after (re-reads, job polls, edit metadata).

The naive script then writes the same changes (the engine's plan, evaluated on a fresh sandbox
of the same seed) one ticket after another the way the client libraries invite; its requests
and wall time are compared with the connector's write phase (the naive script is handed the
plan, so it reads nothing to find the tickets).

With `--warm`, instead of first runs: runs on a fresh sandbox whose history cache an
`escalate plan` (which writes nothing) filled first: the same 10% due, with the
histories already read by an earlier run, as on a cron run where tickets became due by time
passing. The plan is not measured.

With `--next-share S` (default 0.05), each connector run is followed by the next cron run on
the same sandbox and state dir, after the customers of a share S of the open tickets wrote a
public comment: the steady state. On Zendesk it reads the audits of the tickets updated since
(the first run's writes and the customers' comments), not of all of them: the history cache.

`--concurrency N` sets `run.concurrency` (writes in flight) and, on Zendesk,
`history_concurrency` (audit reads in flight); the example config's value is 4. Budgets
(issue 5): at most 1.01 write requests per changed ticket on Zendesk and 2 on Jira, and the
10k run in under 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.sandbox import INSTANCES, Sandbox  # noqa: E402
from connector.sandbox.catalog import instant  # noqa: E402
from emulators.jira import JiraEmulator  # noqa: E402
from emulators.zendesk import ZendeskEmulator  # noqa: E402
from rules.engine import evaluate  # noqa: E402

WRITE_BUDGET = {"zendesk": 1.01, "jira-cloud": 2.0, "jira-dc": 2.0}
WALL_BUDGET = (10_000, 30.0)  # the 10k run, in seconds
CHILD_TIMEOUT = 1800.0


@dataclass
class Requests:
    """What the emulator answered: the fetch's reads, the writes, and the reads that serve the
    writes (re-reads, edit metadata, job polls): on Jira every read of one issue, on Zendesk
    every read after the first write."""

    fetch: int = 0
    writes: int = 0
    after: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.fetch + self.writes + self.after


@dataclass
class Measure:
    platform: str
    count: int
    concurrency: int
    kind: str  # "connector" (first run) | "warm" | "next" (the following cron run) | "naive"
    code: int
    wall: float
    rss_mib: float
    changes: int
    failed: int
    requests: Requests
    fetch_s: float = 0.0
    write_s: float = 0.0
    reported_requests: int = 0  # the connector's own count (audit `instance_finished`)
    due_after: int = -1


def is_write(platform: str, method: str, path: str) -> bool:
    if platform == "zendesk":
        return method in ("PUT", "POST", "DELETE") and path != "/oauth/tokens"
    return (method == "PUT" and "/issue/" in path) or (
        method == "POST" and path.endswith("/comment")
    )


def serves_writes(platform: str, path: str, written: bool) -> bool:
    """A read made for the writes: Jira's per-issue reads (re-read, editmeta) come before the
    first write of their thread, Zendesk's (job polls, stamps) after the first write."""
    return "/issue/" in path if platform.startswith("jira") else written


def kind_of(method: str, path: str) -> str:
    parts = [
        "{id}" if p.isdigit() or ("-" in p and p[-1:].isdigit()) else p for p in path.split("/")
    ]
    return f"{method} {'/'.join(parts)}"


def tally(platform: str, log: list[Any]) -> Requests:
    out = Requests()
    written = False
    for entry in log:
        method, path = (
            (entry[0], entry[1]) if isinstance(entry, tuple) else (entry.method, entry.path)
        )
        path = path.removesuffix(".json")
        if is_write(platform, method, path):
            written = True
            out.writes += 1
        elif serves_writes(platform, path, written):
            out.after += 1
        else:
            out.fetch += 1
        key = kind_of(method, path)
        out.kinds[key] = out.kinds.get(key, 0) + 1
    return out


#: Spawns the measured command from a small process, and writes down its peak RSS. Spawned
#: straight from this process (large: it holds the sandbox), the command's `ru_maxrss` would
#: count this process's pages, which Linux carries over `exec`.
LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def child(cmd: list[str], cwd: Path, out: Path, err: Path) -> tuple[int, float, float, float]:
    """Run `cmd`; (exit code, seconds, epoch at spawn, peak RSS of `cmd` in MiB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
    env["PYTHONPATH"] = str(ROOT)
    peak = out.with_suffix(".rss")
    with out.open("w") as stdout, err.open("w") as stderr:
        spawned, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(peak), *cmd],
            cwd=cwd,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        killer = threading.Timer(CHILD_TIMEOUT, lambda: os.killpg(proc.pid, 9))
        killer.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        killer.cancel()
    rss = int(peak.read_text()) / 1024 if peak.exists() else 0.0  # KiB on Linux
    return code, seconds, spawned, rss


def bench_config(
    box: Sandbox,
    platform: str,
    concurrency: int,
    settings: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> Path:
    doc = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    if state:
        doc["state"] = state
    instance = INSTANCES[platform]
    if platform == "zendesk":
        doc["instances"][instance]["history_concurrency"] = min(concurrency, 10)
    doc["instances"][instance].update(settings)
    doc["run"] = {**(doc.get("run") or {}), "concurrency": concurrency, "state_dir": "state"}
    path = box.directory / "bench.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def log_time(stderr: Path, event: str) -> float | None:
    for line in stderr.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            stamp = json.loads(line).get("timestamp")
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return None


def run_connector(
    args: argparse.Namespace,
    platform: str,
    count: int,
    conc: int,
    *,
    warm: bool = False,
    state: dict[str, Any] | None = None,
) -> list[Measure]:
    """The first run on a fresh sandbox (`warm`: after a plan), then (with --next-share) the
    next cron run."""
    out: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        box = Sandbox(Path(tmp), tickets=count, seed=args.seed, latency=args.latency,
                      platforms=[platform], due_share=0.10)  # fmt: skip
        with box:
            config = bench_config(box, platform, conc, args.settings.get(platform, {}), state)
            if warm:
                plan = [sys.executable, "-m", "connector.cli", "plan", "-c", str(config)]
                stdout, stderr = box.directory / "plan.out", box.directory / "plan.err"
                child([*plan, "--instance", INSTANCES[platform]], box.directory, stdout, stderr)
                out.append(one_run(box, platform, config, conc, "warm"))
                return out
            out.append(one_run(box, platform, config, conc, "connector"))
            if args.next_share > 0:
                customers_write(box, platform, args.next_share)
                out.append(one_run(box, platform, config, conc, "next"))
    return out


def one_run(box: Sandbox, platform: str, config: Path, conc: int, kind: str) -> Measure:
    instance = INSTANCES[platform]
    log = box.emulators[instance].log
    start = len(log)
    out, err = box.directory / f"{kind}.out.txt", box.directory / f"{kind}.err.jsonl"
    cmd = [sys.executable, "-m", "connector.cli", "run", "-c", str(config)]
    code, wall, spawned, rss = child([*cmd, "--instance", instance, "--force"],
                                     box.directory, out, err)  # fmt: skip
    requests = tally(platform, log[start:])
    finished = _finished(box.directory / "state" / "audit.jsonl")
    evaluated = log_time(err, "instance_evaluated")
    assert box.policy is not None
    now = instant(time.time())
    due_after = sum(
        1 for o in evaluate(box.policy, box.tickets(instance), now) if o.change is not None
    )
    fetch_s = (evaluated - spawned) if evaluated else 0.0
    if code != 0:
        print(f"  ! {platform} {kind}: exit {code}: {out.read_text()[-500:]}", file=sys.stderr)
    return Measure(
        platform, box.count, conc, kind, code, wall, rss,
        changes=int(finished.get("changes", 0)), failed=int(finished.get("failed", 0)),
        requests=requests, fetch_s=fetch_s, write_s=wall - fetch_s if evaluated else 0.0,
        reported_requests=int(finished.get("requests", 0)), due_after=due_after,
    )  # fmt: skip


def customers_write(box: Sandbox, platform: str, share: float) -> None:
    """The customers of every 1/share-th open ticket write a public comment (between runs: no
    request is in flight)."""
    instance = INSTANCES[platform]
    ids = box.ticket_ids[instance]
    step = max(1, round(1 / share))
    emu = box.emulators[instance]
    for tid in ids[::step]:
        if isinstance(emu, ZendeskEmulator):
            requester = emu.tickets[int(tid)]["requester_id"]
            edit = {"comment": {"body": "Any news?", "public": True}}
            emu.agent_edit(int(tid), edit, author=requester)
        else:
            assert isinstance(emu, JiraEmulator)
            emu.add_comment(tid, "Any news?")


def _finished(audit: Path) -> dict[str, Any]:
    if not audit.exists():
        return {}
    lines = [json.loads(x) for x in audit.read_text(encoding="utf-8").splitlines() if x]
    return next((x for x in reversed(lines) if x.get("event") == "instance_finished"), {})


def run_naive(args: argparse.Namespace, platform: str, count: int) -> Measure:
    instance = INSTANCES[platform]
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        box = Sandbox(Path(tmp), tickets=count, seed=args.seed, latency=args.latency,
                      platforms=[platform], due_share=0.10)  # fmt: skip
        with box:
            assert box.policy is not None
            outcomes = evaluate(box.policy, box.tickets(instance), instant(time.time()))
            changes = [o.change.to_json() for o in outcomes if o.change is not None]
            plan = box.directory / "plan.json"
            plan.write_text(json.dumps(changes), encoding="utf-8")
            before = len(box.emulators[instance].log)
            out, err = box.directory / "out.txt", box.directory / "err.txt"
            script = str(ROOT / "benchmarks" / "naive_writes.py")
            cmd = [sys.executable, script, platform, str(box.config_path), instance, str(plan)]
            code, wall, _, rss = child(cmd, box.directory, out, err)
            requests = tally(platform, box.emulators[instance].log[before:])
        try:
            report = json.loads(out.read_text().strip().splitlines()[-1])
        except (IndexError, ValueError):
            report = {"seconds": 0.0, "changes": len(changes), "failed": ["no report"]}
            print(f"  ! naive {platform}: {err.read_text()[-800:]}", file=sys.stderr)
    for problem in report["failed"][:3]:
        print(f"  ! naive {platform} {count}: {problem}", file=sys.stderr)
    return Measure(
        platform, count, 1, "naive", code, wall, rss, changes=int(report["changes"]),
        failed=len(report["failed"]), requests=requests, write_s=float(report["seconds"]),
    )  # fmt: skip


# --- reporting ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summary(runs: list[Measure], naive: list[Measure]) -> dict[str, Any]:
    first = runs[0]
    n, changes = first.count, max(1, first.changes)
    r = first.requests
    write_phase = r.writes + r.after
    out: dict[str, Any] = {
        "run": {"connector": "first"}.get(first.kind, first.kind),
        "platform": first.platform,
        "count": n,
        "concurrency": first.concurrency,
        "repeats": len(runs),
        "changes": first.changes,
        "failed": max(m.failed for m in runs),
        "due_after": max(m.due_after for m in runs),
        "wall": median([m.wall for m in runs]),
        "wall_range": (min(m.wall for m in runs), max(m.wall for m in runs)),
        "fetch_s": median([m.fetch_s for m in runs]),
        "write_s": median([m.write_s for m in runs]),
        "rss_mib": median([m.rss_mib for m in runs]),
        "writes_per_change": r.writes / changes,
        "requests_per_change": r.total / changes,
        "write_phase_per_change": write_phase / changes,
        "reads_per_1000": 1000 * r.fetch / n,
        "requests": r.total,
        "reported_requests": first.reported_requests,
        "kinds": r.kinds,
        "stable_requests": len({m.requests.total for m in runs}) == 1,
    }
    if naive:
        nv = naive[0]
        nchanges = max(1, nv.changes)
        naive_wall = median([m.write_s for m in naive])
        out["naive"] = {
            "changes": nv.changes,
            "failed": nv.failed,
            "requests": nv.requests.total,
            "writes_per_change": nv.requests.writes / nchanges,
            "requests_per_change": nv.requests.total / nchanges,
            "wall": naive_wall,
            "process_wall": median([m.wall for m in naive]),
            "rss_mib": median([m.rss_mib for m in naive]),
            "kinds": nv.requests.kinds,
        }
        out["ratio_requests"] = (nv.requests.total / nchanges) / max(1e-9, write_phase / changes)
        out["ratio_wall"] = naive_wall / max(1e-9, out["write_s"])
    budget = WRITE_BUDGET[first.platform]
    out["write_budget"] = "met" if out["writes_per_change"] <= budget else "NOT met"
    if first.kind == "next":  # a handful of changes, below batch_threshold: not the budget's case
        out["write_budget"] = "n/a"
    if n == WALL_BUDGET[0]:
        out["wall_budget"] = "met" if out["wall"] < WALL_BUDGET[1] else "NOT met"
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        "| platform | run | tickets | conc | changes | wall s (median) | fetch s | write s"
        " | writes/change | requests/change | reads/1k tickets | peak RSS MiB"
        " | naive req/change | naive wall s | ratio req | ratio wall |"
    )
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    for s in rows:
        nv = s.get("naive") or {}
        print(
            f"| {s['platform']} | {s['run']} | {s['count']:,} | {s['concurrency']} |"
            f" {s['changes']} |"
            f" {s['wall']:.1f} ({s['wall_range'][0]:.1f}–{s['wall_range'][1]:.1f}) |"
            f" {s['fetch_s']:.1f} | {s['write_s']:.1f} | {s['writes_per_change']:.3f} |"
            f" {s['requests_per_change']:.2f} ({s['write_phase_per_change']:.2f} writing) |"
            f" {s['reads_per_1000']:.1f} | {s['rss_mib']:.0f} |"
            f" {nv.get('requests_per_change', 0):.2f} | {nv.get('wall', 0):.1f} |"
            f" {s.get('ratio_requests', 0):.1f}× | {s.get('ratio_wall', 0):.1f}× |"
        )
    for s in rows:
        extra = f"; 10k wall {s['wall_budget']}" if "wall_budget" in s else ""
        print(
            f"- {s['platform']} {s['run']} {s['count']:,} c{s['concurrency']}: writes budget"
            f" {s['write_budget']}{extra}; failed {s['failed']}, still due after {s['due_after']},"
            f" requests {s['requests']} (connector counted {s['reported_requests']}),"
            f" same in every repeat: {s['stable_requests']}"
        )


def report(path: Path) -> None:
    """The tables again, from the measurements a run saved (with today's phase split)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    runs: list[Measure] = []
    for item in saved["runs"]:
        requests = Requests(**item.pop("requests"))
        if item["platform"].startswith("jira"):  # the split needs no order on Jira
            reads = [(k, n) for k, n in requests.kinds.items() if not is_write(
                item["platform"], *k.split(" ", 1))]  # fmt: skip
            requests.after = sum(n for k, n in reads if "/issue/" in k)
            requests.fetch = sum(n for _, n in reads) - requests.after
        runs.append(Measure(**item, requests=requests))
    print(f"# {saved['machine']}")
    rows = []
    groups: dict[tuple[str, int], list[Measure]] = {}
    for m in runs:
        groups.setdefault((m.platform, m.count), []).append(m)
    for measures in groups.values():
        naive = [m for m in measures if m.kind == "naive"]
        for conc in sorted({m.concurrency for m in measures if m.kind == "connector"}):
            for kind in ("connector", "warm", "next"):
                same = [m for m in measures if m.kind == kind and m.concurrency == conc]
                if same:
                    rows.append(summary(same, naive if kind == "connector" else []))
    print_table(rows)


def machine() -> dict[str, Any]:
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], check=False, cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": [p for p in dirty if p.startswith(("adapters/", "connector/", "rules/"))],
        "cpus": os.cpu_count(),
        "python": host.python_version(),
        "load": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k tickets, one repeat")
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--platforms", nargs="+", choices=INSTANCES, help="default: all three")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-repeat", type=int, default=1)
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument(
        "--warm", action="store_true", help="runs whose history cache a plan filled first"
    )
    parser.add_argument(
        "--next-share",
        type=float,
        default=0.05,
        help="after each run, the next cron run once the customers of this share of the"
        " tickets wrote (0: none)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="PLATFORM:KEY=VALUE",
        help="an instance setting for the connector's runs (YAML value), e.g."
        " zendesk:job_poll_seconds=0.1",
    )
    parser.add_argument(
        "--state",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="where the runs keep state; postgresql starts a local cluster (Debian's"
        " postgresql); both alternates them in each repeat (the ratio of the same run)",
    )
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--report", type=Path, help="print the tables of a saved --json, only")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    args.settings = {}
    for item in args.setting:
        where, _, pair = item.partition(":")
        key, _, value = pair.partition("=")
        args.settings.setdefault(where, {})[key] = yaml.safe_load(value)
    if args.quick:  # Jira Data Center runs like Cloud: left out unless asked for
        args.counts, args.repeat = [1000], 1
        args.platforms = args.platforms or ["zendesk", "jira-cloud"]
    args.platforms = args.platforms or list(INSTANCES)
    info = machine()
    print(f"# bench_run: {info}; latency {args.latency * 1000:.0f} ms, seed {args.seed}")
    with contextlib.ExitStack() as stack:
        stores = state_stores(args.state, stack)
        _measure(args, info, stores)


def state_stores(which: str, stack: contextlib.ExitStack) -> dict[str, dict[str, Any] | None]:
    """The `state:` sections to run with: none (the state directory) and/or a local cluster."""
    stores: dict[str, dict[str, Any] | None] = {}
    if which in ("sqlite", "both"):
        stores["sqlite"] = None
    if which in ("postgresql", "both"):
        from tests.store.pg import start  # noqa: PLC0415 (the test suite's cluster)

        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pg-")))
        server = next(stack.enter_context(contextlib.closing(start(base / "pg"))))
        secret = base / "pw"
        secret.write_text(server.password)
        stores["postgresql"] = {"url": server.url, "password": {"file": str(secret)}}
    return stores


def _measure(
    args: argparse.Namespace, info: dict[str, Any], stores: dict[str, dict[str, Any] | None]
) -> None:
    rows: list[dict[str, Any]] = []
    raw: list[Measure] = []
    for count in args.counts:
        for platform in args.platforms:
            naive = []
            if not args.no_naive:
                for _ in range(args.naive_repeat):
                    naive.append(run_naive(args, platform, count))
                    print(f"  naive {platform} {count}: {naive[-1].write_s:.1f}s", flush=True)
            for conc in args.concurrency:
                runs: list[Measure] = []
                for _ in range(args.repeat):
                    for name, state in stores.items():
                        measured = run_connector(
                            args, platform, count, conc, warm=args.warm, state=state
                        )
                        for m in measured:
                            m.kind = f"{m.kind}+pg" if name == "postgresql" else m.kind
                        walls = " then ".join(f"{m.kind} {m.wall:.1f}s" for m in measured)
                        print(f"  {platform} {count} c{conc} {name}: {walls}", flush=True)
                        runs += measured
                if not args.warm:
                    rows.append(summary([m for m in runs if m.kind == "connector"], naive))
                if any(m.kind == "connector+pg" for m in runs):
                    rows.append(summary([m for m in runs if m.kind == "connector+pg"], []))
                for kind in ("warm", "next", "warm+pg", "next+pg"):
                    if any(m.kind == kind for m in runs):
                        rows.append(summary([m for m in runs if m.kind == kind], []))
                raw += runs
            raw += naive
    info["load_end"] = os.getloadavg()
    print()
    print_table(rows)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "rows": rows, "runs": [asdict(m) for m in raw]}, indent=1),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
