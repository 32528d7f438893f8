"""Benchmark: how fast the `escalate backtest --format html` page opens in a browser.

    .venv/bin/python benchmarks/bench_backtest_page.py [--count 10000] [--loads 5] [--compare]
        [--old /path/to/an/older/checkout]

Budget (issue 20): the page of a 10k-ticket backtest opens in under 2 s (the page before it,
6 MB with 57,000 table rows, took a browser 61 s).

It writes the synthetic export of benchmarks/bench_backtest.py (JSON Lines), runs the real
command once (`escalate backtest -c config.example.yaml --tickets FILE --until
2026-12-01T00:00:00Z --format html --out PAGE`, with `--compare` the same policy with
p1-unresolved-1h at 2h), then opens the page `--loads` times in Debian's headless Chromium
(Playwright, a fresh tab each time) and reports the medians of what the browser's Navigation
Timing says: DOMContentLoaded (the page's script has drawn the first 50 tickets by then), the
load event, the first contentful paint; and the time to draw the next page of tickets and to
find one ticket by its id. `--old DIR` renders the same page with the code of another checkout
too (for the ratio; `--old-loads`, default 1, with a 300 s limit on each load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_backtest import tickets  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const p = performance.getEntriesByName("first-contentful-paint")[0];
  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, fcp: p ? p.startTime : null,
          rows: document.querySelectorAll("tbody tr").length};
}"""
NEXT = """() => {
  const t = performance.now();
  document.querySelector('.pager[data-for="tickets"] [data-go="1"]').click();
  return performance.now() - t;
}"""
FIND = """(id) => {
  const input = document.querySelector('.pager[data-for="tickets"] input');
  const t = performance.now();
  input.value = id;
  input.dispatchEvent(new Event("input"));
  return performance.now() - t;
}"""


def render(root: Path, export: Path, page: Path, compare: bool) -> None:
    """The page, by the code and the example policy of `root` (with --compare: the same policy
    with p1-unresolved-1h at 2h)."""
    config = root / "config.example.yaml"
    argv = ["backtest", "-c", str(config), "--tickets", str(export),
            "--until", "2026-12-01T00:00:00Z", "--format", "html"]  # fmt: skip
    if compare:
        slower = page.with_suffix(".slower.yaml")
        text = config.read_text(encoding="utf-8")
        slower.write_text(
            text.replace("age: {over: 1h, time: calendar}", "age: {over: 2h, time: calendar}")
        )
        argv += ["--compare", str(slower)]
    code = f"import sys; from connector.cli import main; main({argv!r})"
    with page.open("w") as sink:
        env = {**os.environ, "PYTHONPATH": str(root)}
        subprocess.run([sys.executable, "-c", code], check=True, stdout=sink, cwd=root, env=env)


def measure(browser: Browser, page_path: Path, loads: int, timeout: float) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(timeout * 1000)
        tab.goto(page_path.as_uri(), wait_until="load")
        timing = tab.evaluate(TIMING)
        if tab.locator(".pager").count():
            timing["next"] = tab.evaluate(NEXT)
            timing["find"] = tab.evaluate(FIND, "B9999")
        runs.append(timing)
        context.close()
    out: dict[str, Any] = {"rows_drawn": runs[0]["rows"]}
    for key in ("dcl", "load", "fcp", "next", "find"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(values)) if values else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--old", type=Path, help="a checkout whose page to measure too")
    parser.add_argument("--old-loads", type=int, default=1, help="loads of the older page")
    args = parser.parse_args()
    print(
        f"# bench_backtest_page: {args.count:,} tickets, {args.loads} loads, cpus {os.cpu_count()}"
    )
    print("| page | MiB | table rows drawn | DOMContentLoaded ms | load ms | first paint ms |"
          " next page ms | find ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
        export = Path(tmp) / "export.jsonl"
        with export.open("w", encoding="utf-8") as sink:
            for ticket in tickets(args.count, args.seed):
                sink.write(json.dumps(ticket) + "\n")
        compare = args.compare
        pages = [("this checkout", ROOT, 10.0, args.loads)]
        if args.old is not None:
            pages.append((f"old ({args.old})", args.old.resolve(), 300.0, args.old_loads))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            for name, root, timeout, loads in pages:
                page = Path(tmp) / f"page-{len(name)}.html"
                render(root, export, page, compare)
                r = measure(browser, page, loads, timeout)
                print(
                    f"| {name}{' --compare' if compare else ''} |"
                    f" {page.stat().st_size / 2**20:.1f} | {r['rows_drawn']:,} | {r['dcl']} |"
                    f" {r['load']} | {r['fcp']} | {r['next']} | {r['find']} |",
                    flush=True,
                )
            browser.close()


if __name__ == "__main__":
    main()
