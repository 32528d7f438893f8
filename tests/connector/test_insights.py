"""The report's figures on plain objects: the rate's one definition, the owner of a ticket,
the priority scale's order, buckets, time in level and in status from hand-made histories,
parking after a customer's reply, and escalations later de-escalated or reopened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from connector.insights.collect import Collected, Move, Seen
from connector.insights.figures import figures
from connector.insights.links import Links
from connector.insights.periods import buckets
from connector.insights.story import PARK_WITHIN, parked, story
from rules.model import Actor, Event, EventKind, StatusCategory, Ticket
from rules.policy import Policy, load_policy
from rules.tracking import format_time

HOUR, DAY = 3600.0, 86400.0
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
SINCE = NOW - 10 * DAY
LINKS = Links({"zd": ("zendesk", "https://acme.zendesk.com"), "j": ("jira", "https://j.example")})


def policy() -> Policy:
    spec = {
        "priorities": ["P1", "P2", "P3", "P4"],
        "levels": [{"name": "L1"}, {"name": "L2"}, {"name": "L3"}],
        "rules": [{"name": "slow", "when": {"age": {"over": "1h"}}, "then": {"escalate": "next"}}],
    }
    return load_policy(yaml.safe_dump(spec), "test.yaml")


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def about(team: str, priority: str = "P3", **extra: Any) -> dict[str, Any]:
    base = {"team": team, "priority": priority, "created_at": format_time(at(SINCE))}
    return base | {"reopens": 0, "level": "L1", "sla": {}} | extra


def status(ts: float, value: str, category: StatusCategory, actor: Actor = Actor.AGENT) -> Event:
    return Event(at(ts), EventKind.STATUS, actor, value=value, category=category)


def comment(ts: float, actor: Actor, public: bool = True) -> Event:
    return Event(at(ts), EventKind.COMMENT, actor, public=public, text="...")


def ticket(created: float, *events: Event, now_status: StatusCategory | None = None) -> Ticket:
    last = [e for e in events if e.kind is EventKind.STATUS]
    category = now_status or (last[-1].category if last else StatusCategory.NEW)
    assert category is not None
    return Ticket(
        id="1",
        instance="zd",
        platform="zendesk",
        status=category.value,
        status_category=category,
        created_at=at(created),
        updated_at=at(NOW),
        history=tuple(events),
    )


def live(c: Collected, instance: str, tid: str, ab: dict[str, Any], t: Ticket, **lv: Any) -> Seen:
    """A ticket read live with its history."""
    seen = c.seen(instance, tid)
    seen.observe(NOW, ab)
    seen.live = {"open": True, "level": "L1", "escalated_at": None, "rule": None} | lv
    seen.story = story(t)
    c.live_instances = sorted({*c.live_instances, instance})
    return seen


def up(seen: Seen, ts: float, ab: dict[str, Any], source: str = "L1", target: str = "L2") -> None:
    seen.moves.append(Move(ts, source, target, ("slow",), ab))


def always_open(created: float) -> Ticket:
    return ticket(created, status(created + 60, "open", StatusCategory.OPEN))


def test_one_rate_for_the_headline_the_trend_and_the_teams() -> None:
    """Four tickets of Support L1 (one escalated to L2, which moved it to Network L2) and two
    of Billing: Support L1 has 1 of 4 escalated, not 0 of 3 next to 1 escalation."""
    c = Collected()
    support = [live(c, "zd", str(n), about("Support L1"), always_open(SINCE)) for n in range(4)]
    for n in (4, 5):
        live(c, "zd", str(n), about("Billing", "P1"), always_open(SINCE))
    moved = support[0]
    up(moved, NOW - 2 * DAY, about("Support L1"))  # the decision saw its team before the move
    moved.observe(NOW + 1, about("Network L2", level="L2"))  # the team it has now
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)

    assert (fig["totals"]["tickets"], fig["totals"]["tickets_escalated"]) == (6, 1)
    assert fig["totals"]["escalation_rate"] == round(1 / 6, 4)
    teams = {r["key"]: r for r in fig["by"]["team"]}
    assert set(teams) == {"Support L1", "Billing"}  # not Network L2: the owner before moving
    assert (teams["Support L1"]["tickets"], teams["Support L1"]["escalations"]) == (4, 1)
    assert teams["Support L1"]["escalation_rate"] == 0.25
    assert teams["Billing"]["escalation_rate"] == 0.0
    day = next(r for r in fig["trend"]["rows"] if r["tickets_escalated"])
    assert day["start"] == at(NOW - 2 * DAY).date().isoformat()
    assert (day["tickets"], day["escalation_rate"]) == (6, round(1 / 6, 4))  # same definition
    team_days = {t["team"]: t["points"] for t in fig["trend"]["by_team"]}
    point = next(p for p in team_days["Support L1"] if p["start"] == day["start"])
    assert (point["tickets"], point["escalation_rate"]) == (4, 0.25)
    assert fig["totals"]["escalated_tickets"] == [
        {"instance": "zd", "ticket": "0", "url": "https://acme.zendesk.com/agent/tickets/0"}
    ]
    assert "tickets open at some time in the period" in fig["definitions"]["escalation_rate"]


def test_a_ticket_created_after_a_day_is_not_in_that_days_denominator() -> None:
    c = Collected()
    live(c, "zd", "old", about("A"), always_open(SINCE))
    late = NOW - 1 * DAY
    live(c, "zd", "new", about("A"), always_open(late))
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    rows = {r["start"]: r["tickets"] for r in fig["trend"]["rows"]}
    assert rows[at(SINCE).date().isoformat()] == 1
    assert rows[at(NOW).date().isoformat()] == 2


def test_priorities_come_in_the_scale_order_unknown_after_and_none_last() -> None:
    c = Collected()
    for n, prio in enumerate(["P3", "P4", "P1", None, "Urgent!", "P2", "P3"]):
        seen = live(c, "zd", str(n), about("A", prio), always_open(SINCE))
        if prio == "P3":
            up(seen, NOW - HOUR, about("A", prio))  # most escalations: still not first
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    assert [r["key"] for r in fig["by"]["priority"]] == [
        "P1",
        "P2",
        "P3",
        "P4",
        "Urgent!",
        "(none)",
    ]


def test_jira_links_browse_the_issue() -> None:
    assert LINKS.url(("j", "SUP-12")) == "https://j.example/browse/SUP-12"
    assert LINKS.url(("gone", "1")) is None
    assert Links({}, named=False).ref(("j", "SUP-12")) == {"ticket": "SUP-12"}


@pytest.mark.parametrize(
    ("days", "size", "count"),
    [(1, "day", 2), (30, "day", 31), (35, "day", 36), (90, "week", 14)],
)
def test_buckets_are_days_up_to_five_weeks_then_weeks(days: int, size: str, count: int) -> None:
    found, spans = buckets(NOW - days * DAY, NOW)
    assert (found, len(spans)) == (size, count)
    assert spans[0][0] <= NOW - days * DAY and spans[-1][1] > NOW
    if size == "week":
        assert at(spans[0][0]).weekday() == 0  # Monday


def test_time_in_status_from_a_hand_made_history() -> None:
    """new 1 h, open 3 h, pending 20 h, open 2 h, solved: and only inside the window."""
    t0 = NOW - 2 * DAY
    history = ticket(
        t0,
        status(t0 + HOUR, "open", StatusCategory.OPEN),
        status(t0 + 4 * HOUR, "pending", StatusCategory.PENDING),
        status(t0 + 24 * HOUR, "open", StatusCategory.OPEN, Actor.CUSTOMER),
        status(t0 + 26 * HOUR, "solved", StatusCategory.SOLVED),
    )
    told = story(history)
    assert told is not None
    assert told.time_in_status(SINCE, NOW) == {"new": HOUR, "open": 5 * HOUR, "pending": 20 * HOUR}
    assert told.time_in_status(t0 + 2 * HOUR, t0 + 5 * HOUR) == {"open": 2 * HOUR, "pending": HOUR}
    assert told.open_in(t0 + 30 * HOUR, NOW) is False and told.open_in(SINCE, t0 + 1) is True

    c = Collected()
    live(c, "zd", "1", about("A"), history, open=False)
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    pending = next(r for r in fig["time_in_status"] if r["status"] == "pending")
    assert (pending["count"], pending["median_s"], pending["total_s"]) == (1, 20 * HOUR, 72000.0)
    assert pending["longest"][0]["url"] == "https://acme.zendesk.com/agent/tickets/1"
    assert [r["status"] for r in fig["time_in_status"]] == ["new", "open", "pending"]


def test_a_status_named_in_two_cases_is_one_row() -> None:
    c = Collected()
    for n, name in enumerate(("open", "Open")):  # Zendesk's, Jira's
        t0 = NOW - (n + 1) * HOUR
        live(c, "zd", str(n), about("A"), ticket(t0, status(t0, name, StatusCategory.OPEN)))
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    (row,) = fig["time_in_status"]
    assert (row["status"], row["count"], row["total_s"]) == ("open", 2, 3 * HOUR)


def test_time_in_level_from_the_level_changes() -> None:
    c = Collected()
    seen = live(c, "zd", "1", about("A"), always_open(SINCE), level="L3", escalated_at=NOW - HOUR)
    up(seen, SINCE + HOUR, about("A"))
    up(seen, SINCE + 7 * HOUR, about("A", level="L2"), "L2", "L3")
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    levels = {r["level"]: r for r in fig["levels"]}
    assert levels["L1"]["time_in_level"]["median_s"] == HOUR  # created at SINCE
    assert levels["L2"]["time_in_level"]["median_s"] == 6 * HOUR
    assert levels["L3"]["open_now"] == 1 and levels["L3"]["open_for"]["median_s"] == HOUR
    assert levels["L3"]["open_tickets"][0]["ticket"] == "1"


def test_parked_right_after_a_customer_reply_is_found_and_answers_are_not() -> None:
    t0 = NOW - DAY
    events = [
        comment(t0, Actor.CUSTOMER),  # the description: not a reply
        status(t0 + 60, "pending", StatusCategory.PENDING),  # parked, but nobody replied yet
        comment(t0 + HOUR, Actor.CUSTOMER),  # a reply, then parked 5 min later: gaming
        status(t0 + HOUR + 300, "pending", StatusCategory.PENDING),
        comment(t0 + 2 * HOUR, Actor.CUSTOMER),  # answered and parked in one update: fine
        comment(t0 + 2 * HOUR + 60, Actor.AGENT),
        status(t0 + 2 * HOUR + 60, "pending", StatusCategory.PENDING),
        comment(t0 + 3 * HOUR, Actor.CUSTOMER),  # an internal note is no answer: gaming
        comment(t0 + 3 * HOUR + 30, Actor.AGENT, public=False),
        status(t0 + 3 * HOUR + 60, "On hold", StatusCategory.HOLD),
        comment(t0 + 4 * HOUR, Actor.CUSTOMER),  # parked, but long after: not "right after"
        status(t0 + 4 * HOUR + PARK_WITHIN + 1, "pending", StatusCategory.PENDING),
        comment(t0 + 5 * HOUR, Actor.CUSTOMER),  # the customer's own status change
        status(t0 + 5 * HOUR + 1, "pending", StatusCategory.PENDING, Actor.CUSTOMER),
    ]
    found = parked(ticket(t0, *events))
    assert [(p.replied_at - t0, p.parked_at - t0, p.status) for p in found] == [
        (HOUR, HOUR + 300, "pending"),
        (3 * HOUR, 3 * HOUR + 60, "On hold"),
    ]

    c = Collected()
    live(c, "zd", "7", about("Support L1"), ticket(t0, *events))
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    p = fig["parked_after_reply"]
    assert (p["count"], p["tickets"]) == (2, 1)
    assert p["by_team"] == [{"team": "Support L1", "count": 2}]
    assert p["latest"][0]["status"] == "On hold" and p["latest"][0]["after"] == "1m"
    assert p["latest"][0]["url"].endswith("/agent/tickets/7")


def test_escalations_later_de_escalated_or_reopened() -> None:
    c = Collected()
    t0 = SINCE + DAY
    down = live(c, "zd", "1", about("A"), always_open(t0))
    up(down, t0 + HOUR, about("A"))
    down.moves.append(Move(t0 + 5 * HOUR, "L2", "L1", ("calm",), about("A", level="L2")))
    back = ticket(
        t0,
        status(t0 + 60, "open", StatusCategory.OPEN),
        status(t0 + 2 * HOUR, "solved", StatusCategory.SOLVED),
        status(t0 + 9 * HOUR, "open", StatusCategory.OPEN, Actor.CUSTOMER),
    )
    reopened = live(c, "zd", "2", about("A"), back)
    up(reopened, t0 + HOUR, about("A"))
    before = ticket(
        t0,
        status(t0 + 60, "solved", StatusCategory.SOLVED),
        status(t0 + 120, "open", StatusCategory.OPEN),
    )
    early = live(c, "zd", "3", about("A"), before)  # reopened before it was escalated
    up(early, t0 + HOUR, about("A"))
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    after = fig["after_escalation"]
    assert (after["tickets_escalated"], after["de_escalated"], after["reopened"]) == (3, 1, 1)
    assert [r["ticket"] for r in after["de_escalated_tickets"]] == ["1"]
    assert [r["ticket"] for r in after["reopened_tickets"]] == ["2"]
    assert fig["totals"]["de_escalations"] == 1
    row = fig["by"]["team"][0]
    assert (row["reopened"], row["de_escalated"]) == (1, 1)


def test_sla_attainment_over_time_counts_each_target_when_it_was_decided() -> None:
    c = Collected()
    verdicts = [("met", NOW - DAY), ("breached", NOW - DAY), ("breached", NOW - 3 * DAY)]
    for n, (verdict, when) in enumerate([*verdicts, ("running", None)]):
        seen = live(c, "zd", str(n), about("A", sla={"resolution": verdict}), always_open(SINCE))
        if when is not None:
            seen.sla_at["resolution"] = when
    fig = figures(c, policy(), since=SINCE, now=NOW, links=LINKS)
    rows = {r["start"]: r for r in fig["trend"]["rows"]}
    one = rows[at(NOW - DAY).date().isoformat()]
    assert (one["sla_met"], one["sla_breached"], one["sla_attainment"]) == (1, 1, 0.5)
    assert [r["ticket"] for r in one["breached"]] == ["1"]
    three = rows[at(NOW - 3 * DAY).date().isoformat()]
    assert three["sla_attainment"] == 0.0
    assert fig["sla"]["resolution"]["attainment"] == round(1 / 3, 4)
