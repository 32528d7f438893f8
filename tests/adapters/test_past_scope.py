"""Which past tickets `backtest --instance` asks each platform for (adapters/past.py and the
platforms' past modules): the history scope, the window's terms and the exact filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.errors import SetupError
from adapters.jira.past import history_jql
from adapters.jira.past import without_status as jira_without_status
from adapters.past import Window
from adapters.zendesk.past import history_queries
from adapters.zendesk.past import without_status as zendesk_without_status
from rules.model import StatusCategory, Ticket

START = datetime(2026, 2, 20, tzinfo=UTC)
END = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
WINDOW = Window(START, END)
EAST = timezone(timedelta(hours=14))


@pytest.mark.parametrize(
    ("scope", "kept"),
    [
        ("project = SUP AND statusCategory != Done", "project = SUP"),
        ("statusCategory != Done", ""),
        (
            "project in (SUP, NET) AND status not in (Done, Closed) ORDER BY key",
            "project in (SUP, NET)",
        ),
        (
            'project = SUP and "Resolution team" = Blue',
            'project = SUP AND "Resolution team" = Blue',
        ),
        (
            "project = SUP AND resolution = Unresolved AND labels = vip",
            "project = SUP AND labels = vip",
        ),
        ("project = A OR project = B", "project = A OR project = B"),
    ],
)
def test_jira_scope_without_its_status_terms(scope: str, kept: str) -> None:
    assert jira_without_status(scope) == kept


@pytest.mark.parametrize(
    "scope",
    [
        "project = SUP AND (status = Open OR priority = Highest)",
        "statusCategory != Done OR labels = vip",
    ],
)
def test_a_jira_status_term_that_cannot_be_dropped_asks_for_a_history_scope(scope: str) -> None:
    with pytest.raises(SetupError, match="history_scope"):
        jira_without_status(scope)


def test_jira_window_query() -> None:
    jql = history_jql(None, "project = SUP AND statusCategory != Done", WINDOW)
    assert jql == (
        '(project = SUP) AND created < "2026-03-03" AND'
        ' (updated >= "2026-02-19" OR statusCategory != Done)'
    )
    ordered = history_jql("project = SUP ORDER BY created DESC", "ignored", WINDOW)
    assert ordered.startswith("(project = SUP) AND created <")
    assert ordered.endswith(") ORDER BY created DESC")
    assert history_jql(None, "statusCategory != Done", WINDOW).startswith('created < "2026-03-03"')


def test_zendesk_scope_without_its_status_terms() -> None:
    assert zendesk_without_status("type:ticket status<solved") == "type:ticket"
    scope = 'status:open tags:vip -status:pending group:"Tier 1"'
    assert zendesk_without_status(scope) == 'tags:vip group:"Tier 1"'
    assert history_queries(None, "type:ticket status<solved", WINDOW) == [
        "created<2026-03-03 status<solved",  # first: one solved meanwhile is in the next
        "created<2026-03-03 updated>=2026-02-19",
    ]
    assert history_queries("tags:vip", "ignored", WINDOW)[0].startswith("tags:vip created<")
    # Days in UTC, whatever offset the window was given in.
    late = Window(datetime(2026, 2, 20, 23, tzinfo=UTC), END).start.astimezone(EAST)
    assert Window(late, END).first_day == "2026-02-19"


def ticket(created: datetime, updated: datetime, category: StatusCategory) -> Ticket:
    return Ticket(
        id="1",
        instance="x",
        platform="zendesk",
        status=category.value,
        status_category=category,
        created_at=created,
        updated_at=updated,
    )


def test_the_window_holds_tickets_open_at_some_time_in_it() -> None:
    day = timedelta(days=1)
    solved = ticket(START - 9 * day, START - 8 * day, StatusCategory.SOLVED)
    assert not WINDOW.holds(solved)  # done before the window, untouched since
    assert WINDOW.holds(replace(solved, updated_at=START))  # solved on its first instant
    assert WINDOW.holds(replace(solved, status_category=StatusCategory.OPEN))  # open throughout
    assert not WINDOW.holds(ticket(END + timedelta(seconds=1), END + day, StatusCategory.OPEN))
    assert WINDOW.holds(ticket(END, END, StatusCategory.NEW))
    with pytest.raises(ValueError, match="ends before it starts"):
        Window(END, START)
    with pytest.raises(ValueError, match="UTC offset"):
        Window(START.replace(tzinfo=None), END)
