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

from state import DueMark
from state.postgres import PostgresStore
from tests.connector.incremental_world import World
from tests.store.pg import Server

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


@pytest.mark.parametrize("flavour", [*FLAVOURS, "zendesk-lagging"])
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
    real run writes: incremental, now and then a full sweep. Before the comparison, now and
    then, a cycle as webhooks prompt it (`search=False`: random tickets hinted, no search for
    what changed where the scope allows) writes what it read: it must not make the next
    incremental run miss what it did not search for.

    "zendesk-lagging": Zendesk's search sees a change 2 minutes late. A full run then plans
    nothing for a ticket changed in the last 2 minutes (it cannot see it); an incremental run
    may, having read it by id because it came due: it plans everything the full run plans,
    the same way, and more only for tickets the search cannot see yet."""
    rng = random.Random(seed)
    lag = 120.0 if flavour == "zendesk-lagging" else 0.0
    platform = flavour.removesuffix("-lagging")
    tmp = tmp_path_factory.mktemp(platform)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        world = World(platform, mock, tmp, index_lag="5m", full_sweep="30d", search_lag=lag)
        tickets = [world.create(rng.choice(["P2", "P3"])) for _ in range(rng.randint(1, 6))]
        world.wait(400)
        world.run(full=True)
        for _ in range(10):
            act(world, rng, tickets)
            if rng.random() < 0.5:
                hinted = rng.sample(tickets, k=rng.randint(0, min(2, len(tickets))))
                world.run(hint=frozenset(hinted), search=False)
                world.wait(rng.choice([0, 5, 60]))
            incremental, full = world.plan(incremental=True), world.plan(incremental=False)
            if not lag:
                assert incremental == full
            else:
                assert {t: incremental.get(t) for t in full} == full
                assert all(not world.searchable(t) for t in set(incremental) - set(full))
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
    assert len(sent) <= 5, sent


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


WIDE = {"zendesk": "type:ticket", "cloud": "project = SUP", "dc": "project = SUP ORDER BY key"}
NARROWED = {
    "zendesk": "type:ticket status<solved",
    "cloud": "(project = SUP) AND statusCategory != Done",
    "dc": "(project = SUP) AND statusCategory != Done ORDER BY key",
}
SENT = {"zendesk": "query=status%3Csolved", "dc": "%28project+%3D+SUP%29+AND+statusCategory"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_search_is_narrowed_where_that_is_exact_and_the_plan_says_so(
    flavour: str, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    """No rule acts on solved tickets and no level waits for approval: leaving them out of a
    scope that reads them changes no plan, and the run says so."""
    world = World(flavour, rsps, tmp_path, scope=WIDE[flavour])
    tickets = [world.create(p) for p in ("P1", "P2", "P3", "P1", "P2")]
    world.run(full=True)
    world.solve(tickets[0])  # escalated, then solved
    world.solve(tickets[1])  # not escalated yet, solved
    world.wait(9 * 3600)
    before = len(world.requests())
    narrowed = world.plan(incremental=False)
    searched = [r for r in world.requests()[before:] if "search" in r]
    if flavour in SENT:  # (Jira Cloud sends its JQL in the body)
        assert SENT[flavour] in searched[0]
    assert narrowed == world.plan(incremental=False, as_configured=True)
    assert set(narrowed) == {tickets[2], tickets[3], tickets[4]}  # P3 aged, reminders
    run = world.run(full=True)
    assert run.narrowed is not None and repr(NARROWED[flavour]) in run.narrowed
    assert "no enabled rule acts on solved or closed tickets" in run.narrowed
    assert run.to_json()["narrowed"] == run.narrowed


def test_no_narrowing_when_a_rule_acts_on_solved_tickets_or_a_level_waits_for_approval(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    from dataclasses import replace as swap  # noqa: PLC0415

    from connector.scopes import narrowed  # noqa: PLC0415
    from rules.schema import ApprovalModel  # noqa: PLC0415

    world = World("zendesk", rsps, tmp_path, scope="type:ticket")
    config = world.config
    settings, why = narrowed(config, "world")
    assert settings.model_dump()["scope"] == "type:ticket status<solved" and why is not None
    closing = swap(config.policy.rules[0], on_done=True)
    rules = (closing, *config.policy.rules[1:])
    assert narrowed(swap(config, policy=swap(config.policy, rules=rules)), "world")[1] is None
    l2 = config.policy.levels[1]
    gated = swap(l2, model=l2.model.model_copy(update={"approval": ApprovalModel(anyone=True)}))
    levels = (config.policy.levels[0], gated)
    assert narrowed(swap(config, policy=swap(config.policy, levels=levels)), "world")[1] is None
    from adapters.zendesk.adapter import ZendeskAdapter  # noqa: PLC0415
    from connector.runner import open_adapter  # noqa: PLC0415

    as_written = open_adapter(config, "world", world.runtime)
    as_read = open_adapter(config, "world", world.runtime, narrow=True)
    assert isinstance(as_written, ZendeskAdapter) and isinstance(as_read, ZendeskAdapter)
    assert as_written.settings.scope == "type:ticket"  # setup, doctor, reports
    assert as_read.settings.scope == "type:ticket status<solved"  # run, plan, apply
    as_written.close()
    as_read.close()
    (tmp_path / "default").mkdir()
    default = World("zendesk", rsps, tmp_path / "default")  # status<solved already
    assert narrowed(default.config, "world")[1] is None


def test_the_cli_runs_incrementally_and_full_on_demand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`escalate run` with `run.incremental: true`, over HTTP: the first run sweeps, the next
    reads incrementally, `--full` sweeps again; each summary says which and why."""
    from tests.connector.platforms import platforms  # noqa: PLC0415

    with platforms(tmp_path, capsys) as p:
        config = p.config(incremental=True, full_sweep="1h", index_lag="5m")
        (ticket,) = p.p1(1)
        first = p.invoke("run", "-c", config, "--instance", "zendesk")
        assert first.code == 0, first.err
        assert "read: full sweep: no due index yet" in first.out
        p.time.now += 300
        second = p.invoke("run", "-c", config, "--instance", "zendesk")
        assert "read: incremental: updated since 2026-03-02T09:55:00Z" in second.out
        assert "fetched 1," in second.out  # our own write of the first run, read back
        p.time.now += 300
        third = p.invoke("run", "-c", config, "--instance", "zendesk", "--full")
        assert "read: full sweep: asked for (--full)" in third.out
        assert p.zendesk.field_value(int(ticket), "Escalation level") == "L2"


