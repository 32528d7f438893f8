"""Jira Cloud webhooks of an installed app, delivered by the emulated Jira itself over real HTTP
with the JWT Atlassian sends (`emulators.jira.apps`), into a real `escalate serve` on uvicorn:
a person's edit makes the escalation in one cycle; an app with another secret or key gets 401s
and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from emulators.jira import apps
from emulators.jira import hooks as jira_hooks
from emulators.outbox import Outbox
from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import (
    JIRA_APP_KEY,
    JIRA_APP_SECRET,
    Served,
    served,
    with_app_jwt,
    with_serve,
)
from tests.connector.test_run import jira_level

EVENTS = ["jira:issue_created", "jira:issue_updated"]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


@pytest.fixture
def outbox(p: Platforms) -> Iterator[Outbox]:
    box = Outbox().start()
    p.jira.outbox = box
    yield box
    box.close()


def serve(p: Platforms, mode: str) -> Iterator[Served]:
    config = with_app_jwt(with_serve(p.config(), p.tmp, debounce="1s", interval="1h"), p.tmp, mode)
    with served(config, p.time) as found:
        found.step()  # the start's full sweep
        yield found


def writes(p: Platforms) -> int:
    return len(p.jira.requests("PUT", "/issue/")) + len(p.jira.requests("POST", "/comment"))


@pytest.mark.parametrize(
    ("mode", "url"),
    [
        ("connect-jwt", "/webhooks/jira/jira?issue={issue}&user_id=agent"),
        ("oauth-jwt", "{base}/webhooks/jira/jira"),
    ],
)
def test_an_edit_delivered_to_an_app_with_its_jwt_escalates_once(
    p: Platforms, outbox: Outbox, mode: str, url: str
) -> None:
    for s in serve(p, mode):
        kind = "connect" if mode == "connect-jwt" else "oauth"
        app = apps.App(kind, JIRA_APP_KEY, JIRA_APP_SECRET, s.url if kind == "connect" else "")
        target = url.format(base=s.url, issue="any")
        jira_hooks.register_app(p.jira, app, target, EVENTS, "project = SUP")
        key = p.jira.create_issue("SUP", priority="Medium")
        p.jira.edit(key, priority="Highest")
        assert outbox.drain()
        assert [status for _, status, _ in outbox.sent] == [202, 202]
        p.time.now += 1
        s.step()
        assert jira_level(p, key) == "L2"
        assert outbox.drain()  # the connector's own edit is told of too: nothing to do
        done = writes(p)
        p.time.now += 1
        s.step()
        assert writes(p) == done
        assert len(p.jira.issues[key].comments) == 2


@pytest.mark.parametrize(
    "app",
    [
        apps.App("connect", JIRA_APP_KEY, "another-" + "9" * 60, "{base}"),
        apps.App("connect", "jira:another-installation", JIRA_APP_SECRET, "{base}"),
        apps.App("connect", JIRA_APP_KEY, JIRA_APP_SECRET, "{base}", lifetime=-60),  # expired
        apps.App("oauth", JIRA_APP_KEY, JIRA_APP_SECRET),  # Bearer, no qsh: not Connect's
    ],
    ids=["other-secret", "other-client-key", "expired", "oauth-app"],
)
def test_deliveries_of_another_app_are_refused_and_change_nothing(
    p: Platforms, outbox: Outbox, app: apps.App
) -> None:
    for s in serve(p, "connect-jwt"):
        app = replace(app, base_url=app.base_url.format(base=s.url))
        hook = "/webhooks/jira/jira" if app.kind == "connect" else f"{s.url}/webhooks/jira/jira"
        jira_hooks.register_app(p.jira, app, hook, EVENTS)
        before = writes(p)
        key = p.jira.create_issue("SUP", priority="Highest")
        assert outbox.drain()
        assert [status for _, status, _ in outbox.sent] == [401]
        p.time.now += 1
        s.step()
        assert jira_level(p, key) is None and writes(p) == before
