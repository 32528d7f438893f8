"""`escalate serve`'s HTTP face on a real uvicorn server: health, readiness, metrics, and the
cycle it runs (the full run over the emulated platforms)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import served, with_serve


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def test_health_then_ready_after_the_first_cycle_and_metrics(p: Platforms) -> None:
    zd = p.p1(2)
    config = with_serve(p.config(), p.tmp)
    with served(config, p.time) as s:
        assert s.get("/healthz").status_code == 200
        ready = s.get("/readyz")
        assert ready.status_code == 503 and "no cycle has succeeded" in ready.text
        s.step()  # the first cycle: a full sweep of both instances, writing what is due
        assert s.get("/readyz").status_code == 200
        for tid in zd:
            assert p.zendesk.field_value(int(tid), "Escalation level") == "L2"
        labels = {"instance": "zendesk", "reason": "start", "outcome": "ok"}
        assert s.metric("escalation_serve_cycles_total", **labels) == 1
        assert s.metric("escalation_serve_writes_total", instance="zendesk", status="applied") == 2
        assert s.metric("escalation_serve_ready") == 1
        assert "text/plain" in s.get("/metrics").headers["Content-Type"]


def test_not_ready_when_the_state_store_is_gone(p: Platforms) -> None:
    config = with_serve(p.config(), p.tmp)
    with served(config, p.time) as s:
        s.step()
        assert s.get("/readyz").status_code == 200
        shutil.rmtree(p.state)  # the state volume went away
        gone = s.get("/readyz")
        assert gone.status_code == 503 and "state store is unreachable" in gone.text
        assert s.get("/healthz").status_code == 200  # alive all the same: not restarted


def test_serve_refuses_to_start_without_its_secrets_or_a_port(p: Platforms) -> None:
    config = with_serve(p.config(), p.tmp)
    (p.tmp / "jira-hook.secret").unlink()
    missing = p.invoke("serve", "-c", config, "--listen", "127.0.0.1:0")
    assert missing.code == 2
    assert (
        "serve.webhooks.jira: secret from file" in missing.err and "jira-hook.secret" in missing.err
    )
    config = with_serve(p.config(), p.tmp)
    bad = p.invoke("serve", "-c", config, "--listen", "nowhere")
    assert bad.code == 2 and "Invalid value for --listen: expected HOST:PORT" in bad.err
    high = p.invoke("serve", "-c", config, "--listen", "127.0.0.1:99999")
    assert high.code == 2 and "--listen" in high.err and "Traceback" not in high.err
    with served(config, p.time) as s:
        taken = s.url.rsplit(":", 1)[1]
        busy = p.invoke("serve", "-c", config, "--listen", f"127.0.0.1:{taken}")
        assert busy.code == 2 and f"cannot listen on 127.0.0.1:{taken}" in busy.err


def test_a_public_url_must_be_https_but_loopback(p: Platforms) -> None:
    config = with_serve(p.config(), p.tmp, public_url="http://escalate.example.com")
    checked = p.invoke("validate", "-c", config)
    assert checked.code == 2 and "serve.public_url must be an https:// address" in checked.err
