"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

CI installs Chromium (`.ci/run`) and sets ESCALATE_BROWSER_TESTS=required, so there a missing
browser fails the test. Elsewhere it is skipped with the reason: install Debian's `chromium`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.connector.platforms import Platforms, platforms
from tests.connector.test_report import history, with_sla

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def open_page(browser: Browser, target: Path) -> tuple[Page, list[str], list[str]]:
    """The page at `target`, with the console errors and warnings, page errors and requests
    it made while loading."""
    page = browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(target.as_uri())
    return page, problems, requests


@pytest.fixture
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        if os.environ.get("ESCALATE_BROWSER_TESTS") == "required":
            pytest.fail("ESCALATE_BROWSER_TESTS=required but no chromium on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield found
        finally:
            found.close()


def test_the_html_report_renders_its_charts_without_errors_or_requests(
    p: Platforms, browser: Browser
) -> None:
    log = p.tmp / "audit.jsonl"
    log.write_text("\n".join(history()) + "\n")
    target = p.tmp / "report.html"
    config = with_sla(p.config(), l3=True)
    args = ["report", "-c", config, "--no-live", "--audit", log, "--format", "html"]
    assert p.invoke(*args, "--out", target).code == 0

    page, problems, requests = open_page(browser, target)
    page.wait_for_load_state("load")

    assert problems == []
    assert requests == [target.as_uri()]  # self-contained: nothing else is fetched
    assert page.title().startswith("Escalation report: ")
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for i in range(4):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 20
    labels = [charts.nth(i).get_attribute("aria-label") for i in range(4)]
    assert labels[0].startswith("Escalations per day (UTC)")
    # Levels chart: L2 entered twice, L3 once: the L2 bar is twice as long as L3's.
    levels = page.locator('svg[aria-label="Escalations into each level"] rect.bar')
    widths = [levels.nth(i).bounding_box()["width"] for i in range(levels.count())]
    assert len(widths) == 2 and widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    # SLA by priority: P1 met (100%), P2 breached (0%: an empty bar).
    sla = page.locator('svg[aria-label="SLA attainment by priority"]')
    drawn = sla.text_content() or ""
    assert "P1" in drawn and "100.0%" in drawn and "P2" in drawn and "0.0%" in drawn
    assert page.locator("table").count() >= 8
    shot = page.screenshot(full_page=True, path=os.environ.get("ESCALATE_REPORT_SHOT"))
    assert len(shot) > 10_000  # something was painted
    page.close()


def test_the_backtest_page_puts_its_summary_first_and_loads_nothing(
    p: Platforms, browser: Browser, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    slower = tmp_path / "slower.yaml"
    text = (root / "config.example.yaml").read_text(encoding="utf-8")
    slower.write_text(
        text.replace("age: {over: 1h, time: calendar}", "age: {over: 2h, time: calendar}")
    )
    result = p.invoke(
        "backtest", "-c", root / "config.example.yaml",
        "--tickets", root / "connector/samples/backtest.json",
        "--until", "2026-12-31T00:00:00Z", "--compare", slower, "--format", "html",
    )  # fmt: skip
    assert result.code == 0, result.err
    target = tmp_path / "backtest.html"
    target.write_text(result.out)
    page, problems, requests = open_page(browser, target)
    assert problems == [] and requests == [target.as_uri()]
    summary = page.locator("h2", has_text="Summary").first.bounding_box()
    changes = page.locator("h2", has_text="Changes, ticket by ticket").bounding_box()
    assert summary is not None and changes is not None and summary["y"] < changes["y"]
    assert page.locator("svg.chart").count() == 6  # level, team, rule; for both policies
    assert page.locator("h2", has_text="Tickets where they differ: 1").count() == 1
    # 17 changes by the policy itself, one row each
    assert page.locator("section >> nth=0").locator("tr").count() == 1 + 17
    page.close()
