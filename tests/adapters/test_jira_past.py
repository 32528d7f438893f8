"""The Jira adapter's past read (`backtest --instance`) on Cloud and Data Center: whole
histories (every comment, though the search cuts them short; each changed field's value at
creation) and a Data Center result set that grows while it is paged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from adapters.jira.past import field_events, past_fields
from adapters.past import Window
from rules.model import Actor, EventKind
from tests.adapters.jira_harness import JiraHarness
from tests.adapters.test_jira_mapping import AGENT, ctx

WINDOW = Window(datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))


def at(day: int, hour: int, month: int = 2) -> float:
    return datetime(2026, month, day, hour, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_whole_histories_are_read(flavour: str, tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = JiraHarness(flavour, rsps, tmp_path, search_comment_limit=1)
        emu = h.emulator
        h.time.now = at(21, 9)
        keys = [emu.create_issue("SUP", priority="Medium") for _ in range(30)]
        h.time.now = at(22, 9)
        for key in keys:
            emu.edit(key, priority="Highest")
            for i in range(3):
                emu.add_comment(key, f"comment {i}")
        h.time.now = at(25, 9)
        adapter = h.adapter()
        adapter.fields()
        got = list(adapter.past(WINDOW))
    assert sorted(t.id for t in got) == sorted(keys)  # 30 issues over pages of 25
    for t in got:
        assert t.history is not None
        comments = [e for e in t.history if e.kind is EventKind.COMMENT]
        assert len(comments) == 4  # the description and 3 comments, beyond the search's 1
        priorities = [(e.value, e.actor) for e in t.history if e.kind is EventKind.PRIORITY]
        assert priorities == [("Medium", Actor.SYSTEM), ("Highest", Actor.AGENT)]


def test_a_data_center_result_set_that_grows_while_paged_is_followed(tmp_path: Path) -> None:
    """A window ending today: an issue created during the read joins the result set at its
    end (key order); a live run would refuse the moving set, a backtest reads it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        h = JiraHarness("dc", rsps, tmp_path)
        emu = h.emulator
        h.time.now = at(21, 9)
        keys = [emu.create_issue("SUP") for _ in range(30)]
        h.time.now = at(1, 9, month=3)
        added: list[str] = []
        emu.before(
            lambda r: "search" in r.path and r.query.get("startAt") == ["25"] and not added,
            lambda: added.append(emu.create_issue("SUP")),
        )
        adapter = h.adapter()
        adapter.fields()
        got = [t.id for t in adapter.past(WINDOW)]
    assert added and sorted(got) == sorted([*keys, *added])


def test_components_are_rebuilt_as_whole_lists_at_each_change() -> None:
    """Jira logs one item per component added or removed; the replay wants the whole list
    after each change, and the list at creation, from the issue's list backwards."""

    def item(before: str | None, after: str | None) -> dict[str, object]:
        return {"field": "Component", "fieldId": "components", "fromString": before,
                "toString": after}  # fmt: skip

    issue = {
        "fields": {
            "created": "2026-02-22T09:00:00.000+0000",
            "components": [{"name": "VPN"}],
            "labels": [],
        }
    }
    log = [
        {"created": "2026-02-22T10:00:00.000+0000", "author": AGENT,
         "items": [item(None, "Network")]},
        {"created": "2026-02-22T11:00:00.000+0000", "author": AGENT,
         "items": [item("Network", None), item(None, "VPN")]},
        {"created": "2026-02-22T12:00:00.000+0000", "author": AGENT,
         "items": [{"field": "labels", "fieldId": "labels", "fromString": "", "toString": "vpn"}]},
    ]  # fmt: skip
    context = ctx()
    events = field_events(issue, log, context, past_fields(context))
    got = [(e.at.hour, e.field, e.values, e.actor) for e in events]
    assert sorted(got[:2]) == [  # at creation: no component, no label
        (9, "components", (), Actor.SYSTEM),
        (9, "tags", (), Actor.SYSTEM),
    ]
    assert got[2:] == [
        (10, "components", ("Network",), Actor.AGENT),
        (11, "components", (), Actor.AGENT),
        (11, "components", ("VPN",), Actor.AGENT),
        (12, "tags", ("vpn",), Actor.AGENT),
    ]
