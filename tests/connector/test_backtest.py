"""`escalate backtest` on the bundled export (connector/samples/backtest.json), whose timelines
are hand-checked in tests/rules/test_replay.py, and an A/B compare of two thresholds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import rules.backtest
from connector.cli import main
from connector.commands.backtest_output import _attainment
from connector.progress import Progress
from connector.runner import Runtime
from rules.profile import sla_cells
from tests.connector.test_cli import run
from tests.connector.test_progress import Terminal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
EXPORT = str(ROOT / "connector" / "samples" / "backtest.json")


def backtest(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), "--format", "json", *argv)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def changes(doc: dict[str, Any], ticket: str) -> list[tuple[str, str, str, list[str]]]:
    (found,) = [t for t in doc["tickets"] if t["ticket"] == ticket]
    return [(c["at"], c["level"]["from"], c["level"]["to"], c["rules"]) for c in found["changes"]]


def test_the_bundled_export_gives_the_hand_checked_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = backtest(capsys, "--tickets", EXPORT, "--until", "2026-12-31T00:00:00Z")
    assert doc["note"] == "Backtest: nothing is written to any platform."
    # the ladder of test_a_p1_on_the_24x7_clock, then idle-reminder every 8h (max 3)
    assert changes(doc, "P1-LADDER") == [
        ("2026-11-20T10:00:00Z", "L1", "L2", ["p1-unresolved-1h"]),
        ("2026-11-20T12:00:00Z", "L2", "L2", ["not-acknowledged"]),
        ("2026-11-20T12:12:00Z", "L2", "L2", ["resolution-at-risk"]),
        ("2026-11-20T13:00:00Z", "L2", "L2", ["inform-director"]),
        ("2026-11-20T14:00:00Z", "L2", "L2", ["idle-reminder"]),
        ("2026-11-20T22:00:00Z", "L2", "L2", ["idle-reminder"]),
        ("2026-11-21T06:00:00Z", "L2", "L2", ["idle-reminder"]),
    ]
    # The pause and the two holidays (test_replay). L2 raises the priority to P2, so the
    # ticket moves to SLA p2 (follow-the-sun, Mon-Thu around the clock in New York): 2h
    # unacknowledged after 15:00Z is 17:00Z, and 4h at L2 (and idle) is 19:00Z.
    assert changes(doc, "P3-HOLIDAYS") == [
        ("2026-12-28T15:00:00Z", "L1", "L2", ["resolution-at-risk"]),
        ("2026-12-28T17:00:00Z", "L2", "L2", ["not-acknowledged"]),
        ("2026-12-28T19:00:00Z", "L2", "L2", ["idle-reminder"]),
        ("2026-12-29T03:00:00Z", "L2", "L2", ["idle-reminder"]),
        ("2026-12-29T11:00:00Z", "L2", "L2", ["idle-reminder"]),
    ]
    # DST: 32 business hours end Wed 1 April 12:00 Berlin = 10:00Z (CEST)
    assert changes(doc, "P3-DST")[0] == ("2026-04-01T10:00:00Z", "L1", "L2", ["resolution-at-risk"])
    summary = doc["summary"]
    assert summary["escalations"] == 3 and summary["by_level"] == {"L2": 3}
    assert summary["notes"] == 17 and summary["replies"] == 1  # only p1-unresolved-1h replies
    # (1h + 7d 6h + 5d 1h) / 3
    assert summary["mean_seconds_to_first_escalation"] == round((1 + 174 + 121) / 3 * 3600, 1)
    # every change on a 5-minute mark but 12:12 (acted on at 12:15): 180 s over 17 changes
    assert summary["lateness_seconds"] == {"mean": round(180 / 17, 1), "max": 180.0}
    # SLA at the end: the P1 was answered 10 min after creation (first response 15m: met), and
    # no ticket is solved, so every resolution target (4h, or the P2 ones the escalations
    # raise the P3s to) is long breached by 31 Dec; the P3s had no agent reply at all.
    slas = {t["ticket"]: t["sla"] for t in doc["tickets"]}
    assert slas["P1-LADDER"] == {"first_response": "met", "resolution": "breached"}
    assert (
        slas["P3-HOLIDAYS"]
        == slas["P3-DST"]
        == {
            "first_response": "breached",
            "resolution": "breached",
        }
    )
    assert summary["sla"]["first_response"] == {
        "met": 1, "breached": 2, "running": 0, "attainment": 0.3333,
    }  # fmt: skip
    assert summary["sla"]["resolution"]["attainment"] == 0.0
    assert summary["sla_by_priority"]["P1"]["attainment"] == 0.5  # grouped by the export's
    assert summary["breached_tickets"] == summary["breached_tickets_escalated"] == 3
    assert summary["by_team"] == {"Support L1": 3}  # the team each escalation came from


def test_compare_two_thresholds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The same policy with p1-unresolved-1h at 2h instead of 1h: the P1 reaches L2 an hour
    later, and what hangs on the escalation time moves with it."""
    slower = tmp_path / "slower.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count("age: {over: 1h, time: calendar}") == 1
    slower.write_text(
        text.replace("age: {over: 1h, time: calendar}", "age: {over: 2h, time: calendar}")
    )
    doc = backtest(
        capsys, "--tickets", EXPORT, "--until", "2026-11-20T13:30:00Z", "--compare", str(slower)
    )
    a, b = doc["summary"], doc["compare"]["summary"]
    # by 13:30 on 20 Nov: the P1, and the DST ticket of March (the holidays one is in December)
    assert a["escalations"] == b["escalations"] == 2
    # the P1 an hour later, the other the same: the mean of the two, half an hour later
    assert b["mean_seconds_to_first_escalation"] - a["mean_seconds_to_first_escalation"] == 1800
    assert doc["compare"]["delta"]["mean_seconds_to_first_escalation"] == 1800
    assert doc["compare"]["delta"]["escalations"] == 0
    (diff,) = doc["compare"]["differences"]
    assert diff["ticket"] == "P1-LADDER"
    assert "2026-11-20T10:00:00Z L1 -> L2 p1-unresolved-1h" in diff["only_a"]
    assert "2026-11-20T11:00:00Z L1 -> L2 p1-unresolved-1h" in diff["only_b"]
    assert "2026-11-20T12:00:00Z L2 not-acknowledged" in diff["only_a"]  # 2h after 10:00
    # 2h after 11:00, together with inform-director (age 4h): one change
    assert "2026-11-20T13:00:00Z L2 not-acknowledged, inform-director" in diff["only_b"]
    code, out, _ = run(
        capsys, "backtest", "-c", str(EXAMPLE), "--tickets", EXPORT,
        "--until", "2026-11-20T13:30:00Z", "--compare", str(slower),
    )  # fmt: skip
    assert code == 0 and out.startswith("Backtest: nothing is written to any platform.")
    assert "Tickets where they differ: 1" in out
    # differences in human units, never raw seconds
    assert "  mean time to first escalation: +30 min" in out
    assert "  P1-LADDER: --compare first escalates it 1 h 00 min later" in out
    assert "+1800" not in out and "3600" not in out
    assert "  escalations into:\n    L2  " + "█" * 24 + " 2\n" in out  # paired bars
    assert "      " + "▒" * 24 + " 2\n" in out
    assert diff["first_escalation_a"] == "2026-11-20T10:00:00Z"
    assert diff["first_escalation_b"] == "2026-11-20T11:00:00Z"
    assert diff["first_escalation_shift_seconds"] == 3600
    assert diff["escalated_to_a"] == diff["escalated_to_b"] == "L2"


