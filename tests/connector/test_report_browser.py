"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

CI installs Chromium (`.ci/run`) and sets ESCALATE_BROWSER_TESTS=required, so there a missing
browser fails the test. Elsewhere it is skipped with the reason: install Debian's `chromium`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.connector.platforms import NOW, Platforms, platforms
from tests.connector.test_backtest_notices import with_channels
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


def many(root: Path, tmp_path: Path, copies: int) -> Path:
    """The bundled export's three tickets `copies` times over (ids P1-LADDER-0, ...), and one
    whose id is markup: it must show as text."""
    data = json.loads((root / "connector/samples/backtest.json").read_text(encoding="utf-8"))
    tickets = [{**t, "id": f"{t['id']}-{n}"} for n in range(copies) for t in data["tickets"]]
    tickets[0]["id"] = "</script><script>document.title='pwned'</script>"
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"tickets": tickets}), encoding="utf-8")
    return path


def test_the_backtest_page_puts_its_summary_first_and_pages_the_changes(
    p: Platforms, browser: Browser, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    slower = tmp_path / "slower.yaml"
    text = (root / "config.example.yaml").read_text(encoding="utf-8")
    slower.write_text(
        text.replace("age: {over: 1h, time: calendar}", "age: {over: 2h, time: calendar}")
    )
    target = tmp_path / "backtest.html"
    result = p.invoke(
        "backtest", "-c", root / "config.example.yaml", "--tickets", many(root, tmp_path, 40),
        "--until", "2026-12-31T00:00:00Z", "--compare", slower, "--format", "html",
        "--out", target,
    )  # fmt: skip
    assert result.code == 0, result.err
    page, problems, requests = open_page(browser, target)
    assert problems == [] and requests == [target.as_uri()]
    assert page.title() == "Backtest up to 2026-12-31T00:00:00Z"  # the odd id stayed text
    summary = page.locator("h2", has_text="Summary").first.bounding_box()
    changes = page.locator("h2", has_text="Changes, ticket by ticket").bounding_box()
    assert summary is not None and changes is not None and summary["y"] < changes["y"]

    # Four charts, each under a visible title, labelled, drawn, both policies side by side.
    charts = page.locator("svg.chart")
    titles = [page.locator("h3").nth(i).text_content() for i in range(4)]
    assert titles == [
        "Escalations per week (UTC)",
        "Escalations into each level",
        "Changes by rule",
        "Escalations by the team they came from",
    ]
    for i in range(4):
        chart = charts.nth(i)
        assert chart.get_attribute("aria-label") == titles[i]
        box = chart.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 60
        for series in ("0", "1"):
            drawn = chart.locator(f'rect.bar[data-series="{series}"]')
            assert drawn.count() > 0
            assert max(drawn.nth(n).bounding_box()["width"] for n in range(drawn.count())) > 0
    axis = charts.nth(0).locator("text.axis").text_content() or ""
    assert axis.startswith("week (UTC)")
    # 120 escalations into L2 each: the two bars of the level chart are as long.
    levels = charts.nth(1).locator("rect.bar")
    assert levels.count() == 2
    assert "L2: 120 escalations (this policy)" in (levels.nth(0).text_content() or "")
    assert levels.nth(0).bounding_box()["width"] == levels.nth(1).bounding_box()["width"]

    # The differences: the 40 P1s, an hour later with --compare, said in human units.
    diffs = page.locator("#differences-table tbody tr")
    assert page.locator("h2", has_text="Tickets where they differ: 40").count() == 1
    assert diffs.count() == 40
    assert diffs.nth(0).locator("td").nth(3).text_content() == "+1 h 00 min"

    # The changes: 50 tickets a page (17 changes per three tickets), then the next 50.
    box = page.locator('.pager[data-for="tickets"]')
    rows = page.locator("#tickets-table tbody tr")
    assert box.locator(".info").text_content() == "tickets 1–50 of 120 (page 1 of 3)"
    first = page.locator("#tickets-table tbody tr.first")
    assert first.count() == 50
    assert first.nth(0).locator("td").nth(0).text_content() == tickets_id_markup()
    box.locator('[data-go="1"]').click()
    assert box.locator(".info").text_content() == "tickets 51–100 of 120 (page 2 of 3)"
    box.locator("input").fill("P3-DST-39")
    assert box.locator(".info").text_content() == "tickets 1–1 of 1 (page 1 of 1)"
    assert rows.count() == 5 and rows.nth(0).locator("td").nth(0).text_content() == "P3-DST-39"
    assert rows.nth(0).locator("td").nth(3).text_content() == "L1 → L2"
    assert rows.nth(0).locator("td").nth(2).text_content() == "2026-04-01 10:00:00Z"
    assert page.locator("h2", has_text="Notices").count() == 0  # no channel: no section
    page.screenshot(full_page=True, path=os.environ.get("ESCALATE_BACKTEST_SHOT"))
    page.close()


def test_the_backtest_page_counts_the_notices_per_channel_and_their_waits(
    p: Platforms, browser: Browser, tmp_path: Path
) -> None:
    """The bundled sample: three tickets, each escalated to L2 and reminded three times, on
    a chat channel with the office calendar (Berlin, Mon-Fri 08:00-18:00): five reminders
    fall outside it and wait, 57 h (Friday 23:00 to Monday 08:00), 49 h (Saturday 07:00),
    12 h (Monday 28 Dec 20:00 to Tuesday 08:00), 4 h (Tuesday 04:00) and 8 h (Wednesday
    1 Apr 00:00 CEST): 26 h on average. The --compare policy's channel has no calendar."""
    root = Path(__file__).resolve().parents[2]
    ours = with_channels(tmp_path / "ours.yaml", calendar=True, oncall=True)
    theirs = with_channels(tmp_path / "theirs.yaml", calendar=False, oncall=False)
    target = tmp_path / "backtest.html"
    result = p.invoke(
        "backtest", "-c", ours, "--tickets", root / "connector/samples/backtest.json",
        "--until", "2026-12-31T00:00:00Z", "--compare", theirs, "--format", "html",
        "--out", target,
    )  # fmt: skip
    assert result.code == 0, result.err
    page, problems, requests = open_page(browser, target)
    assert problems == [] and requests == [target.as_uri()]
    heading = page.locator("h2", has_text="Notices")
    assert heading.count() == 1
    sla = page.locator("h2", has_text="SLA attainment").bounding_box()
    box = heading.bounding_box()
    assert sla is not None and box is not None and sla["y"] < box["y"]  # after the summary
    table = page.locator("table.notices")
    head = table.locator("thead tr").nth(1).locator("th").all_text_contents()
    assert head == 2 * ["notices", "deferred to working hours", "mean wait", "longest wait"]
    rows = table.locator("tbody tr")
    cells = [rows.nth(i).locator("th, td").all_text_contents() for i in range(rows.count())]
    assert cells == [
        ["l2-chat", "12", "5", "1 d 2 h", "2 d 9 h", "12", "0", "-", "-"],
        ["oncall", "0", "0", "-", "-", "-", "-", "-", "-"],  # not in --compare's policy
        ["all channels", "12", "5", "1 d 2 h", "2 d 9 h", "12", "0", "-", "-"],
    ]
    shot = page.locator("#notices").screenshot(
        path=os.environ.get("ESCALATE_BACKTEST_NOTICES_SHOT")
    )
    assert len(shot) > 10_000
    page.close()


def tickets_id_markup() -> str:
    return "</script><script>document.title='pwned'</script>"


def test_the_matrix_page_draws_only_the_paths_that_can_be_taken(
    p: Platforms, browser: Browser, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    target = tmp_path / "matrix.html"
    result = p.invoke(
        "matrix", "-c", root / "config.example.yaml", "--format", "html", "--out", target
    )
    assert result.code == 0, result.err
    page, problems, requests = open_page(browser, target)
    assert problems == [] and requests == [target.as_uri()]
    flow = page.locator('svg[aria-label="escalation flow"]')
    box = flow.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 500
    closing = flow.locator("polyline.closing")
    assert [closing.nth(i).get_attribute("data-from") for i in range(closing.count())] == [
        "L2", "L3", "management", "executive",
    ]  # fmt: skip
    asked = flow.locator("polyline.asked")
    assert asked.count() == 4 and asked.nth(0).get_attribute("data-to") == "L2"
    l2 = flow.locator('g.level[data-name="L2"]')
    assert "informs director.support@example.com(inform-director)" in (l2.text_content() or "")
    l1 = flow.locator('g.level[data-name="L1"]')
    assert "informs" not in (l1.text_content() or "")
    # every line of text stays inside its box
    for g in (l1, l2):
        outer = g.locator("rect").bounding_box()
        for n in range(g.locator("text").count()):
            inner = g.locator("text").nth(n).bounding_box()
            assert outer is not None and inner is not None
            assert inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            assert inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    page.close()
