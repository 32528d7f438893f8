"""`escalate state migrate`, and the config's `state:` section as `validate` checks it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connector.cli import main
from tests.store.pg import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"


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
    assert out.startswith(f"{pg_server.url}: schema version 1 (")
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
