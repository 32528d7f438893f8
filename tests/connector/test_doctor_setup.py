"""`escalate doctor` and `escalate setup` through the real CLI against emulated platforms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector.platforms import JIRA_TOKEN, ZENDESK_SECRET, Platforms, platforms


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        found.jira.api_tokens["bot@example.com"] = JIRA_TOKEN
        found.p1(1)
        found.p1(1, "jira")
        yield found


def test_a_healthy_setup_passes_every_check(p: Platforms) -> None:
    result = p.invoke("doctor", "-c", p.config())
    assert result.code == 0, result.out + result.err
    assert result.out.startswith(f"zendesk (zendesk, {p.urls['zendesk']})\n  ok   credentials:")
    assert "  ok   rate limit:" in result.out and "  ok   edit screens:" in result.out
    assert "FAIL" not in result.out
    assert result.out.endswith("all checks passed\n")
    assert ZENDESK_SECRET not in result.out + result.err and JIRA_TOKEN not in result.out


def test_a_bad_token_fails_the_credentials_check_with_the_fix(p: Platforms) -> None:
    config = p.config()
    (p.tmp / "jira.secret").write_text("not-the-token\n")
    result = p.invoke("doctor", "-c", config, "--instance", "jira")
    assert result.code == 1
    assert "  FAIL credentials: GET /rest/api/2/serverInfo answered 401" in result.out
    assert "Fix: make a new API token" in result.out
    assert "not-the-token" not in result.out + result.err


def test_a_missing_field_is_named_with_the_fix(p: Platforms) -> None:
    fid = p.zendesk.field_id("SLA due")
    del p.zendesk.fields[fid]
    result = p.invoke("doctor", "-c", p.config(), "--instance", "zendesk")
    assert result.code == 1
    assert "  FAIL fields:" in result.out
    assert "tracking field sla_due 'SLA due': missing" in result.out
    assert "Run `escalate setup` to create the missing tracking fields" in result.out


def test_a_field_not_on_the_edit_screen(p: Platforms) -> None:
    p.jira.screens["SUP"].discard(p.jira.field_id("Escalation state"))
    result = p.invoke("doctor", "-c", p.config(), "--instance", "jira")
    assert result.code == 1
    assert "  FAIL edit screens:" in result.out
    assert "Escalation state" in result.out and "Project settings → Screens" in result.out


def test_setup_shows_asks_creates_once(p: Platforms) -> None:
    del p.zendesk.fields[p.zendesk.field_id("SLA due")]
    config = p.config()
    unasked = p.invoke("setup", "-c", config, "--instance", "zendesk")
    assert unasked.code == 2
    assert "  create field   'SLA due' (tracking field sla_due): text\n" in unasked.out
    assert "  create view    'Escalated tickets' (escalation queue): " in unasked.out
    assert "  adopt field    'Escalation level' (" in unasked.out
    assert "re-run with --yes" in unasked.err
    assert not [f for f in p.zendesk.fields.values() if f["title"] == "SLA due"]
    made = p.invoke("setup", "-c", config, "--instance", "zendesk", "--yes")
    assert made.code == 0, made.out + made.err
    assert "zendesk: created field 'SLA due'" in made.out
    assert "zendesk: created view 'Escalated tickets': " in made.out
    assert "zendesk: adopted field 'Escalation state' (" in made.out
    assert [f["type"] for f in p.zendesk.fields.values() if f["title"] == "SLA due"] == ["text"]
    both = p.invoke("setup", "-c", config, "--yes")
    assert both.code == 0, both.out + both.err
    assert "zendesk: created" not in both.out  # it all exists now
    assert "jira: created filter 'Escalated tickets': " in both.out
    again = p.invoke("setup", "-c", config, "--yes")
    assert again.code == 0, again.out + again.err
    assert again.out.endswith("nothing to create\n")
    assert "  exists         view 'Escalated tickets'" in again.out
    assert "  exists         filter 'Escalated tickets'" in again.out
    assert len(p.zendesk.views) == 1