def test_incremental_runs_keep_their_index_in_postgresql(
    rsps: responses.RequestsMock, tmp_path: Path, pg_server: Server
) -> None:
    """The due index in the shared store (schema step 3): a sweep builds it, an incremental
    run reads only what came due, on a real PostgreSQL server."""
    store, name = PostgresStore(pg_server.url, pg_server.password), f"pg-{tmp_path.name}"
    try:
        world = World("dc", rsps, tmp_path, name=name, full_sweep="6h")
        world.runtime.store = store
        aged = world.create("P2")  # due at 2 hours old
        world.create("P3")
        world.wait(600)  # both created before the window the next run reads
        assert world.run(full=True).read_mode == "full"
        rows = store.due(name)
        rows.open(f"due {name}")
        assert {r[0] for r in rows.dump()} == {aged, "SUP-2"}
        world.wait(2 * 3600 - 600)
        run = world.run()
        assert run.read_mode == "incremental" and run.summary.evaluated == 1
        assert world.level(aged) == "L2"
    finally:
        store.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_due_ticket_deleted_or_solved_meanwhile_leaves_the_index(
    flavour: str, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    """Jira refuses a `key in` naming a deleted issue: the key is dropped and the search sent
    again; Zendesk's show_many leaves it out. Either way the run goes on, and the index forgets
    it (and a solved one)."""
    world = World(flavour, rsps, tmp_path, full_sweep="6h")
    deleted, solved, kept = world.create("P2"), world.create("P2"), world.create("P2")
    world.wait(600)
    world.run(full=True)
    world.delete(deleted)
    world.wait(3600)
    world.solve(solved)
    world.wait(3600)  # all three came due (2 hours old); one gone, one out of scope
    run = world.run()
    assert run.read_mode == "incremental" and run.fatal is None
    assert world.level(kept) == "L2"
    rows = world.runtime.state(world.config).due(world.name)
    rows.open(f"due {world.name}")
    assert deleted not in {r[0] for r in rows.dump()}
    assert solved not in {r[0] for r in rows.dump()}


@pytest.mark.parametrize("search", [True, False])
@pytest.mark.parametrize("scope", ["type:ticket status<solved", 'status<solved group:"Support L1"'])
def test_a_hinted_ticket_is_read_at_once_where_its_scope_can_be_checked(
    scope: str, search: bool, rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    """`run_incremental` with a webhook's hint (what `escalate serve` calls), on a Zendesk
    search 5 minutes late: with a scope of statuses only, the hinted ticket is read by id and
    escalated at once; with a scope that also names a group, it waits for the search.
    `search=False` (a cycle only webhooks prompted): with statuses alone no search is sent and
    the high-water mark stays; with a group the search is sent all the same."""
    from connector.audit import AuditLog  # noqa: PLC0415
    from connector.incremental import run_incremental  # noqa: PLC0415

    world = World("zendesk", rsps, tmp_path, search_lag=300, scope=scope)
    tid = world.create("P3")
    world.wait(600)
    world.run(full=True)
    world.wait(60)
    world.set_priority(tid, "P1")
    world.wait(5)
    before, marked = len(world.requests()), _mark(world)
    audit = AuditLog(None, "serve", world.time.clock)
    run = run_incremental(
        world.config, world.name, world.runtime, {tid}, audit=audit, search=search
    )
    audit.close()
    sent, after = world.requests()[before:], _mark(world)
    world.runtime.close_store()
    assert run.read_mode == "incremental" and run.fatal is None
    searched = any("search" in r for r in sent)
    assert searched == (search or "group" in scope), sent
    assert (after.high_water == marked.high_water) == (not searched)
    assert after.swept_at == marked.swept_at
    if "group" in scope:
        assert world.level(tid) is None
        world.wait(300)
        world.run()
    assert world.level(tid) == "L2"


def _mark(world: World) -> DueMark:
    rows = world.runtime.state(world.config).due(world.name)
    rows.open(f"due {world.name}")
    mark = rows.mark()
    assert mark is not None
    return mark
