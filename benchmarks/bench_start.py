"""How long `escalate` takes to start: `--version`, `--help` and `validate` on the example config,
each in a fresh interpreter, as cron starts it.

    python benchmarks/bench_start.py                         # this checkout, 5 runs each
    python benchmarks/bench_start.py --compare ../old-checkout --runs 9

Reports per command the median wall and CPU seconds of the child processes and how many modules
it imported (whether it loaded pydantic and a platform client library). With `--compare`, the
other checkout's runs alternate with this one's (A B A B ...), and the ratio is taken pair by
pair, so a machine that speeds up or slows down during the run does not skew it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "--version": ["--version"],
    "--help": ["--help"],
    "validate": ["validate", "-c", "config.example.yaml"],
}
PROBE = """
import json, sys
from connector.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
names = {m.split(".")[0] for m in sys.modules}
print(json.dumps({"modules": len(sys.modules), "heavy": sorted(names & HEAVY)}), file=sys.stderr)
""".replace("HEAVY", repr({"pydantic", "zenpy", "jira", "requests", "structlog"}))


def once(checkout: Path, args: list[str]) -> tuple[float, float, dict[str, object]]:
    """(wall seconds, CPU seconds, what it imported) of one fresh `escalate ARGS`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=checkout,
        env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout, run in turn with this one")
    args = parser.parse_args()
    for name, argv in COMMANDS.items():
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        seen: dict[str, object] = {}
        other: dict[str, object] = {}
        once(ROOT, argv)  # warm the file cache
        for _ in range(args.runs):
            wall, cpu, seen = once(ROOT, argv)
            ours.append((wall, cpu))
            if args.compare is not None:
                wall, cpu, other = once(args.compare.resolve(), argv)
                theirs.append((wall, cpu))
        wall = statistics.median(w for w, _ in ours)
        cpu = statistics.median(c for _, c in ours)
        line = f"{name:10} wall {wall:.3f}s  cpu {cpu:.3f}s  modules {seen['modules']}"
        line += f"  heavy {seen['heavy'] or '-'}"
        if theirs:
            ratio = statistics.median(a[0] / b[0] for a, b in zip(ours, theirs, strict=True))
            before = statistics.median(w for w, _ in theirs)
            line += f"  | other: wall {before:.3f}s, modules {other['modules']}; ratio {ratio:.2f}"
        print(line)


if __name__ == "__main__":
    main()
