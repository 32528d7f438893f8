"""`escalate state migrate`, and the config's `state:` section as `validate` checks it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from adapters.history_cache import HistoryCache, cache_path
from adapters.owed import Journal, Owed, journal_path
from connector.cli import main
from rules.policy import load_policy
from state.migrations import latest
from state.postgres import PostgresStore, shown
from state.sqlite import SqliteStore
from state.sqlite_file import FileLock
from tests.store.pg import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
POLICY = load_policy(EXAMPLE.read_text(), "config.example.yaml")
NOW = datetime(2026, 1, 2, tzinfo=UTC)


def config(tmp_path: Path, state: dict[str, object] | None) -> Path:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc.setdefault("run", {})["state_dir"] = str(tmp_path / "state")
    if state is not None:
        doc["state"] = state
    path = tmp_path / "escalate.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def escalate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """The real entry point; its exit code and everything it printed."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out + err


def test_migrate_creates_the_tables_once(
    pg_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pg.secret"
    secret.write_text(pg_server.password)
    path = config(tmp_path, {"url": pg_server.url, "password": {"file": str(secret)}})
    code, out = escalate(capsys, "state", "migrate", "-c", path)
    assert code == 0, out
    assert out.startswith(f"{pg_server.url}: schema version {latest()} (")
    code, out = escalate(capsys, "state", "migrate", "-c", path)
    assert code == 0 and out.strip().endswith("(nothing to apply)")


def test_without_a_url_nothing_needs_migrating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = escalate(capsys, "state", "migrate", "-c", config(tmp_path, None))
    assert code == 0 and "no state.url: the state directory needs no migration" in out


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"url": "postgresql://u:secret@db/x"}, "state.url holds a password"),
        ({"url": "mysql://db/x"}, "should match pattern"),
        ({"url": "postgresql://db/x", "password": "inline"}, "a secret is never written"),
        ({"url": "postgresql://db/x?password=hunter22"}, "state.url holds a password"),
        ({"url": "postgresql://db:99999/x"}, "the port of 'db:99999' is not a number"),
        ({"url": "postgresql://u@h1:5432,h2:0/x"}, "the port of 'h2:0' is not a number"),
    ],
)
def test_a_bad_state_section_is_refused_offline(
    tmp_path: Path, state: dict[str, object], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = escalate(capsys, "validate", "-c", config(tmp_path, state))
    assert code == 2 and message in out, out
    assert "secret" not in out.replace("a secret is never written", "")


def test_a_missing_password_stops_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, {"url": "postgresql://u@127.0.0.1:1/x", "password": {"env": "NOPE_PG"}})
    code, out = escalate(capsys, "state", "migrate", "-c", path)
    assert code == 2 and "environment variable NOPE_PG is not set" in out, out


def test_a_state_directory_moves_into_postgresql_without_losing_an_owed_comment(
    pg_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config(tmp_path, None)
    state_dir = tmp_path / "state"
    journal = Journal(journal_path(state_dir, "zendesk-prod"), "https://acme.example", lambda: 5.0)
    owed = Owed(
        "42", "reply", {"comment": {"body": "We are on it"}}, "We are on it", "v1 c=1", "7", 5.0
    )
    assert journal.owe([owed])
    journal.close()
    cache = HistoryCache(cache_path(state_dir, "zendesk-prod"), platform="zendesk", policy=POLICY)
    cache.open("acct")
    cache.put([("42", "2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC), [])], NOW)
    cache.close()
    head = ("n1", "42", "exec-slack", "level:L2#0.1", "trigger", 5.0)
    notice = (*head, "sent", 1, "{}", "", 5.0, 5.0)
    SqliteStore(state_dir).notices("zendesk-prod").add([notice])  # sent: never sent again
    dump = tmp_path / "state.jsonl"
    code, out = escalate(capsys, "state", "export", "-c", old, "--out", dump)
    assert code == 0 and "exported 3 rows" in out, out
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    secret = tmp_path / "pg.secret"
    secret.write_text(pg_server.password)
    (tmp_path / "new").mkdir()
    new = config(tmp_path / "new", {"url": pg_server.url, "password": {"file": str(secret)}})
    code, out = escalate(capsys, "state", "import", "-c", new, dump)
    assert code == 0, out
    assert "zendesk-prod: 1 owed rows" in out and "zendesk-prod: 1 history rows" in out
    store = PostgresStore(pg_server.url, pg_server.password)
    moved = Journal(store.owed("zendesk-prod"), "https://acme.example", lambda: 5.0)
    assert moved.due() == [owed]
    kept = HistoryCache(store.history("zendesk-prod"), platform="zendesk", policy=POLICY)
    kept.open("acct")
    assert set(kept.get({"42": "2026-01-01T00:00:00Z"})) == {"42"}
    assert "zendesk-prod: 1 notices rows" in out
    assert store.notices("zendesk-prod").select() == [notice]
    store.close()


def test_an_export_while_a_run_holds_the_lock_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, None)
    with FileLock(tmp_path / "state", "zendesk-prod"):
        code, out = escalate(capsys, "state", "export", "-c", path)
    assert code == 1 and "another run holds the lock" in out and "Stop the schedule" in out
    assert "Traceback" not in out


def test_a_multi_host_url_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://u@h1:5432,h2:5433/e?target_session_attrs=read-write"
    code, out = escalate(capsys, "validate", "-c", config(tmp_path, {"url": url}))
    assert code == 0, out
    assert shown(url) == "postgresql://u@h1:5432,h2:5433/e"
