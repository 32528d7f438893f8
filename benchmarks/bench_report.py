"""`escalate report`'s figures at scale: CPU seconds to compute them and to draw the page for
N synthetic tickets read live with their histories (no platform: the read is what
bench_past.py measures).

    .venv/bin/python benchmarks/bench_report.py --tickets 10000 --runs 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

import yaml

from connector.insights.collect import Collected, Move
from connector.insights.figures import figures
from connector.insights.links import Links
from connector.insights.page import page
from connector.insights.story import story
from rules.model import Actor, Event, EventKind, StatusCategory, Ticket
from rules.policy import load_policy
from rules.tracking import format_time

NOW = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
DAY = 86400.0
TEAMS = ("Support L1", "Billing", "Network", "Accounts", "Mobile", "Onboarding", "VIP desk")


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def collected(count: int, seed: int = 1) -> Collected:
    """`count` tickets of the last 40 days: replies, status changes, 10% escalated."""
    rng = random.Random(seed)
    c = Collected()
    for n in range(count):
        t0 = NOW - rng.uniform(0, 40) * DAY
        events = [Event(at(t0), EventKind.COMMENT, Actor.CUSTOMER, text="x")]
        t = t0
        for _ in range(4):
            t += rng.uniform(0.1, 3) * DAY
            if t > NOW:
                break
            events.append(Event(at(t), EventKind.COMMENT, Actor.CUSTOMER, text="y"))
            cat = rng.choice([StatusCategory.OPEN, StatusCategory.PENDING, StatusCategory.SOLVED])
            events.append(
                Event(at(t + 60), EventKind.STATUS, Actor.AGENT, value=cat.value, category=cat)
            )
        states = [e.category for e in events if e.category is not None]
        now = states[-1] if states else StatusCategory.NEW
        ticket = Ticket(
            id=str(n),
            instance="zd",
            platform="zendesk",
            status=now.value,
            status_category=now,
            created_at=at(t0),
            updated_at=at(NOW),
            history=tuple(events),
        )
        about = {
            "team": rng.choice(TEAMS),
            "priority": rng.choice(["P1", "P2", "P3", "P4"]),
            "created_at": format_time(at(t0)),
            "reopens": 0,
            "level": "L1",
            "sla": {"resolution": rng.choice(["met", "breached", "running"])},
        }
        seen = c.seen("zd", str(n))
        seen.observe(NOW, about)
        seen.live = {"open": not now.done, "level": "L1", "escalated_at": None, "rule": None}
        seen.story = story(ticket)
        seen.sla_at["resolution"] = rng.uniform(t0, NOW)
        if rng.random() < 0.1:
            up = rng.uniform(max(t0, NOW - 30 * DAY), NOW)
            seen.moves.append(Move(up, "L1", "L2", ("r",), about))
    c.live_instances = ["zd"]
    return c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = {
        "priorities": ["P1", "P2", "P3", "P4"],
        "levels": [{"name": n} for n in ["L1", "L2", "L3"]],
    }
    policy = load_policy(yaml.safe_dump(spec), "bench.yaml")
    links = Links({"zd": ("zendesk", "https://acme.zendesk.com")})
    figs, pages, size = [], [], 0
    for _ in range(args.runs):
        c = collected(args.tickets)  # fresh: the figures cache per ticket
        start = time.process_time()
        fig = figures(c, policy, since=NOW - 30 * DAY, now=NOW, links=links)
        figs.append(time.process_time() - start)
        start = time.process_time()
        size = len(page(fig))
        pages.append(time.process_time() - start)
    print(
        f"{args.tickets} tickets, {args.runs} runs: figures median"
        f" {statistics.median(figs):.2f} CPU s (min {min(figs):.2f}), page median"
        f" {statistics.median(pages):.3f} CPU s, page {size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
