"""The backtest's notices per channel: the JSON figures, and the page's "Notices" section
(drawn in a real browser in test_report_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.backtest_notices import notices_section
from tests.connector.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
EXPORT = str(ROOT / "connector" / "samples" / "backtest.json")
HOUR = 3600.0


def with_channels(path: Path, calendar: bool, oncall: bool) -> Path:
    """The example with a chat channel for L2 and its idle reminders (with the office
    calendar, or none), and with `oncall` a PagerDuty channel for L3 (never reached)."""
    doc = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    chat: dict[str, Any] = {"type": "slack", "url": {"env": "L2_CHAT"}}
    if calendar:
        chat["calendar"] = "berlin-office"
    channels: dict[str, Any] = {"l2-chat": chat}
    if oncall:
        channels["oncall"] = {"type": "pagerduty", "routing_key": {"env": "PD_KEY"}}
    doc["notify"] = {"channels": channels}
    for level in doc["levels"]:
        if level["name"] == "L2":
            level["notify"] = ["l2-chat"]
        if level["name"] == "L3" and oncall:
            level["notify"] = ["oncall"]
    [idle] = [r for r in doc["rules"] if r["name"] == "idle-reminder"]
    idle["then"]["notify"] = ["l2-chat"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_the_json_counts_each_channels_notices_and_waits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Three tickets escalated to L2 and reminded three times each: twelve notices, five of
    them outside the office hours (Berlin, Mon-Fri 08:00-18:00): 57 h (Friday 23:00 to
    Monday 08:00), 49 h (Saturday 07:00), 12 h (Monday 28 Dec 20:00 to Tuesday 08:00), 4 h
    (Tuesday 04:00) and 8 h (Wednesday 1 Apr 00:00 CEST)."""
    config = with_channels(tmp_path / "c.yaml", calendar=True, oncall=True)
    argv = ("--tickets", EXPORT, "--until", "2026-12-31T00:00:00Z", "--format", "json")
    code, out, err = run(capsys, "backtest", "-c", str(config), *argv)
    assert code == 0, err
    notices = json.loads(out)["summary"]["notices"]
    waits = [57 * HOUR, 49 * HOUR, 12 * HOUR, 4 * HOUR, 8 * HOUR]
    assert notices["channels"] == {
        "l2-chat": {
            "notices": 12,
            "deferred": 5,
            "deferred_seconds": {"mean": sum(waits) / 5, "max": 57 * HOUR},
        }
    }
    assert notices["by_channel"] == {"l2-chat": 12} and notices["deferred"] == 5


def test_the_text_says_where_notices_waited_when_there_are_several_channels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = with_channels(tmp_path / "c.yaml", calendar=True, oncall=False)
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["notify"]["channels"]["team-teams"] = {"type": "teams", "url": {"env": "TEAMS"}}
    [l2] = [level for level in doc["levels"] if level["name"] == "L2"]
    l2["notify"] = ["l2-chat", "team-teams"]  # at once: no calendar
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    argv = ("--tickets", EXPORT, "--until", "2026-12-31T00:00:00Z")
    code, out, err = run(capsys, "backtest", "-c", str(config), *argv)
    assert code == 0, err
    assert (
        "  notices by channel: l2-chat 12, team-teams 3; deferred 5 (mean 1 d 2 h, max 2 d 9 h)\n"
        "    deferred on l2-chat: 5 (mean 1 d 2 h, max 2 d 9 h)\n"
    ) in out


def summary(by_channel: dict[str, int]) -> dict[str, Any]:
    none = {"mean": None, "max": None}
    return {
        "notices": {
            "by_channel": by_channel,
            "deferred": 0,
            "deferred_seconds": none,
            "channels": {
                name: {"notices": n, "deferred": 0, "deferred_seconds": none}
                for name, n in by_channel.items()
            },
        }
    }


def test_no_channel_no_section() -> None:
    assert notices_section([summary({})], [()]) == []
    assert notices_section([summary({}), summary({})], [(), ()]) == []


def test_one_policy_gets_one_group_of_columns_and_names_are_escaped() -> None:
    page = "".join(notices_section([summary({"<b>x</b>": 2})], [("<b>x</b>", "quiet")]))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "--compare" not in page and "colspan" not in page
    assert "<th scope='row'>quiet</th><td class='n g'>0</td>" in page  # configured, unused
    assert "all channels" in page
    assert "“-”: nothing waited." in page  # one policy has all its channels
