"""An instance that cannot be reached, through the real CLI: one sentence naming the host and
port, no traceback, no retry, the documented exit code (1), and `doctor`'s hint is about the
network, never the credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.netfaults import closed_port
from tests.connector.platforms import Platforms, platforms


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    """Both instances point at a loopback port nothing listens on."""
    with platforms(tmp_path, capsys) as found:
        port = closed_port()
        found.urls.update(zendesk=f"http://127.0.0.1:{port}", jira=f"http://127.0.0.1:{port}")
        yield found


def refused(p: Platforms) -> str:
    port = p.urls["jira"].rsplit(":", 1)[1]
    return (
        f"cannot connect to 127.0.0.1:{port} (connection refused): check the instance's url"
        " (host and port), that the server is up, and that no firewall blocks the connection"
    )


def test_doctor_says_what_to_check_for_each_instance(p: Platforms) -> None:
    result = p.invoke("doctor", "-c", p.config())
    assert result.code == 1, result.out + result.err
    assert result.out == (
        f"zendesk (zendesk, {p.urls['zendesk']})\n  FAIL connection: {refused(p)}\n"
        f"jira (jira, {p.urls['jira']})\n  FAIL connection: {refused(p)}\n"
        "2 problems\n"
    )
    assert "Traceback" not in result.err
    assert p.time.slept == []


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_run_aborts_each_instance_at_once_with_the_sentence(p: Platforms, command: str) -> None:
    result = p.invoke(command, "-c", p.config())
    assert result.code == 1, result.out + result.err
    for name in ("zendesk", "jira"):
        line = f"{name} ({name}): aborted: {refused(p)} (no change was written)"
        assert line in result.out.splitlines(), result.out
    assert "Traceback" not in result.err and "urllib3" not in result.out + result.err
    assert p.time.slept == []


def test_setup_prints_the_sentence_without_a_traceback(p: Platforms) -> None:
    result = p.invoke("setup", "-c", p.config(), "--instance", "jira", "--yes")
    assert result.code == 1, result.out + result.err
    assert result.err == f"error: {refused(p)}\n"
    assert p.time.slept == []