def test_a_bad_export_names_the_record(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "export.json"
    data = json.loads(Path(EXPORT).read_text(encoding="utf-8"))
    data["tickets"][1]["history"][2]["at"] = "2026-12-22T09:00:00"  # no offset
    bad.write_text(json.dumps(data, indent=2), encoding="utf-8")
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), "--tickets", str(bad))
    assert code == 2 and out == ""
    assert "tickets[1] (P3-HOLIDAYS).history[2].at" in err
    code, _, err = run(
        capsys, "backtest", "-c", str(EXAMPLE), "--tickets", EXPORT, "--until", "soon"
    )
    assert code == 2 and "--until" in err


def as_lines(tmp_path: Path) -> Path:
    data = json.loads(Path(EXPORT).read_text(encoding="utf-8"))
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in data["tickets"]) + "\n\n", encoding="utf-8")
    return path


def test_a_json_lines_export_is_streamed_with_the_same_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    until = ("--until", "2026-12-31T00:00:00Z")
    whole = backtest(capsys, "--tickets", EXPORT, *until)
    lines = backtest(capsys, "--tickets", str(as_lines(tmp_path)), *until)
    assert lines == whole
    # without --until: the newest time in the file, found by the checking pass
    default = backtest(capsys, "--tickets", str(as_lines(tmp_path)))
    assert default["until"] == "2026-12-22T13:00:00Z"


