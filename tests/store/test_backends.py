"""Both state stores behind one interface, against a real PostgreSQL server (tests/store/pg.py)
and the state directory's files: the lock, the journal's and the cache's rows, identity
changes, migrations; and what only PostgreSQL has to survive (a killed holder, a restart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from state import Locked, Store, StoreError
from state.postgres import PostgresStore, shown
from state.sqlite import SqliteStore
from tests.store.pg import Server

ROOT = Path(__file__).resolve().parents[2]
ROW = ("7", "v1 c=1", "reply", '{"comment": {}}', "We are on it", "bot", 1.5, False, "", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        found: Store = SqliteStore(tmp_path / "state")
    else:
        server: Server = request.getfixturevalue("pg_server")
        found = PostgresStore(server.url, server.password)
    yield found
    found.close()


def unique(tmp_path: Path) -> str:
    return f"inst-{tmp_path.name}"  # one database serves every test: keep instances apart


def test_the_lock_is_exclusive_and_released(store: Store, tmp_path: Path) -> None:
    name = unique(tmp_path)
    lease = store.lock(name)
    assert lease.alive()
    with pytest.raises(Locked, match="another run holds the lock"):
        store.lock(name)
    other = store.lock(name + "-other")  # instances do not block each other
    lease.release()
    store.lock(name).release()
    other.release()


def test_owed_rows_round_trip_and_another_identity_empties_them(
    store: Store, tmp_path: Path
) -> None:
    rows = store.owed(unique(tmp_path))
    assert rows.open("3 https://a.example") is False
    rows.put([ROW, (*ROW[:1], "v1 c=2", *ROW[2:])])
    rows.confirm("7", "v1 c=1")
    found = rows.select("7")
    assert [r[1] for r in found] == ["v1 c=1", "v1 c=2"] and found[0][7] is True
    rows.delete([("7", "v1 c=2")])
    assert [r[1] for r in rows.select()] == ["v1 c=1"]
    again = store.owed(unique(tmp_path))
    assert again.open("3 https://a.example") is False and len(again.select()) == 1
    other = store.owed(unique(tmp_path))
    assert other.open("3 https://b.example") is True
    assert other.select() == []


def test_history_rows_get_put_prune(store: Store, tmp_path: Path) -> None:
    rows = store.history(unique(tmp_path))
    rows.open("1 acct")
    rows.put([("1", "2026-01-01T00:00:00Z", "[]"), ("2", "2026-01-02T00:00:00Z", "[]")])
    rows.put([("1", "2026-01-03T00:00:00Z", '[{"a": 1}]')])
    assert rows.get(["1", "9"]) == [("1", "2026-01-03T00:00:00Z", '[{"a": 1}]')]
    assert rows.prune({"1"}) == 1
    assert [r[0] for r in rows.get(["1", "2"])] == ["1"]


def test_migrations_are_idempotent_and_the_url_is_shown_without_password(
    pg_server: Server,
) -> None:
    store = PostgresStore(pg_server.url, pg_server.password)
    store.migrate()
    assert store.migrate() == []
    assert shown("postgresql://u:pw@db.example:5433/x?sslmode=require") == (
        "postgresql://u@db.example:5433/x"
    )
    store.close()


def test_a_wrong_password_is_one_sentence_without_the_password(pg_server: Server) -> None:
    store = PostgresStore(pg_server.url, "not-the-password-42")
    with pytest.raises(StoreError, match="password authentication failed") as caught:
        store.lock("x")
    assert "not-the-password-42" not in str(caught.value)
    assert str(caught.value).startswith(f"PostgreSQL at {pg_server.url}:")


HOLDER = """
import sys, time
from state.postgres import PostgresStore
store = PostgresStore(sys.argv[1], sys.argv[2])
lease = store.lock(sys.argv[3])
print("held", flush=True)
sys.stdin.read()  # hold until killed
"""


def test_a_killed_holder_releases_the_lock(pg_server: Server, tmp_path: Path) -> None:
    """kill -9: PostgreSQL ends the session, and the lock with it."""
    name = unique(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_server.url, pg_server.password, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = PostgresStore(pg_server.url, pg_server.password)
        with pytest.raises(Locked):
            store.lock(name)
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        for _ in range(200):  # the server notices the closed socket at once; allow it a moment
            try:
                store.lock(name).release()
                break
            except Locked:
                subprocess.run(["true"], check=True)  # yield the CPU, no sleep
        else:
            pytest.fail("the lock of a killed holder was not released")
        store.close()
    finally:
        holder.kill()


def test_an_account_that_may_only_read_and_write_rows_runs_once_the_tables_exist(
    pg_server: Server, tmp_path: Path
) -> None:
    """`state migrate` as the owner, then runs as an account without CREATE."""
    owner = PostgresStore(pg_server.url, pg_server.password)
    owner.migrate()
    with owner.pool().connection() as conn:
        conn.execute("DROP ROLE IF EXISTS escalate_rw")
        conn.execute("CREATE ROLE escalate_rw LOGIN PASSWORD 'rw-secret-5'")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                     " TO escalate_rw")  # fmt: skip
        conn.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO escalate_rw")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    owner.close()
    url = pg_server.url.replace("postgres@", "escalate_rw@")
    store = PostgresStore(url, "rw-secret-5")
    rows = store.owed(unique(tmp_path))
    rows.open("3 x")
    rows.put([ROW])
    assert len(rows.select()) == 1
    store.lock(unique(tmp_path)).release()
    store.close()


def test_the_pool_is_opened_once_however_many_threads_ask(pg_server: Server) -> None:
    store = PostgresStore(pg_server.url, pg_server.password)
    with ThreadPoolExecutor(8) as pool:
        pools = set(pool.map(lambda _: id(store.pool()), range(8)))
    assert len(pools) == 1
    store.close()


def test_an_import_keeps_a_row_a_run_wrote_since(store: Store, tmp_path: Path) -> None:
    rows = store.owed(unique(tmp_path))
    rows.open("3 x")
    newer = (*ROW[:7], True, "", "")
    rows.put([newer])
    rows.put([ROW], keep=True)  # the export's older copy
    assert rows.select()[0][7] is True


NOTICE = ("n1", "7", "exec-slack", "level:L3#0.1", "trigger", 100.0, "due", 0, "{}", "", 1.0, 1.0)


def test_notice_rows_are_kept_once_by_id_and_marked(store: Store, tmp_path: Path) -> None:
    rows = store.notices(unique(tmp_path))
    later = ("n0", "8", "mail", "rule:r#0.1", "trigger", 50.0, "due", 0, "{}", "", 1.0, 1.0)
    assert rows.add([NOTICE, later]) == 2
    assert rows.add([(*NOTICE[:6], "sent", 9, "{}", "", 2.0, 2.0)]) == 0  # kept as it was
    rows.mark("n1", "sending", 1, "", 3.0)
    assert [r[0] for r in rows.select()] == ["n0", "n1"]  # by due time
    assert rows.select(["sending"]) == [(*NOTICE[:6], "sending", 1, "{}", "", 1.0, 3.0)]
    assert [r[0] for r in rows.select(["due", "sending"], ticket="8")] == ["n0"]
    rows.close()
    again = store.notices(unique(tmp_path))
    assert [r[6] for r in again.select()] == ["due", "sending"]  # committed, kept
    again.close()


def test_notice_rows_are_forgotten_by_id(store: Store, tmp_path: Path) -> None:
    rows = store.notices(unique(tmp_path))
    other = ("n2", *NOTICE[1:])
    rows.add([NOTICE, other])
    rows.forget(["n1", "nope"])
    rows.forget([])
    assert [r[0] for r in rows.select()] == ["n2"]
    rows.close()


def test_a_notice_is_claimed_once(store: Store, tmp_path: Path) -> None:
    rows = store.notices(unique(tmp_path))
    rows.add([NOTICE])
    assert rows.claim("n1", ["due", "failed"], 1, 5.0)
    assert not rows.claim("n1", ["due", "failed"], 1, 5.0)  # "sending" now: another run's
    assert not rows.claim("nope", ["due"], 1, 5.0)
    assert rows.select() == [(*NOTICE[:6], "sending", 1, "{}", "", 1.0, 5.0)]
    rows.close()


def test_planned_notices_take_new_text_until_confirmed(store: Store, tmp_path: Path) -> None:
    rows = store.notices(unique(tmp_path))
    planned = (*NOTICE[:6], "planned", 0, '{"v": 1}', "", 1.0, 1.0)
    rows.plan([planned])
    rows.plan([(*NOTICE[:5], 200.0, "planned", 0, '{"v": 2}', "", 2.0, 2.0)])  # evaluated again
    assert rows.select()[0][5:9] == (200.0, "planned", 0, '{"v": 2}')
    rows.confirm(["n1", "nope"], 3.0)
    rows.plan([(*NOTICE[:5], 300.0, "planned", 0, '{"v": 3}', "", 4.0, 4.0)])  # kept as due
    assert rows.select()[0][5:9] == (200.0, "due", 0, '{"v": 2}')
    rows.close()


def test_due_index_rows_mark_sweep_and_policy_change(store: Store, tmp_path: Path) -> None:
    from state import DueMark  # noqa: PLC0415

    rows = store.due(unique(tmp_path))
    assert rows.open("acct") is False
    assert rows.mark() is None and rows.due(1e12) == []
    mark = DueMark(high_water=100.0, swept_at=90.0, policy="p1")
    rows.put([("1", 150.0, "s1", "p1"), ("2", None, "s2", "p1"), ("3", 500.0, "s3", "p1")], mark)
    assert rows.mark() == mark
    assert rows.due(149.0) == [] and rows.due(150.0) == [("1", "s1")]
    assert rows.due(1e12) == [("1", "s1"), ("3", "s3")]
    rows.put([("3", 120.0, "s3b", "p0")], DueMark(200.0, 90.0, "p1"))  # an old hash: due
    assert rows.due(100.0) == [("3", "s3b")] and rows.mark() == DueMark(200.0, 90.0, "p1")
    rows.drop(["1"])
    assert [r[0] for r in rows.dump()] == ["2", "3"]
    rows.put([("4", 300.0, "s4", "p2")], DueMark(300.0, 300.0, "p2"), sweep=True)
    assert rows.dump() == [("4", 300.0, "s4", "p2")]
    other = store.due(unique(tmp_path))
    assert other.open("another account") is True
    assert other.dump() == [] and other.mark() is None
