"""Jira Cloud webhooks delivered to an app (Connect, or an OAuth 2.0 app's dynamic webhooks)
into `escalate serve` on a real uvicorn server: only a valid JWT, HS256 with the configured
secret, the configured issuer, unexpired and (Connect) bound to this very request, marks a
ticket; everything else is a 401 that changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from connector.config import load_config
from rules.errors import ConfigError
from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import (
    JIRA_APP_KEY,
    JIRA_APP_SECRET,
    JIRA_PATH,
    Served,
    app_token,
    jira_app_delivery,
    jira_delivery,
    served,
    with_app_jwt,
    with_serve,
)
from tests.connector.test_run import jira_level
from tests.connector.test_serve_webhooks import ticket_reads, writes

Delivery = tuple[bytes, dict[str, str]]


@pytest.fixture
def p(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys) as found:
        yield found


def serve(p: Platforms, mode: str = "connect-jwt") -> Iterator[Served]:
    config = with_app_jwt(with_serve(p.config(), p.tmp, debounce="1s", interval="1h"), p.tmp, mode)
    with served(config, p.time) as found:
        found.step()  # the start's full sweep: nothing is due yet
        yield found


@pytest.fixture
def s(p: Platforms) -> Iterator[Served]:
    yield from serve(p)


def by_hand(alg: str, claims: dict[str, object], signature: bytes) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{head}.{part(json.dumps(claims).encode())}.{part(signature)}"


@pytest.mark.parametrize(("mode", "scheme"), [("connect-jwt", "JWT"), ("oauth-jwt", "Bearer")])
def test_a_valid_app_delivery_marks_its_ticket_and_a_cycle_writes_it(
    p: Platforms, mode: str, scheme: str
) -> None:
    for s in serve(p, mode):
        key = p.p1(1, "jira")[0]
        qsh = "POST&/webhooks/jira/jira&" if mode == "connect-jwt" else None
        delivery = jira_app_delivery(key, app_token(p.time.now, qsh=qsh), scheme=scheme)
        answer = s.post(JIRA_PATH, delivery)
        assert answer.status_code == 202, answer.text
        assert s.service.shared.hints.waiting() == {"jira": 1}
        p.time.now += 1
        s.step()
        assert jira_level(p, key) == "L2"
        assert len(p.jira.issues[key].comments) == 2
        accepted = {"platform": "jira", "instance": "jira", "result": "accepted"}
        assert s.metric("escalation_serve_webhooks_total", **accepted) == 1


def test_the_query_a_connect_token_was_made_for_is_checked(p: Platforms, s: Served) -> None:
    key = p.p1(1, "jira")[0]
    made_for = app_token(p.time.now, qsh="POST&/webhooks/jira/jira&event=updated&user_id=a")
    url = JIRA_PATH + "?user_id=a&event=updated&jwt=ignored"  # other order; jwt not hashed
    assert s.post(url, jira_app_delivery(key, made_for)).status_code == 202


FORGED: dict[str, Callable[[str, float], Delivery]] = {
    "wrong-secret": lambda k, at: jira_app_delivery(k, app_token(at, secret="x" * 64)),
    "wrong-issuer": lambda k, at: jira_app_delivery(k, app_token(at, iss="jira:another-site")),
    "expired": lambda k, at: jira_app_delivery(k, app_token(at - 200)),
    "alg-none": lambda k, at: jira_app_delivery(k, app_token(at, secret=None, alg="none")),
    "alg-hs512-true-secret": lambda k, at: jira_app_delivery(k, app_token(at, alg="HS512")),
    "alg-rs256": lambda k, at: jira_app_delivery(
        k, by_hand("RS256", {"iss": "x", "iat": int(at), "exp": int(at) + 180}, b"\1" * 256)
    ),
    "qsh-other-path": lambda k, at: jira_app_delivery(
        k, app_token(at, qsh="POST&/webhooks/jira/other&")
    ),
    "qsh-other-query": lambda k, at: jira_app_delivery(
        k, app_token(at, qsh="POST&/webhooks/jira/jira&ticket=SUP-2")
    ),
    "qsh-other-method": lambda k, at: jira_app_delivery(
        k, app_token(at, qsh="GET&/webhooks/jira/jira&")
    ),
    "context-qsh": lambda k, at: jira_app_delivery(k, app_token(at, qsh="context-qsh")),
    "no-qsh": lambda k, at: jira_app_delivery(k, app_token(at, qsh=None)),
    "missing-header": lambda k, at: jira_app_delivery(k, None),
    "bearer-for-connect": lambda k, at: jira_app_delivery(k, app_token(at), scheme="Bearer"),
    "hub-signature-only": lambda k, at: jira_delivery(k, at, secret=JIRA_APP_SECRET),
}


@pytest.mark.parametrize("forge", list(FORGED))
def test_a_forged_app_delivery_is_refused_and_changes_nothing(
    p: Platforms, s: Served, forge: str
) -> None:
    key = p.p1(1, "jira")[0]
    before = writes(p), ticket_reads(p)
    answer = s.post(JIRA_PATH, FORGED[forge](key, p.time.now))
    assert answer.status_code == 401, answer.text
    assert JIRA_APP_SECRET not in answer.text
    p.time.now += 10
    s.step()
    assert (writes(p), ticket_reads(p)) == before  # no cycle ran: nothing read, nothing written
    assert s.service.shared.hints.waiting() == {}
    assert jira_level(p, key) is None
    refused = sum(
        s.metric("escalation_serve_webhooks_total", platform="jira", instance="jira", result=r)
        for r in ("forged", "stale")
    )
    assert refused == 1


def test_a_replayed_app_delivery_writes_at_most_once(p: Platforms, s: Served) -> None:
    key = p.p1(1, "jira")[0]
    delivery = jira_app_delivery(key, app_token(p.time.now), identifier="hook-1")
    assert s.post(JIRA_PATH, delivery).status_code == 202
    assert s.post(JIRA_PATH, delivery).status_code == 200  # the same delivery: dropped
    p.time.now += 1
    s.step()
    assert jira_level(p, key) == "L2"
    after_first = writes(p)
    for _ in range(3):  # replayed later, the token still unexpired: recognised, not written
        assert s.post(JIRA_PATH, delivery).status_code == 200
        p.time.now += 2
        s.step()
    # The same token under a new delivery id passes the dedup (the id is not signed) but only
    # makes a cycle look at the ticket: it finds it done and writes nothing.
    again = jira_app_delivery(key, delivery[1]["Authorization"][4:], identifier="hook-2")
    assert s.post(JIRA_PATH, again).status_code == 202
    p.time.now += 2
    s.step()
    assert writes(p) == after_first
    assert len(p.jira.issues[key].comments) == 2
    duplicate = {"platform": "jira", "instance": "jira", "result": "duplicate"}
    assert s.metric("escalation_serve_webhooks_total", **duplicate) == 4


@pytest.mark.parametrize(
    ("hook", "instance", "message"),
    [
        ({"verify": "connect-jwt"}, "jira", "needs `issuer`"),
        ({"verify": "signature", "issuer": "jira:x"}, "jira", "`issuer` is for verify"),
        ({"verify": "oauth-jwt", "issuer": "client-id"}, "zendesk", "Jira Cloud instances only"),
        ({"verify": "hmac"}, "jira", "verify"),
    ],
)
def test_the_verification_mode_is_checked_with_the_config(
    p: Platforms, hook: dict[str, str], instance: str, message: str
) -> None:
    config = with_serve(p.config(), p.tmp)
    doc = yaml.safe_load(config.read_text())
    doc["serve"]["webhooks"][instance] |= hook
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_setup_leaves_an_apps_webhook_to_the_app_and_doctor_reports_the_mode(
    p: Platforms,
) -> None:
    public = "http://127.0.0.1:9"  # setup and doctor only name it
    config = with_app_jwt(with_serve(p.config(), p.tmp, public_url=public), p.tmp)
    made = p.invoke("setup", "-c", config, "--yes")
    assert made.code == 0, made.out + made.err
    assert [h["endpoint"] for h in p.zendesk.webhooks.values()] == [
        f"{public}/webhooks/zendesk/zendesk"
    ]
    assert p.jira.webhooks == {}  # no admin webhook: the app registers its own
    checked = p.invoke("doctor", "-c", config)
    assert checked.code == 0, checked.out + checked.err
    secret_file = p.tmp / "jira-app.secret"
    assert (
        f"ok   webhook verification: connect-jwt (HS256, issuer {JIRA_APP_KEY!r},"
        f" secret from file {secret_file})" in checked.out
    ), checked.out
    assert "ok   webhook: registered by the app" in checked.out
    assert "ok   webhook verification: signature (secret from file" in checked.out  # Zendesk's
    assert JIRA_APP_SECRET not in checked.out + checked.err + made.out + made.err
    secret_file.unlink()
    broken = p.invoke("doctor", "-c", config)
    assert broken.code == 1
    assert "FAIL webhook verification: connect-jwt" in broken.out
    assert "the secret cannot be read" in broken.out
