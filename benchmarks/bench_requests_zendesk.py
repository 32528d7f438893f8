"""Benchmark: requests the Zendesk adapter sends for N open tickets and E changes.

    .venv/bin/python benchmarks/bench_requests_zendesk.py [--counts 500 5000 50000]
        [--changes 10 200] [--history none summary events]

Budget (issue 3; DESIGN.md section 6): reads are ceil(N / 1000) search export pages plus a
constant (OAuth token, users/me, ticket fields, groups; assignee look-ups are bounded by the
account's agents), whatever the rules; history "summary" adds ceil(N / 100) show_many with
metric sets, "events" adds one audits page per ticket a history rule could fire on; writes are
one PUT per change plus one for its public reply (E <= 50), or ceil(E / 100) update_many jobs
for the changes and as many for the replies, polled together (E > 50): one show_many a round
for up to `jobs_in_flight` (10) jobs, and the emulator finishes a job at its first poll.

The adapter runs against the in-process emulator (emulators/zendesk/) through
`responses`: no network, no sleeping. Counts come from the emulator's request log (every request
that reached "Zendesk"); the adapter's own RequestStats must agree, and the script fails if they
do not or if a budget is broken. The policy is the contract policy (P1 -> escalate to L2, with a
note and a reply), with history-reading variants (`reopens`, `customer_replies`).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import responses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.engine import evaluate_ticket
from rules.needs import needs
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.zendesk_harness import NOW, ZendeskHarness

POLICIES = {
    "none": CONTRACT_POLICY,
    "summary": CONTRACT_POLICY.replace(
        "when: {priority: P1}", "when: {any: [{priority: P1}, {reopens: {at_least: 2}}]}"
    ),
    # Only P1 tickets can fire: events are read for those alone.
    "events": CONTRACT_POLICY.replace(
        "when: {priority: P1}", "when: {all: [{priority: P1}, {not: {customer_replies: 9}}]}"
    ),
}
KINDS = ("export", "setup", "people", "history", "PUT ticket", "update_many", "job poll")


def kind(method: str, path: str) -> str:
    if path.endswith("/search/export"):
        return "export"
    if path.endswith(("/users/show_many", "/organizations/show_many")):
        return "people"
    if path.endswith(("/tickets/show_many", "/audits", "/comments")):
        return "history"
    if path.endswith("/update_many"):
        return "update_many"
    if "/job_statuses/" in path:
        return "job poll"
    if method == "PUT":
        return "PUT ticket"
    return "setup"  # oauth token, users/me, ticket_fields, groups


def measure(n: int, e: int, history: str) -> tuple[Counter[str], float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        h = ZendeskHarness(rsps, Path(tmp))
        agents = [
            h.emulator.add_user(f"Agent {i}", f"a{i}@acme.example", "agent") for i in range(20)
        ]
        for i in range(n):
            h.emulator.add_ticket(
                priority="urgent" if i < e else "normal",
                group="Support L1",
                assignee=agents[i % len(agents)],
            )
        policy: Policy = load_policy(POLICIES[history], "bench.yaml")
        h.custom_policy = policy
        adapter = h.adapter(page_size=1000)
        now = datetime.fromtimestamp(NOW, UTC)
        started = time.perf_counter()
        changes = []
        for ticket in adapter.fetch(needs(policy), now):
            change = evaluate_ticket(policy, ticket, now).change
            if change is not None:
                changes.append(change)
        results = list(adapter.write(changes, lambda t: evaluate_ticket(policy, t, now).change))
        elapsed = time.perf_counter() - started
        assert len(results) == e and all(r.status.value == "applied" for r in results), results
        counts = Counter(kind(m, p) for m, p in h.emulator.log)
        assert adapter.stats.total == len(h.emulator.log), "stats disagree with the log"
        return counts, elapsed


def expected(n: int, e: int, history: str) -> Counter[str]:
    out: Counter[str] = Counter(export=math.ceil(n / 1000), setup=4, people=1)
    if history != "none":
        out["history"] = math.ceil(n / 100)
    if history == "events":
        out["history"] += e  # one audits page per P1 ticket
    if e <= 50:
        out["PUT ticket"] = 2 * e  # the change, then its public reply
    else:
        jobs = math.ceil(e / 100)  # for the changes, and as many for the replies
        out["update_many"] = 2 * jobs
        out["job poll"] = 2 * math.ceil(jobs / 10)  # one show_many per 10 jobs in flight
        # Each reply job is a safe update on the updated_at its change left: re-read first,
        # 100 tickets a tickets/show_many (counted with the history reads, the same endpoint).
        out["history"] += jobs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 5000, 50000])
    parser.add_argument("--changes", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--history", nargs="+", default=["none", "summary", "events"])
    args = parser.parse_args()
    header = ["N", "E", "history", *KINDS, "reads", "writes", "total", "seconds"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    failures = []
    for n in args.counts:
        for e in args.changes:
            for history in args.history:
                counts, elapsed = measure(n, e, history)
                want = expected(n, e, history)
                if +counts != +want:
                    failures.append(f"N={n} E={e} {history}: got {dict(counts)}, want {dict(want)}")
                reads = sum(counts[k] for k in ("export", "setup", "people", "history"))
                writes = sum(counts[k] for k in ("PUT ticket", "update_many", "job poll"))
                row = [n, e, history, *(counts[k] for k in KINDS), reads, writes]
                print(
                    "| "
                    + " | ".join(map(str, row))
                    + f" | {sum(counts.values())} | {elapsed:.1f} |"
                )
    if failures:
        sys.exit("budget broken:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
