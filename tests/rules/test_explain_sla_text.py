"""How `explain` words an SLA target: a target met after its deadline is a breach."""

from __future__ import annotations

from typing import Any

from rules.explain import _render_target


def target(*, used: str, remaining: str, breached: bool, fulfilled: bool) -> dict[str, Any]:
    return {
        "target": "first_response",
        "calendar": "24x7",
        "goal": "1h",
        "used": used,
        "used_percent": 100.0,
        "remaining": remaining,
        "breached": breached,
        "fulfilled": fulfilled,
        "paused": False,
        "due": None,
        "clock": {
            "since": "2026-11-02T09:00:00Z",
            "working_minutes": 0.0,
            "paused_spans": [],
            "holidays": [],
            "dst_changes": [],
        },
    }


def test_a_target_met_late_says_breached_and_one_met_in_time_does_not() -> None:
    late = _render_target(target(used="10h", remaining="-9h", breached=True, fulfilled=True))
    assert late[0].endswith("-9h left, fulfilled late: BREACHED")
    on_time = _render_target(target(used="10m", remaining="50m", breached=False, fulfilled=True))
    assert on_time[0].endswith("50m left, fulfilled")
    running = _render_target(target(used="2h", remaining="-1h", breached=True, fulfilled=False))
    assert running[0].endswith("-1h left, running BREACHED")