def test_bad_json_lines_are_all_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = as_lines(tmp_path)
    rows = path.read_text(encoding="utf-8").splitlines()
    rows[1] = rows[1][:40]  # cut short: not JSON
    bad = json.loads(rows[2])
    bad["created_at"] = "2026-03-27T09:00:00"  # no offset
    rows[2] = json.dumps(bad)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), "--tickets", str(path))
    assert code == 2 and out == ""
    assert f"{path}:2: not valid JSON" in err
    assert f"{path}:3: ticket P3-DST: created_at" in err
    path.write_bytes(path.read_bytes() + b"\xff\xfe not text\n")
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), "--tickets", str(path))
    # every bad line at once; line 4 is the blank one the export ended with
    assert code == 2 and "(3 problems)" in err and f"{path}:5: not UTF-8 text" in err


def test_jobs_give_the_same_output_in_the_same_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--jobs 2 replays on two processes: the document is the same as on one."""
    slower = tmp_path / "slower.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    slower.write_text(
        text.replace("age: {over: 1h, time: calendar}", "age: {over: 2h, time: calendar}")
    )
    lines = str(as_lines(tmp_path))
    common = ("--tickets", lines, "--until", "2026-12-31T00:00:00Z", "--compare", str(slower))
    one = backtest(capsys, *common)
    two = backtest(capsys, *common, "--jobs", "2")
    assert two == one and one["compare"]["differences"]


def test_a_ticket_that_cannot_be_replayed_is_skipped_and_said(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Odd data that makes the replay raise skips that ticket, not the backtest (as a live run
    skips a ticket it cannot evaluate): the others are replayed, the ticket is named, exit 1."""
    real = rules.backtest.replay

    def odd(policy: Any, ticket: Any, until: Any) -> Any:
        if ticket.id == "P3-DST":
            raise ValueError("odd data")
        return real(policy, ticket, until)

    monkeypatch.setattr(rules.backtest, "replay", odd)
    argv = ("--tickets", EXPORT, "--until", "2026-12-31T00:00:00Z")
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), "--format", "json", *argv)
    assert code == 1 and "warning: could not be replayed: P3-DST" in err
    doc = json.loads(out)
    assert doc["summary"]["failed"] == ["P3-DST"] and doc["summary"]["escalations"] == 2
    (failed,) = [t for t in doc["tickets"] if t["ticket"] == "P3-DST"]
    assert failed["error"] == "ValueError: odd data" and failed["changes"] == []
    code, out, _ = run(capsys, "backtest", "-c", str(EXAMPLE), *argv)
    assert code == 1 and "P3-DST: could not be replayed: ValueError: odd data" in out


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_out_writes_the_same_output_to_a_file_only_its_owner_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    argv = ("--tickets", EXPORT, "--until", "2026-12-31T00:00:00Z", "--format", fmt)
    code, printed, _ = run(capsys, "backtest", "-c", str(EXAMPLE), *argv)
    assert code == 0
    target = tmp_path / f"backtest.{fmt}"
    code, out, err = run(capsys, "backtest", "-c", str(EXAMPLE), *argv, "--out", str(target))
    assert code == 0 and out == ""
    assert f"backtest written to {target}" in err
    assert target.read_text(encoding="utf-8") == printed
    assert target.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / f"backtest.{fmt}.part").exists()


