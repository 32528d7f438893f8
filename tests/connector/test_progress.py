"""The progress line: on a terminal only, overwritten in place, cleared at the end."""

from __future__ import annotations

import io
import re
import threading

from connector.progress import Progress


def test_progress_overwrites_one_line_and_clears_it() -> None:
    out = io.StringIO()
    progress = Progress(out, enabled=True)
    progress.fetching("zendesk-prod", 1000, 12)
    progress.writing("zendesk-prod", 12, 12, 1)  # the last one is always shown
    progress.finish()
    text = out.getvalue()
    assert text.startswith("\rzendesk-prod: fetched 1,000 tickets, 12 to change")
    assert "\rzendesk-prod: written 12/12, 1 failed" in text
    assert text.endswith("\r")
    assert "\n" not in text


def test_progress_is_silent_off_a_terminal() -> None:
    out = io.StringIO()  # not a TTY
    progress = Progress(out)
    progress.fetching("jira", 5, 1)
    progress.writing("jira", 1, 1, 0)
    progress.finish()
    assert out.getvalue() == ""


def test_instances_in_parallel_share_the_line_one_update_at_a_time() -> None:
    """`run --jobs`: every update names its instance, after how many instances are done; the
    updates of several threads never write into each other."""
    out = io.StringIO()
    progress = Progress(out, enabled=True)
    progress.instances(0, 20)
    progress.writing("zd-01", 3, 3, 0)
    progress.instances(7, 20)
    progress.writing("jira-02", 5, 5, 1)
    progress.instances(20, 20)
    progress.writing("zd-03", 1, 1, 0)
    shown = out.getvalue().split("\r")
    assert [s.rstrip() for s in shown[1:]] == [
        "[0/20 done] zd-01: written 3/3",
        "[7/20 done] jira-02: written 5/5, 1 failed",
        "zd-03: written 1/1",
    ]

    crowd = io.StringIO()
    shared = Progress(crowd, enabled=True)

    def write(name: str) -> None:
        for done in range(1, 201):
            shared.writing(name, done, done, 0)  # done == total: every one is shown

    threads = [threading.Thread(target=write, args=(f"instance-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    updates = [s.rstrip() for s in crowd.getvalue().split("\r")[1:]]
    assert len(updates) == 800
    assert all(re.fullmatch(r"instance-\d: written (\d+)/\1", u) for u in updates)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_backtest_shows_its_pace_and_the_time_left_on_a_terminal() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress(out, clock=clock)  # a terminal: on without being told
    progress.replaying(0, 10_000)
    clock.now += 30.0  # 2,500 tickets in 30 s: 7,500 more take 90 s
    progress.replaying(2_500, 10_000)
    clock.now += 0.05  # too soon after the last update: not shown
    progress.replaying(2_501, 10_000)
    clock.now += 4_000.0  # 5,000 in 4,030.05 s: as long again, rounded up to the minute
    progress.replaying(5_000, 10_000)
    clock.now += 1.0
    progress.replaying(10_000, 10_000)
    progress.finish()
    shown = [s.rstrip() for s in out.getvalue().split("\r") if s.strip()]
    assert shown == [
        "backtest: replayed 0/10,000 tickets (0%)",
        "backtest: replayed 2,500/10,000 tickets (25%), about 1 min 30 s left",
        "backtest: replayed 5,000/10,000 tickets (50%), about 1 h 08 min left",
        "backtest: replayed 10,000/10,000 tickets (100%)",
    ]
    assert out.getvalue().endswith("\r") and "\n" not in out.getvalue()


def test_a_backtest_is_quiet_when_stderr_is_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, clock=Clock())
    progress.replaying(0, 3)
    progress.replaying(3, 3)
    progress.finish()
    assert out.getvalue() == ""
