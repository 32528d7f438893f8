"""The progress line: on a terminal only, overwritten in place, cleared at the end."""

from __future__ import annotations

import io

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
