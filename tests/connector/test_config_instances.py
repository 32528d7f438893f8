"""Instance settings are checked offline by each adapter's settings model, with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import load_config
from rules.errors import ConfigError

POLICY = """version: 1
priorities: [P1, P2]
defaults: {calendar: 24x7}
levels: [{name: L1}, {name: L2}]
rules:
  - {name: a, when: {priority: P1}, then: {escalate: next}}
"""


def write(tmp_path: Path, instances: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(POLICY + "instances:\n" + instances, encoding="utf-8")
    return path


def test_both_platforms_load_with_their_settings(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "  zd:\n"
            "    platform: zendesk\n"
            "    url: https://acme.zendesk.com/\n"
            "    auth: {type: oauth_token, token: {env: ZD_TOKEN}}\n"
            "  jira:\n"
            "    platform: jira\n"
            "    url: https://acme.atlassian.net\n"
            "    auth: {personal_access_token: {file: /run/secrets/jira}}\n"
            "    budget: {requests_per_minute: 100}\n",
        )
    )
    zd, jira = config.instances["zd"], config.instances["jira"]
    assert zd.platform == "zendesk" and zd.url == "https://acme.zendesk.com"
    assert jira.platform == "jira" and jira.budget.requests_per_minute == 100


def test_every_instance_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  zd:\n"
        "    platform: zendesk\n"
        "    url: https://acme.zendesk.com\n"
        "    auth: {type: api_token, email: bot@example.com, token: hunter2-inline}\n"
        "  jira:\n"
        "    platform: jira\n"
        "    url: https://acme.atlassian.net\n"
        "    auth: {email: bot@example.com, api_token: {env: T}}\n"
        "    page_sise: 50\n"
        "  other:\n"
        "    platform: servicenow\n"
        "    url: https://x\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "config.yaml:11: instances.zd.auth.api_token.token: a secret is never written" in text
    assert "hunter2" not in text
    assert "config.yaml:16: instances.jira.page_sise: unknown key" in text
    assert "instances.other.platform" in text


def test_plain_http_is_refused_except_on_this_machine(tmp_path: Path) -> None:
    auth = "    auth: {type: oauth_token, token: {env: T}}\n"
    with pytest.raises(ConfigError, match="plain http"):
        load_config(
            write(tmp_path, "  zd:\n    platform: zendesk\n    url: http://acme.example\n" + auth)
        )
    config = load_config(
        write(tmp_path, "  zd:\n    platform: zendesk\n    url: http://127.0.0.1:8080\n" + auth)
    )
    assert config.instances["zd"].url == "http://127.0.0.1:8080"