def test_out_leaves_no_file_when_the_backtest_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "backtest.json"
    target.write_text("an older backtest")
    bad = tmp_path / "export.jsonl"
    bad.write_text('{"id": "1", "status": "open", "created_at": "2026-01-01T00:00:00"}\n')
    code, _, err = run(
        capsys, "backtest", "-c", str(EXAMPLE), "--tickets", str(bad), "--out", str(target)
    )
    assert code == 2 and "created_at" in err
    assert target.read_text() == "an older backtest"  # the older one is left as it was
    assert sorted(tmp_path.iterdir()) == sorted([bad, target])


def test_the_progress_line_counts_the_export_on_a_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    screen = Terminal()
    ticks = iter(float(n) for n in range(1000))
    rt = Runtime(progress=Progress(screen, clock=lambda: next(ticks)))
    argv = ["backtest", "-c", str(EXAMPLE), "--tickets", str(as_lines(tmp_path))]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--out", str(tmp_path / "out.txt")], runtime=rt)
    assert info.value.code == 0
    shown = [s.rstrip() for s in screen.getvalue().split("\r") if s.strip()]
    assert shown[0] == "backtest: replayed 0/3 tickets (0%)"
    assert shown[1].startswith("backtest: replayed 1/3 tickets (33%), about ")
    assert shown[-1] == "backtest: replayed 3/3 tickets (100%)"
    assert screen.getvalue().endswith("\r")  # cleared at the end
    assert capsys.readouterr().out == ""


def test_the_page_shows_a_breaches_only_target_without_a_met_count() -> None:
    """next_response counts breaches only: its `met` and attainment are None, shown as '-'."""
    from connector.backtest_page import _sla  # noqa: PLC0415 (one private helper)

    cells = {"met": None, "breached": 4, "running": 2, "attainment": None}
    row = _sla({"sla": {"next_response": cells}}, None)
    assert "<td>next_response</td><td>-</td><td>4</td><td>2</td><td>-</td>" in row


def test_the_progress_line_counts_replays_as_they_come_back_with_jobs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--jobs 2: tickets are counted as their results come back, not as they are sent; one
    created after --until counts as done at once. The line ends at the whole."""
    screen = Terminal()
    ticks = iter(float(n) for n in range(1000))
    rt = Runtime(progress=Progress(screen, clock=lambda: next(ticks)))
    argv = ["backtest", "-c", str(EXAMPLE), "--tickets", str(as_lines(tmp_path)), "--jobs", "2"]
    with pytest.raises(SystemExit) as info:  # P3-HOLIDAYS is created in December
        main([*argv, "--until", "2026-11-30T00:00:00Z", "--format", "json"], runtime=rt)
    assert info.value.code == 0
    shown = [s.rstrip() for s in screen.getvalue().split("\r") if s.strip()]
    counts = [int(s.split()[2].split("/")[0]) for s in shown]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 3
    assert shown[-1] == "backtest: replayed 3/3 tickets (100%)"
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["tickets"] == 2


def test_a_target_counted_by_its_breaches_only_says_so_in_the_text() -> None:
    """next_response counts breaches, not mets: "2 breached (its met ones ...)", not "- (2
    breached)", which read as if nothing had been measured."""
    counts = Counter(met=3, breached=2)
    assert _attainment("resolution", sla_cells(counts, "resolution")) == (
        "resolution 60.0% (2 breached)"
    )
    assert _attainment("next_response", sla_cells(counts, "next_response")) == (
        "next_response 2 breached (its met ones are not counted)"
    )
