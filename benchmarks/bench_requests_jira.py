"""Benchmark: requests the Jira adapter sends for N open issues and E changes.

    .venv/bin/python benchmarks/bench_requests_jira.py [--counts 100 1000 5000] [--changes 0 10 100]

Budget (issues 4 and 18; DESIGN.md section 6): reads are ceil(N / 100) search pages plus a
constant, whatever the rules; history comes in bulk (Cloud: one changelog/bulkfetch per 1,000
issues; Data Center: expanded in the search pages, no extra request); each change costs at most
2 write requests (one edit, one comment request for a JSM internal note); the re-reads before
writing go in bulk, one request per 100 changes (Cloud: issue/bulkfetch; Data Center: a
`key in` search), plus one editmeta per project and one GET /myself per run: at most 2.05
requests per change in all. The same run also writes the same changes the way the connector
did before issue 18 (the executor not announcing them: one GET /issue/{key} per change), in
the columns marked "before".

The adapter runs against the in-process emulator (emulators/jira/) through
`responses`: no network, no sleeping. Counts come from the emulator's request log (every
request that reached "Jira"); the adapter's own RequestStats must agree, and the script fails
if they do not or if a budget is broken. The policy is the contract policy: one rule (P1 ->
escalate to L2, note + reply), with a history-reading variant (`reopens`) for the bulk figures.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import responses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.jira import Call
from rules.engine import evaluate_ticket
from rules.needs import needs
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.jira_harness import NOW, JiraHarness

HISTORY_POLICY = CONTRACT_POLICY.replace(
    "when: {priority: P1}", "when: {any: [{priority: P1}, {reopens: {at_least: 2}}]}"
)


def kind(call: Call) -> str:
    method, path = call.method, call.path
    if method == "PUT":
        return "PUT edit"
    if method == "POST" and path.endswith("/comment"):
        return "POST comment"
    if path.endswith("/changelog/bulkfetch"):
        return "history"
    if path.endswith("/issue/bulkfetch") or "key in" in str(call.query.get("jql")):
        return "re-read"
    if "/search" in path:
        return "search"
    if path.endswith("/myself"):
        return "myself"
    if path.endswith("/editmeta"):
        return "editmeta"
    if "/issue/" in path and method == "GET" and path.endswith("/comment"):
        return "history"
    if "/issue/" in path and method == "GET":
        return "re-read"
    return "setup"


def measure(flavour: str, n: int, e: int, history: bool, *, bulk: bool = True) -> dict[str, int]:
    """Requests by kind for N issues and E changes; `bulk=False`: written without announcing
    the changes (each re-read on its own, as before issue 18)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        h = JiraHarness(flavour, rsps, Path(tmp), page_limit=100)
        h.seed(e, priority="P1")
        h.seed(n - e, priority="P3")
        policy: Policy = load_policy(HISTORY_POLICY if history else CONTRACT_POLICY, "b.yaml")
        adapter = h.adapter(policy, page_size=100)
        now = datetime.fromtimestamp(NOW, UTC)
        changes = []
        for ticket in adapter.fetch(needs(policy), now):
            change = evaluate_ticket(policy, ticket, now).change
            if change is not None:
                changes.append(change)
        if bulk:
            adapter.expect_writes(changes)
        results = list(adapter.write(changes, lambda t: evaluate_ticket(policy, t, now).change))
        assert len(results) == e and all(r.status.value == "applied" for r in results), results
        counts = Counter(kind(r) for r in h.emulator.log)
        assert adapter.client.stats.total == len(h.emulator.log), "stats disagree with the log"
        return dict(counts)


def check(flavour: str, n: int, e: int, history: bool, c: dict[str, int]) -> list[str]:
    problems = []
    pages = math.ceil(n / 100) or 1
    if c.get("search", 0) != pages:
        problems.append(f"search pages {c.get('search')} != ceil(N/100) = {pages}")
    bulk = math.ceil(n / 1000) if history and flavour == "cloud" else 0
    if c.get("history", 0) != bulk:
        problems.append(f"history requests {c.get('history', 0)} != {bulk}")
    writes = c.get("PUT edit", 0) + c.get("POST comment", 0)
    if writes > 2 * e:
        problems.append(f"{writes} write requests for {e} changes")
    if c.get("re-read", 0) != math.ceil(e / 100):
        problems.append(f"{c.get('re-read', 0)} re-reads for {e} changes")
    per = per_change(c, e)
    if per is not None and e >= 100 and per > 2.05:
        problems.append(f"{per:.3f} requests per change")
    return problems


def per_change(c: dict[str, int], e: int) -> float | None:
    """What the writes cost, per change: the edits and comments, the re-reads, the edit
    screen and our own account (read for the writes only when no history is read)."""
    if not e:
        return None
    spent = c.get("PUT edit", 0) + c.get("POST comment", 0) + c.get("re-read", 0)
    return (spent + c.get("editmeta", 0) + c.get("myself", 0)) / e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--changes", type=int, nargs="+", default=[0, 10, 100])
    args = parser.parse_args()
    columns = ["setup", "myself", "search", "history", "re-read", "editmeta", "PUT edit"]
    columns += ["POST comment"]
    head = (
        f"{'flavour':<10} {'history':<7} {'N':>6} {'E':>4} "
        + " ".join(f"{c:>12}" for c in columns)
        + f" {'total':>6} {'writes/E':>8} {'req/E':>6} {'before':>6}"
    )
    print(head)
    print("-" * len(head))
    failed = []
    for flavour in ("cloud", "dc"):
        for history in (False, True):
            for n in args.counts:
                for e in args.changes:
                    if e > n:
                        continue
                    c = measure(flavour, n, e, history)
                    old = per_change(measure(flavour, n, e, history, bulk=False), e)
                    writes = c.get("PUT edit", 0) + c.get("POST comment", 0)
                    per, now = (f"{writes / e:.2f}", per_change(c, e)) if e else ("-", None)
                    print(
                        f"{flavour:<10} {'yes' if history else 'no':<7} {n:>6} {e:>4} "
                        + " ".join(f"{c.get(k, 0):>12}" for k in columns)
                        + f" {sum(c.values()):>6} {per:>8} {_ratio(now):>6} {_ratio(old):>6}"
                    )
                    failed += [
                        f"{flavour} N={n} E={e}: {p}" for p in check(flavour, n, e, history, c)
                    ]
    if failed:
        print("\nBUDGET BROKEN:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print(
        "\nall budgets held: reads = ceil(N/100) pages + constant; <= 2 writes per change;"
        " <= 2.05 requests per change from 100 changes"
    )


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
