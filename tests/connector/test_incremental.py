"""Incremental runs (connector/due.py, issue 18) on the Zendesk, Jira Cloud and Jira Data Center
emulators: an incremental run plans exactly what a full one plans, on random histories; a
ticket updated during a run, or invisible to search for a while, is still escalated; a run
with nothing due costs a handful of requests whatever the backlog; and what forces a sweep."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.connector.incremental_world import World

FLAVOURS = ["zendesk", "cloud", "dc"]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def act(world: World, rng: random.Random, tickets: list[str]) -> None:
    """One random stretch of history: people create, re-prioritise, solve and delete
    tickets, and time passes (minutes to hours)."""
    for _ in range(rng.randint(0, 3)):
        tickets.append(world.create(rng.choice(["P1", "P2", "P3", "P3", "P4"])))
    alive = [t for t in tickets if world.exists(t)]
    for _ in range(rng.randint(0, 2)):
        if not alive:
            break
        tid, roll = rng.choice(alive), rng.random()
        if roll < 0.6:
            world.set_priority(tid, rng.choice(["P1", "P2", "P3", "P4"]))
        elif roll < 0.85:
            world.solve(tid)
        else:
            world.delete(tid)
            alive.remove(tid)
        world.wait(rng.choice([0, 1, 30]))
    world.wait(rng.choice([60, 300, 900, 3600, 2 * 3600, 5 * 3600]))


@pytest.mark.parametrize("flavour", FLAVOURS)
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_an_incremental_run_plans_what_a_full_run_plans(
    flavour: str, seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Random histories; after each stretch the two plans (dry runs) are compared, then a
    real run writes: incremental, now and then a full sweep."""
    rng = random.Random(seed)
    tmp = tmp_path_factory.mktemp(flavour)
    lag = 120.0 if flavour == "zendesk" else 0.0  # Zendesk's search sees changes 2 minutes late
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        world = World(flavour, mock, tmp, index_lag="5m", full_sweep="30d", search_lag=lag)
        tickets = [world.create(rng.choice(["P2", "P3"])) for _ in range(rng.randint(1, 6))]
        world.wait(400)
        world.run(full=True)
        for _ in range(10):
            act(world, rng, tickets)
            incremental, full = world.plan(incremental=True), world.plan(incremental=False)
            assert incremental == full
            world.run(full=rng.random() < 0.15)  # now and then a sweep rebuilds the index


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_ticket_updated_during_a_run_is_escalated_by_the_next(
    flavour: str, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    world = World(flavour, rsps, tmp_path, index_lag="2m")
    quiet = [world.create("P3") for _ in range(3)]
    world.wait(600)
    world.run(full=True)
    world.wait(300)
    raised: list[str] = []

    def raise_once(sent: str) -> None:  # a person raises a ticket right after our read
        if not raised and ("search" in sent) and "GET /rest/api/2/serverInfo" not in sent:
            world.set_priority(quiet[1], "P1")
            raised.append(sent)

    world.after = raise_once
    first = world.run()
    world.after = None
    assert raised and first.read_mode == "incremental"
    assert world.level(quiet[1]) is None  # read before the edit: not this run
    world.wait(300)
    second = world.run()
    assert second.read_mode == "incremental", second.read_why
    assert world.level(quiet[1]) == "L2"
    assert [world.level(t) for t in (quiet[0], quiet[2])] == [None, None]


@pytest.mark.parametrize("overlap", ["5m", "0m"])
def test_a_ticket_invisible_to_search_for_index_lag_is_escalated_later_never_lost(
    overlap: str, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    """Zendesk's search sees a change 5 minutes late; runs every minute. With `index_lag`
    5m, an incremental run escalates the ticket once search sees it; without the overlap
    the incremental runs never do, and only the next full sweep would (the test that the
    overlap is what saves it)."""
    world = World("zendesk", rsps, tmp_path, index_lag=overlap, full_sweep="6h", search_lag=300)
    tid = world.create("P3")
    world.wait(600)
    world.run(full=True)
    world.wait(60)
    world.set_priority(tid, "P1")
    changed_at = world.time.now
    escalated_at = None
    for _ in range(15):
        world.wait(60)
        run = world.run()
        assert run.read_mode == "incremental", run.read_why
        if world.level(tid) == "L2":
            escalated_at = world.time.now
            break
    if overlap == "0m":
        assert escalated_at is None
        assert world.run(full=True).read_mode == "full" and world.level(tid) == "L2"
    else:
        assert escalated_at is not None
        assert 300 <= escalated_at - changed_at <= 300 + 60


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_run_with_nothing_due_costs_a_handful_of_requests(
    flavour: str, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    world = World(flavour, rsps, tmp_path)
    for _ in range(250):
        world.create("P3")
    world.wait(600)
    sweep = world.run(full=True)
    assert sweep.read_mode == "full" and sweep.summary.evaluated == 250
    world.wait(300)
    before = len(world.requests())
    run = world.run()
    sent = world.requests()[before:]
    assert run.read_mode == "incremental" and run.summary.evaluated == 0
    # Zendesk reads ticket_fields twice a run (issue 18: once, on the branch that cuts it)
    assert len(sent) <= 5 + (flavour == "zendesk"), sent


def test_what_forces_a_full_sweep(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    world = World("cloud", rsps, tmp_path, full_sweep="1h")
    world.create("P3")
    assert world.run().read_why == "full sweep: no due index yet"
    world.wait(300)
    assert world.run().read_mode == "incremental"
    assert "asked for (--full)" in world.run(full=True).read_why
    world.wait(3600)
    assert "the last full sweep was 1h ago (full_sweep: 1h)" in world.run().read_why
    policy = replace(world.config.policy, hash="another-policy")  # an edited policy
    world.config = replace(world.config, policy=policy)
    world.wait(60)
    assert "the policy or the instance's settings changed" in world.run().read_why
    world.wait(60)
    assert world.run().read_mode == "incremental"
    world.time.now -= 3600  # the clock went back
    assert "the clock is before the last run's start" in world.run().read_why


def test_jira_reads_updated_since_to_the_minute_in_our_time_zone(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    """The account's profile says New York: the JQL date is its local time, rounded down to
    the minute (the last run at 10:00:30Z, minus the 5m overlap: 04:55 in New York, EST)."""
    world = World("dc", rsps, tmp_path, time_zone="America/New_York")
    world.create("P3")
    world.wait(30)
    world.run(full=True)
    world.wait(300)
    before = len(world.requests())
    late = world.create("P1")
    assert world.run().read_mode == "incremental"
    searches = [r for r in world.requests()[before:] if "/search" in r]
    assert "updated+%3E%3D+%222026%2F03%2F02+04%3A55%22" in searches[0]
    assert world.level(late) == "L2"
