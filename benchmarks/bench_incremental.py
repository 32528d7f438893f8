"""Incremental runs (issue 18): what a run costs when nothing changed and nothing came due,
full sweep next to incremental, on the same emulated platform in the same process; and how
late a time-caused escalation is with incremental runs every interval.

    .venv/bin/python benchmarks/bench_incremental.py                      # 10k, 3 flavours
    .venv/bin/python benchmarks/bench_incremental.py --counts 10000 100000 --flavours zendesk cloud

For each flavour (Zendesk, Jira Cloud, Jira Data Center) and count N: N open tickets (P3, none
due for hours under the policy of tests/connector/incremental_world.py), then, ten minutes
later, a full sweep (`run --full`: it builds the due index) and, five minutes after it, an
incremental run (`run`, `run.incremental: true`), with nothing changed or due in between.
Then, five minutes later, a run as without `run.incremental` (the whole scope, no index), for
what the next instants and the index cost a full sweep.
Measured per run: requests (the emulator's log) and the connector's CPU seconds: the process's
CPU time over the run minus the time spent inside the emulator's handler (the `responses`
mock's own work stays in: an overestimate). Goal: the incremental run at most 5 requests and
0.5 s of CPU, whatever N.

Lateness: a P2 ticket escalates when it is 2 hours old (a time-caused trigger); runs every
`--interval` seconds (incremental, with a full sweep every hour). The escalation's lateness is
the time from the trigger instant to the run that wrote it; goal: within one interval.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import responses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.zendesk import ZendeskEmulator
from tests.connector.incremental_world import World


def seed(world: World, n: int) -> None:
    requester = None
    if isinstance(world.emulator, ZendeskEmulator):  # one customer: a smaller account
        requester = world.emulator.add_user("Customer", "customer@example.com")
    for _ in range(n):
        world.create("P3", requester=requester)


def measured(
    world: World, *, full: bool, incremental: bool = True
) -> tuple[int, float, Counter[str]]:
    before, cpu, emulated = len(world.requests()), time.process_time(), world.emulator_cpu
    run = world.run(full=full, incremental=incremental)
    spent = time.process_time() - cpu - (world.emulator_cpu - emulated)
    sent = world.requests()[before:]
    assert run.read_mode == ("full" if full or not incremental else "incremental"), run.read_why
    return len(sent), spent, Counter(r.split("?")[0] for r in sent)


def nothing_due(flavour: str, n: int) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        world = World(flavour, rsps, Path(tmp), index_lag="5m", full_sweep="1h")
        world.run(incremental=False)  # imports the platform's client: not a run's cost
        seed(world, n)
        world.wait(600)
        full_requests, full_cpu, _ = measured(world, full=True)
        world.wait(300)
        inc_requests, inc_cpu, kinds = measured(world, full=False)
        world.wait(300)
        _, plain_cpu, _ = measured(world, full=False, incremental=False)
        return {
            "plain_cpu": plain_cpu,
            "flavour": flavour,
            "open": n,
            "full_requests": full_requests,
            "full_cpu": full_cpu,
            "incremental_requests": inc_requests,
            "incremental_cpu": inc_cpu,
            "incremental_sent": dict(kinds),
        }


def lateness(flavour: str, interval: float, backlog: int) -> float:
    """Seconds from a P2's 2-hour mark to the run that escalated it."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        world = World(flavour, rsps, Path(tmp), index_lag="5m", full_sweep="1h")
        seed(world, backlog)
        tid = world.create("P2")
        due = world.time.now + 7200
        world.wait(137)  # the runs are not in step with the ticket's creation
        world.run()
        while True:
            world.wait(interval)
            world.run()
            if world.level(tid) == "L2":
                return world.time.now - due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000])
    parser.add_argument("--flavours", nargs="+", default=["zendesk", "cloud", "dc"])
    parser.add_argument("--interval", type=float, default=300.0)
    args = parser.parse_args()
    print(
        "| platform | open tickets | full sweep: requests | CPU s | incremental: requests"
        " | CPU s | what the incremental run sent | a run without run.incremental: CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for flavour in args.flavours:
        for n in args.counts:
            r = nothing_due(flavour, n)
            sent = ", ".join(f"{k} ×{v}" for k, v in sorted(r["incremental_sent"].items()))  # type: ignore[attr-defined]
            print(
                f"| {flavour} | {n:,} | {r['full_requests']} | {r['full_cpu']:.2f} |"
                f" {r['incremental_requests']} | {r['incremental_cpu']:.3f} | {sent} |"
                f" {r['plain_cpu']:.2f} |",
                flush=True,
            )
    print()
    print("| platform | run interval | lateness of a time-caused escalation (s) |")
    print("|---|---:|---:|")
    for flavour in args.flavours:
        late = lateness(flavour, args.interval, 200)
        print(f"| {flavour} | {args.interval:g} s | {late:.0f} |", flush=True)


if __name__ == "__main__":
    main()
