"""Fleet runs: `escalate run --jobs N` (and `plan --jobs N`) over many instances at once, through
the real CLI on in-memory platforms. Parallelism is proved, not timed: the first instances wait
at a barrier that only opens when `--jobs` of them are in flight (a timeout fails the test
instead of hanging it)."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.lock import InstanceLock
from tests.connector.fleet import Fleet, fleet

#: Twenty instances, in an order that is neither alphabetical nor the order they finish in.
NAMES = tuple(
    f"{'jira' if i % 3 == 0 else 'zd'}-{i:02d}" for i in sorted(range(20), key=lambda i: i * 7 % 20)
)
TIMEOUT = 10.0  # seconds a barrier waits before it breaks: a failure, never a hang


@pytest.fixture
def f(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fleet]:
    with fleet(tmp_path, capsys, instances=NAMES) as found:
        for name in NAMES:
            found.p1(2, name)
        yield found


class InFlight:
    """The first `jobs` instances to connect wait for each other: they pass only if that many
    are in flight at once. Records which threads connected to which instance."""

    def __init__(self, jobs: int) -> None:
        self.barrier = threading.Barrier(jobs, timeout=TIMEOUT)
        self.jobs = jobs
        self.threads: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, name: str) -> None:
        with self.lock:
            self.threads[name] = threading.current_thread().name
            first = len(self.threads) <= self.jobs
        if first:
            self.barrier.wait()  # BrokenBarrierError after TIMEOUT: that instance aborts


def lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.startswith("  ")]


def names_in(out: str) -> list[str]:
    return [line.split(" ", 1)[0] for line in lines(out)]


def audit(f: Fleet) -> list[dict[str, object]]:
    path = f.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_twenty_instances_four_at_once_all_done_summary_in_config_order(f: Fleet) -> None:
    f.on_connect = probe = InFlight(4)
    result = f.invoke("run", "-c", f.config(), "--jobs", "4")
    assert result.code == 0, result.out + result.err
    assert not probe.barrier.broken
    assert names_in(result.out) == list(NAMES)
    done = "matched 2, 2 to change, applied 2, unchanged 0, failed 0"
    assert all(done in line for line in lines(result.out))
    assert len(set(probe.threads.values())) == 4  # never more threads than --jobs
    assert all(f.level(t, name) == "L2" for name in NAMES for t in f.stores[name].tickets)
    events = audit(f)
    finished = [e["instance"] for e in events if e["event"] == "instance_finished"]
    assert sorted(finished) == sorted(NAMES)  # one each, in the order they finished
    assert events[-1]["event"] == "run_finished" and events[-1]["exit_code"] == 0


def test_a_broken_instance_does_not_stop_the_others(f: Fleet) -> None:
    f.stores["zd-07"].fail("page_error", times=100)  # its second page fails: no change there
    f.p1(150, "zd-07")
    probe = InFlight(4)

    def connect(name: str) -> None:
        probe(name)
        if name == "jira-12":
            raise RuntimeError("a bug in this instance's adapter")

    f.on_connect = connect
    result = f.invoke("run", "-c", f.config(), "--jobs", "4")
    assert result.code == 3  # a bug counts first (docs/cli.md: the worst instance counts)
    assert names_in(result.out) == list(NAMES)
    by_name = dict(zip(names_in(result.out), lines(result.out), strict=True))
    assert "aborted:" in by_name["zd-07"] and "(no change was written)" in by_name["zd-07"]
    assert "aborted: RuntimeError: a bug in this instance's adapter" in by_name["jira-12"]
    done = [n for n in NAMES if n not in ("zd-07", "jira-12")]
    assert all("applied 2," in by_name[n] for n in done)
    assert all(f.level(t, n) == "L2" for n in done for t in f.stores[n].tickets)
    assert f.stores["zd-07"].calls["PUT"] == 0 and not f.stores["jira-12"].calls


def test_mixed_outcomes_exit_with_the_worst(f: Fleet) -> None:
    f.stores["zd-07"].fail("page_error", times=100)
    f.p1(150, "zd-07")
    only_failed_reads = f.invoke("run", "-c", f.config(), "--jobs", "4")
    assert only_failed_reads.code == 1
    f.stores["zd-13"].fields.discard("state")  # a tracking field missing: the user's to fix
    with_setup_error = f.invoke("run", "-c", f.config(), "--jobs", "4")
    assert with_setup_error.code == 2
    assert "zd-13 (zendesk): aborted: in-memory instance zd-13: fields missing: state" in (
        with_setup_error.out
    )


def test_the_summary_is_the_same_at_any_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = []
    for jobs in ("1", "4"):
        with fleet(tmp_path / jobs, capsys, instances=NAMES) as g:
            (tmp_path / jobs).mkdir()
            for i, name in enumerate(NAMES):
                g.p1(2 if name == "zd-04" else 1 + i % 3, name)
            g.stores["zd-04"].fail("refuse", ticket=next(iter(g.stores["zd-04"].tickets)))
            result = g.invoke("run", "-c", g.config(), "--jobs", jobs)
            assert result.code == 1
            outs.append(result.out)
    assert outs[0] == outs[1]
    zd04 = "zd-04 (zendesk): fetched 2, matched 2, 2 to change, applied 1, unchanged 0, failed 1"
    assert zd04 in outs[0]


def test_a_held_lock_skips_that_instance_only(f: Fleet) -> None:
    with InstanceLock(f.state, "zd-05"):
        result = f.invoke("run", "-c", f.config(), "--jobs", "4")
    assert result.code == 0, result.out
    assert "zd-05 (zendesk): locked: instance zd-05: another run holds the lock" in result.out
    assert not f.stores["zd-05"].calls
    assert sum("applied 2," in line for line in lines(result.out)) == 19


def test_run_jobs_in_the_config_and_the_option_wins(f: Fleet) -> None:
    config = f.config(jobs=4)
    f.on_connect = probe = InFlight(4)
    parallel = f.invoke("run", "-c", config, "--dry-run")
    assert parallel.code == 0, parallel.out + parallel.err
    assert not probe.barrier.broken and len(set(probe.threads.values())) == 4
    f.on_connect = one = InFlight(1)
    sequential = f.invoke("run", "-c", config, "--dry-run", "--jobs", "1")
    assert sequential.code == 0 and set(one.threads.values()) == {"MainThread"}
    assert sequential.out == parallel.out


@pytest.mark.parametrize("jobs", ["0", "-1", "65", "many"])
def test_jobs_out_of_range_is_a_usage_error(f: Fleet, jobs: str) -> None:
    result = f.invoke("run", "-c", f.config(), "--jobs", jobs)
    assert result.code == 2
    assert "Invalid value for '--jobs'" in result.err and "Traceback" not in result.err
    assert not any(store.calls for store in f.stores.values())


def test_run_jobs_zero_in_the_config_is_a_config_error(f: Fleet) -> None:
    result = f.invoke("run", "-c", f.config(jobs=0))
    assert result.code == 2
    assert "run.jobs" in result.err and "greater than or equal to 1" in result.err


def test_plan_with_jobs_reads_in_parallel_and_keeps_the_order(f: Fleet) -> None:
    config = f.config()
    sequential = f.invoke("plan", "-c", config, "--format", "json")
    f.on_connect = probe = InFlight(4)
    parallel = f.invoke("plan", "-c", config, "--format", "json", "--jobs", "4")
    assert parallel.code == 0, parallel.err
    assert not probe.barrier.broken and len(set(probe.threads.values())) == 4
    one, other = json.loads(sequential.out), json.loads(parallel.out)
    assert one["changes"] == other["changes"]
    order = list(dict.fromkeys(c["instance"] for c in other["changes"]))
    assert order == list(NAMES)
    assert not any(store.calls["PUT"] for store in f.stores.values())


def test_ctrl_c_lets_the_writes_in_flight_finish_and_starts_no_further_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C (SIGINT to the main thread) while `a` writes its first ticket and `b` is
    starting: that write lands, `a`'s second ticket is not written, `b` stops before it reads
    and `c` writes nothing either (cancelled, or stopped at once if a thread took it up before
    the main thread handled the signal). The command ends as any interrupted command does
    (click turns the KeyboardInterrupt into its Abort: "aborted", exit 2), with no summary."""
    with fleet(tmp_path, capsys, instances=("a", "b", "c")) as g:
        for name in ("a", "b", "c"):
            g.p1(2, name)
        b_started = threading.Event()

        def stopped() -> bool:
            return g.runtime is not None and g.runtime.stop.wait(TIMEOUT)

        def ctrl_c() -> None:  # in `a`'s writing thread, just before its first write lands
            assert b_started.wait(TIMEOUT)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            assert stopped()

        def connect(name: str) -> None:
            if name != "a":
                b_started.set()
                assert stopped()

        g.stores["a"].fail("before_write", action=ctrl_c)
        g.on_connect = connect
        result = g.invoke("run", "-c", g.config(concurrency=1), "--jobs", "2")
        assert result.code == 2 and result.err.endswith("\naborted\n") and not result.out
        assert sorted(str(g.level(t, "a")) for t in g.stores["a"].tickets) == ["L2", "None"]
        for name in ("b", "c"):
            assert g.stores[name].calls["PUT"] == 0
            assert all(g.level(t, name) is None for t in g.stores[name].tickets)
        outcomes = [(r["instance"], r["message"]) for r in audit(g) if r["event"] == "write"]
        assert outcomes == [("a", ""), ("a", "not written: interrupted")]


def test_what_stops_the_command_alone_stops_it_with_jobs_too(f: Fleet) -> None:
    """The lock folder cannot be created: the command's error (exit 2), as without --jobs; the
    instances in flight finish, none further starts."""
    config = f.config()
    f.state.mkdir()
    (f.state / "locks").write_text("a file, not a folder")
    result = f.invoke("run", "-c", config, "--jobs", "4")
    assert result.code == 2
    assert "error: cannot create the lock" in result.err and "Traceback" not in result.err
    assert not any(store.calls for store in f.stores.values())
