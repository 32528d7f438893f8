"""What the owed-comment journal (adapters/owed.py) costs a write: one entry recorded before the
first request and removed after the second, per change with two comments, each its own SQLite
commit (the worst case: Jira, or Zendesk below the batch threshold), plus the look for what
earlier runs owed on the ticket that every write that went in does.

    .venv/bin/python benchmarks/bench_owed.py [--changes 1000] [--repeat 5]

Prints the median wall time per change (and the range), measured in this process on a file in
a temporary directory (the state directory's disk). Compare with the write requests it guards:
one platform round trip is tens of milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.owed import Journal, Owed, journal_path

BODY = {"comment": {"body": "We have passed your request to our L2 team. " * 12, "public": True}}


def one(changes: int, directory: Path) -> float:
    journal = Journal(journal_path(directory, f"bench-{time.monotonic_ns()}"), "x", time.time)
    started = time.perf_counter()
    for i in range(changes):
        item = Owed(str(i), "reply", BODY, "text", f"v1 c=0 w={i}", "42", time.time())
        journal.owe([item])
        journal.paid([item.key])
        journal.supersede(item.ticket, [item.key], "")  # what a write that went in does
    elapsed = time.perf_counter() - started
    journal.close()
    return elapsed / changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-owed-") as tmp:
        runs = [one(args.changes, Path(tmp)) for _ in range(args.repeat)]
    ms = sorted(r * 1000 for r in runs)
    print(
        f"owe + paid + supersede, {args.changes} changes x {args.repeat}: median"
        f" {statistics.median(ms):.3f} ms per change ({ms[0]:.3f}-{ms[-1]:.3f})"
    )


if __name__ == "__main__":
    main()
