"""Two hosts on one PostgreSQL: real `escalate run` processes with separate state directories
and a shared `state:` database, against emulated Zendesk and Jira Cloud over HTTP.

- Started together: the second finds the instance locked (the first holds the advisory lock
  mid-write) and writes nothing; every ticket is escalated once, with one note and one reply.
  With the state directory alone the second would not see the first's lock: on Jira, with no
  compare-and-set, two hosts double-comment (issue 17's measurement).
- The lock holder killed (SIGKILL) after its first write: PostgreSQL ends its session and the
  lock with it; the other host's run proceeds, and sends the reply the killed run owed (the
  journal is in the database): nothing lost, nothing twice.
- PostgreSQL restarted mid-run: the run's lock is gone, so it stops writing and says why; the
  next run (another host) completes, nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.connector.platforms import Platforms, platforms
from tests.e2e.test_processes import WAIT, assert_escalated_once, spawn
from tests.store.pg import Server

#: Each trial is deterministic (host a holds its first write while host b starts); more trials
#: on demand: ESCALATE_SHARED_TRIALS=10 (the closing note of issue 17 reports such a run).
TRIALS = int(os.environ.get("ESCALATE_SHARED_TRIALS", "3"))


@pytest.fixture
def p(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Platforms]:
    """Zendesk and Jira (Cloud, or Data Center where a test asks for "dc") over HTTP."""
    flavour = getattr(request, "param", "cloud")
    with platforms(tmp_path, capsys, start=time.time(), flavour=flavour) as found:
        yield found


def host(p: Platforms, server: Server, name: str, **run: object) -> Path:
    """A config for one host: its own state directory, the shared database."""
    path = p.config(f"{name}.yaml", state_dir=f"state-{name}", **run)
    doc = yaml.safe_load(path.read_text())
    secret = p.tmp / "pg.secret"
    secret.write_text(server.password + "\n")
    doc["state"] = {"url": server.url, "password": {"file": str(secret)}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize(
    ("instance", "p"),
    [("zendesk", "cloud"), ("jira", "cloud"), ("jira", "dc")],
    indirect=["p"],
    ids=["zendesk", "jira-cloud", "jira-dc"],
)
def test_two_hosts_one_database_write_each_ticket_once(
    p: Platforms, pg_server: Server, instance: str, trial: int
) -> None:
    zd, keys = (p.p1(4), []) if instance == "zendesk" else ([], p.p1(4, "jira"))
    first_config, second_config = host(p, pg_server, "a"), host(p, pg_server, "b")
    writing, second_done = threading.Event(), threading.Event()

    def hold(method: str, path: str) -> None:
        writing.set()
        second_done.wait(WAIT)  # host a is mid-write while host b starts

    p.taps[instance].after_write = hold
    first = spawn(p, first_config, "--instance", instance)
    assert writing.wait(WAIT), "host a never wrote"
    second = spawn(p, second_config, "--instance", instance)
    out, err = second.communicate(timeout=WAIT)
    second_done.set()
    p.taps[instance].after_write = None
    assert second.returncode == 0, err
    assert f"{instance} ({instance}): locked" in out, out
    _, first_err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, first_err
    assert_escalated_once(p, zd, keys)


def test_a_killed_holder_releases_the_lock_and_its_owed_reply_is_sent_once(
    p: Platforms, pg_server: Server
) -> None:
    zd = p.p1(3)
    first_config, second_config = host(p, pg_server, "a"), host(p, pg_server, "b")
    child: list[subprocess.Popen[str]] = []
    killed = threading.Event()

    def kill(method: str, path: str) -> None:
        if not killed.is_set():  # the first update (the note) landed; its reply is owed
            killed.set()
            os.kill(child[0].pid, signal.SIGKILL)

    p.taps["zendesk"].after_write = kill
    child.append(spawn(p, first_config, "--instance", "zendesk"))
    child[0].communicate(timeout=WAIT)
    assert killed.is_set() and child[0].returncode == -signal.SIGKILL
    p.taps["zendesk"].after_write = None
    again = spawn(p, second_config, "--instance", "zendesk")  # another host
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    assert "locked" not in out
    assert_escalated_once(p, zd, [])


def test_a_database_restart_mid_run_stops_the_writes_and_the_next_run_completes(
    p: Platforms, pg_server: Server
) -> None:
    zd = p.p1(4)
    # One write at a time: the lock is checked before each; a write already in flight when
    # the lock goes finishes (at most `run.concurrency` of them).
    first_config = host(p, pg_server, "a", concurrency=1)
    second_config = host(p, pg_server, "b")
    restarted = threading.Event()

    def restart(method: str, path: str) -> None:
        if not restarted.is_set():
            restarted.set()
            pg_server.ctl("restart", "-m", "fast")

    p.taps["zendesk"].after_write = restart
    first = spawn(p, first_config, "--instance", "zendesk")
    try:
        out, err = first.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        first.kill()
        out, err = first.communicate()
        raise AssertionError(err[-3000:]) from None
    p.taps["zendesk"].after_write = None
    assert restarted.is_set()
    assert first.returncode != 0, out + err[-2000:]
    assert "lost its lock" in out + err, out + err
    again = spawn(p, second_config, "--instance", "zendesk")
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    assert_escalated_once(p, zd, [])


def test_the_audit_log_is_kept_in_the_database_and_reported_from_any_host(
    p: Platforms, pg_server: Server
) -> None:
    """Host a runs; host b, whose state directory holds no audit log, reports its writes."""
    p.p1(3)
    first_config, second_config = host(p, pg_server, "a"), host(p, pg_server, "b")
    run = spawn(p, first_config, "--instance", "zendesk")
    _, err = run.communicate(timeout=WAIT)
    assert run.returncode == 0, err
    assert "audit_table_off" not in err, err
    p.time.now = time.time() + 1  # the report's clock, after the child's run
    report = p.invoke("report", "-c", second_config, "--no-live", "--format", "json")
    assert report.code == 0, report.err
    assert not (p.tmp / "state-b" / "audit.jsonl").exists()
    figures = json.loads(report.out)
    assert figures["data"]["audit_lines"] >= 3 + 3  # a decision and a write per ticket, at least
    with psycopg.connect(pg_server.url, password=pg_server.password) as conn:
        rows = conn.execute(
            "SELECT outcome, writes, failed FROM escalate_runs WHERE instance = 'zendesk'"
            " ORDER BY started DESC LIMIT 1"
        ).fetchone()
    assert rows == ("ok", 3, 0)
