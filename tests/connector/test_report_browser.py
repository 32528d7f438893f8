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

from tests.connector.platforms import NOW, Platforms, platforms
from tests.connector.test_report import HOUR, history, with_sla

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
    # Offline: the counts are drawn, the rates are not (no population): said, not drawn as 0.
    labels = chart_labels(page)
    assert labels[0].startswith("Tickets escalated per day")
    assert "Escalation rate by team" not in labels
    assert page.locator("p.empty", has_text="Escalation rate by team").count() == 1
    # Levels chart: L2 entered twice, L3 once: the L2 bar is twice as long as L3's.
    levels = page.locator('svg[aria-label="Escalations into each level"] rect.bar')
    widths = [levels.nth(i).bounding_box()["width"] for i in range(levels.count())]
    assert len(widths) == 2 and widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    # SLA by priority: P1 met (100%), P2 breached (0%: an empty bar), in the scale's order.
    sla = page.locator('svg[aria-label="SLA attainment by priority"]')
    drawn = sla.text_content() or ""
    assert drawn.index("P1") < drawn.index("P2") and "100%" in drawn and "0%" in drawn
    assert page.locator("table").count() >= 7
    shot = page.screenshot(full_page=True, path=os.environ.get("ESCALATE_REPORT_SHOT"))
    assert len(shot) > 10_000  # something was painted
    page.close()


def chart_labels(page: Page) -> list[str]:
    charts = page.locator("svg.chart")
    return [charts.nth(i).get_attribute("aria-label") or "" for i in range(charts.count())]


def test_the_live_report_draws_every_chart_with_axes_and_links_to_the_tickets(
    p: Platforms, browser: Browser
) -> None:
    """A run escalates five P1s; the report, read live, draws each chart with its axis
    titles and marks, and every figure links to the tickets on their platforms."""
    p.time.now = NOW - 2 * HOUR
    zd = [p.zendesk.add_ticket(priority="urgent", group="Support L1") for _ in range(3)]
    p.zendesk.add_ticket(priority="normal", group="Support L1")
    p.p1(2, "jira")
    p.time.now = NOW
    config = with_sla(p.config())
    assert p.invoke("run", "-c", config).code == 0
    p.time.now = NOW + HOUR
    target = p.tmp / "report.html"
    assert p.invoke("report", "-c", config, "--format", "html", "--out", target).code == 0

    page, problems, requests = open_page(browser, target)
    assert problems == [] and requests == [target.as_uri()]
    wanted = {
        "Tickets escalated per day, and the escalation rate (line)": ("tickets escalated", 1),
        "SLA attainment per day": ("SLA attainment (%)", 1),
        "Escalation rate per day, by team (the 6 with most tickets)": ("escalation rate (%)", 2),
        "Escalation rate by team": ("escalation rate", 2),
        "Escalation rate by priority": ("escalation rate", 2),
        "SLA attainment by priority": ("SLA attainment (%)", 1),  # P3 still runs
        "Escalations into each level": ("escalations (count)", 1),
        "Median time in each status (per ticket)": ("hours (median per ticket)", 1),
    }
    assert sorted(chart_labels(page)) == sorted(wanted)
    for label, (axis, marks) in wanted.items():
        chart = page.locator(f'svg[aria-label="{label}"]')
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 40, label
        titles = chart.locator(".axis-title").all_text_contents()
        assert any(t.startswith(axis) for t in titles), (label, titles)
        drawn = chart.locator("rect.bar, polyline.line").count()
        assert drawn >= marks, (label, drawn)
    columns = page.locator('svg[aria-label^="Tickets escalated per day"]')
    assert columns.locator(".axis-title").all_text_contents()[-1] == "escalation rate (%)"
    assert columns.locator("polyline.line").count() == 1  # the rate, on its own axis
    # The definition is stated on the page.
    assert "tickets open at some time in the period" in page.locator("p.definition").inner_text()
    # Links: every escalated ticket, to its page on its platform; bars to their rows.
    hrefs = page.locator("a.t").evaluate_all("els => els.map(e => e.href)")
    for tid in zd:
        assert f"{p.urls['zendesk']}/agent/tickets/{tid}" in hrefs
    assert any(h.startswith(f"{p.urls['jira']}/browse/") for h in hrefs)
    bar = page.locator('svg[aria-label="Escalation rate by team"] a').first
    anchor = bar.get_attribute("href") or ""
    assert anchor.startswith("#team-") and page.locator(anchor).count() == 1
    page.screenshot(full_page=True, path=os.environ.get("ESCALATE_REPORT_LIVE_SHOT"))
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
