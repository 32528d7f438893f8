"""Benchmark: what `escalate backtest --instance` costs to read N past tickets with their history.

    .venv/bin/python benchmarks/bench_past.py [--counts 1000 10000]

Each platform's emulator (in process, through `responses`: no network, no sleeping) holds N
tickets created over 30 days, each with a priority change, a status change and, for a third
of them, a solve; plus N/10 tickets solved before the window (which must not be read). The
adapter's `past(window)` reads the 30 days. Reported: tickets read, requests by kind (from the
emulator's log, which must agree with the adapter's own count), and wall time. The script
fails if a budget is broken:
- Zendesk: ceil(N / 1000) search export pages for the tickets updated in the window and
  ceil(O / 1000) for the O still open (page size 1,000), one audits page per ticket in the
  window, users/show_many per 100 requesters (each ticket has its own here) plus at most one
  author look-up per page, and a constant
  (token, users/me, ticket fields, groups);
- Jira Cloud: ceil(N / 100) search pages, ceil(N / 1000) changelog bulk fetches, a constant.
Memory is not measured here (the emulator shares the process); the reads keep at most one
search page (Zendesk, 1,000 tickets) or 1,000 issues (Jira, a bulk-fetch chunk) at a time.
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

from adapters.past import Window
from tests.adapters.jira_harness import JiraHarness
from tests.adapters.zendesk_harness import ZendeskHarness

DAY = 86400.0


def zendesk(n: int) -> tuple[int, Counter[str], float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        h = ZendeskHarness(rsps, Path(tmp))
        emu, clock = h.emulator, h.time
        start = clock.now - 40 * DAY
        for i in range(n // 10):  # solved before the window, untouched since
            clock.now = start + i * 60
            tid = emu.add_ticket(priority="normal", group="Support L1")
            emu.agent_edit(tid, {"status": "solved"})
        for i in range(n):
            clock.now = start + 10 * DAY + i * (30 * DAY / n)
            tid = emu.add_ticket(priority="normal", group="Support L1")
            clock.now += 3600
            emu.agent_edit(tid, {"priority": "high", "status": "open"})
            if i % 3 == 0:
                clock.now += 3600
                emu.agent_edit(tid, {"status": "solved"})
        clock.now = start + 40 * DAY + 3600
        adapter = h.adapter(page_size=1000)
        emu.log.clear()
        window = _window(start + 10 * DAY, clock.now)
        began = time.perf_counter()
        read = sum(1 for _ in adapter.past(window))
        seconds = time.perf_counter() - began
        assert adapter.stats.total == len(emu.log), "stats disagree with the log"
        counts = Counter(_zendesk_kind(p) for _, p in emu.log)
        return read, counts, seconds


def _zendesk_kind(path: str) -> str:
    if path.endswith("/search/export"):
        return "search"
    if path.endswith("/audits"):
        return "history"
    if path.endswith(("/users/show_many", "/organizations/show_many")):
        return "people"
    return "setup"


def jira(n: int) -> tuple[int, Counter[str], float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        h = JiraHarness("cloud", rsps, Path(tmp), page_limit=100)
        emu, clock = h.emulator, h.time
        start = clock.now - 40 * DAY
        for i in range(n // 10):
            clock.now = start + i * 60
            key = emu.create_issue("SUP", priority="Medium")
            emu.edit(key, status="Done")
        for i in range(n):
            clock.now = start + 10 * DAY + i * (30 * DAY / n)
            key = emu.create_issue("SUP", priority="Medium")
            clock.now += 3600
            emu.edit(key, priority="High", status="In Progress")
            if i % 3 == 0:
                clock.now += 3600
                emu.edit(key, status="Done")
        clock.now = start + 40 * DAY + 3600
        adapter = h.adapter(page_size=100)
        emu.log.clear()
        window = _window(start + 10 * DAY, clock.now)
        began = time.perf_counter()
        read = sum(1 for _ in adapter.past(window))
        seconds = time.perf_counter() - began
        assert adapter.client.stats.total == len(emu.log), "stats disagree with the log"
        counts = Counter(_jira_kind(r.path) for r in emu.log)
        return read, counts, seconds


def _jira_kind(path: str) -> str:
    if "/search" in path:
        return "search"
    if path.endswith(("/changelog/bulkfetch", "/comment")):
        return "history"
    return "setup"


def _window(start: float, end: float) -> Window:
    return Window(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))


def budget(platform: str, n: int, c: Counter[str]) -> list[str]:
    if platform == "zendesk":
        still_open = n - math.ceil(n / 3)  # the second query: the tickets not solved since
        want = {"search": math.ceil(n / 1000) + math.ceil(still_open / 1000), "history": n}
    else:
        want = {"search": math.ceil(n / 100), "history": math.ceil(n / 1000)}
    problems = [f"{k} {c[k]} != {v}" for k, v in want.items() if c[k] != v]
    # Every ticket has its own requester here; authors are looked up once per page at most.
    if c["people"] > math.ceil(n / 100) + c["search"]:
        problems.append(f"people {c['people']} > ceil(N / 100) + search pages")
    if c["setup"] > 8:
        problems.append(f"setup {c['setup']} > 8")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    print("| platform | N | read | search | history | people | setup | total | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    failures = []
    for n in args.counts:
        for name, fn in (("zendesk", zendesk), ("jira-cloud", jira)):
            read, c, seconds = fn(n)
            if read != n:
                failures.append(f"{name} N={n}: read {read} tickets")
            failures += [f"{name} N={n}: {p}" for p in budget(name.split("-")[0], n, c)]
            total = sum(c.values())
            print(
                f"| {name} | {n:,} | {read:,} | {c['search']} | {c['history']:,} | {c['people']}"
                f" | {c['setup']}"
                f" | {total:,} | {seconds:.1f} |"
            )
    if failures:
        sys.exit("budget broken:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
