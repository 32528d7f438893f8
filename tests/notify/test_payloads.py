"""Each channel sends a real request to a real local server (HTTP receiver, aiosmtpd), shaped as
the service documents it (tests/notify/schemas.py), with hostile ticket text neutralised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from emulators.sink import Sink
from notify.channels import Channel, open_channel
from notify.payloads import Outgoing, notice_id
from rules.channels import ChannelModel
from rules.markup import Rendered
from tests.notify import schemas

HOSTILE = (
    "Hi <!channel> <!here> @here @channel <@U024BE7LH> <https://evil.example|click me>"
    " [pay](https://evil.example) <script>alert(1)</script> <at>Boss</at> &amp;"
)
ROUTING_KEY = "R0123456789abcdef0123456789abcde"


def outgoing(event: str = "trigger", title: str = HOSTILE) -> Outgoing:
    data = Rendered(((True, title),))
    return Outgoing(
        id=notice_id("zd", "42", "level:management#0.1", "c", event),
        instance="zd",
        ticket="42",
        url="https://example.zendesk.com/agent/tickets/42",
        channel="c",
        key="level:management#0.1",
        level="management",
        rule="",
        event=event,
        title=Rendered.literal("Ticket 42: ") + data,
        body=Rendered.literal("*Escalated*: ") + data,
        priority="P1",
        due=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink().start()
    yield s
    s.close()


def channel(sink: Sink, monkeypatch: pytest.MonkeyPatch, kind: str, **extra: Any) -> Channel:
    monkeypatch.setenv("HOOK_URL", sink.url(f"/{kind}/c"))
    monkeypatch.setenv("ROUTING_KEY", ROUTING_KEY)
    monkeypatch.setenv("API_KEY", "jsm-key-123")
    monkeypatch.setenv("HOOK_SECRET", "s3cret-value")
    settings: dict[str, Any] = {
        "slack": {"url": {"env": "HOOK_URL"}},
        "teams": {"url": {"env": "HOOK_URL"}},
        "webhook": {"url": {"env": "HOOK_URL"}, "secret": {"env": "HOOK_SECRET"}},
        "pagerduty": {
            "routing_key": {"env": "ROUTING_KEY"},
            "endpoint": sink.url("/pagerduty/v2/enqueue"),
        },
        "jsm": {"api_key": {"env": "API_KEY"}, "endpoint": sink.url("/jsm/v2/alerts")},
        "email": {
            "smtp": {"host": "127.0.0.1", "port": sink.smtp_port, "security": "none"},
            "from": "escalations@example.com",
            "to": ["director@example.com"],
        },
    }[kind]
    model = ChannelModel.model_validate({"type": kind, **settings, **extra})
    return open_channel("c", model, None, 5.0)


def test_slack(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    assert channel(sink, monkeypatch, "slack").send(outgoing()).ok
    [hit] = sink.posted("/slack/c")
    jsonschema.validate(hit.body, schemas.SLACK)
    texts = [hit.body["text"], *(str(b) for b in hit.body["blocks"])]
    for text in texts:
        for bad in ("<!channel>", "<!here>", "<@U024", "<https://evil", "<script>", "@here"):
            assert bad not in text
    section = hit.body["blocks"][0]["text"]["text"]
    assert section.startswith("*Escalated*: Hi &lt;!channel&gt;")  # the template's mrkdwn stays
    assert "@\u2060here" in section and "&amp;amp;" in section
    link = hit.body["blocks"][1]["elements"][0]["text"]
    assert link == "<https://example.zendesk.com/agent/tickets/42|Open ticket 42>"


def test_teams(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    assert channel(sink, monkeypatch, "teams").send(outgoing()).ok
    [hit] = sink.posted("/teams/c")
    jsonschema.validate(hit.body, schemas.TEAMS)
    text = hit.body["attachments"][0]["content"]["body"][1]["text"]
    assert "<" not in text and ">" not in text and "](" not in text
    assert "\\[pay\\]\\(https://evil\\.example\\)" in text
    assert text.startswith("*Escalated*: ")


def test_email(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    title = HOSTILE + "\r\nBcc: victim@example.com"
    assert channel(sink, monkeypatch, "email").send(outgoing(title=title)).ok
    [mail] = sink.mails
    message = mail.message
    assert mail.recipients == ("director@example.com",)
    assert "\n" not in str(message["Subject"]) and message["Bcc"] is None
    assert message["Message-ID"] == f"<{outgoing().id}@example.com>"
    html_part = message.get_body(("html",))
    plain_part = message.get_body(("plain",))
    assert html_part is not None and plain_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.zendesk.com/agent/tickets/42">' in html
    assert "<script>alert(1)</script>" in plain_part.get_content()  # plain text is text


def test_pagerduty_trigger_and_resolve(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = channel(sink, monkeypatch, "pagerduty", severity="critical")
    assert pd.idempotent
    assert pd.send(outgoing()).ok and pd.send(outgoing()).ok and pd.send(outgoing("resolve")).ok
    for hit in sink.posted("/pagerduty"):
        jsonschema.validate(hit.body, schemas.PAGERDUTY)
    first = sink.posted("/pagerduty")[0].body
    assert first["dedup_key"] == "zd/42/management"
    assert first["payload"]["severity"] == "critical"
    assert first["payload"]["summary"] == "Ticket 42: " + HOSTILE
    assert sink.incidents() == {"zd/42/management": "resolved"}


def test_jsm_create_and_close(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    jsm = channel(sink, monkeypatch, "jsm")
    assert jsm.send(outgoing()).ok and jsm.send(outgoing("resolve")).ok
    create, close = sink.posted("/jsm")
    jsonschema.validate(create.body, schemas.JSM_CREATE)
    jsonschema.validate(close.body, schemas.JSM_CLOSE)
    assert create.path == "/jsm/v2/alerts"
    assert close.path == "/jsm/v2/alerts/zd%2F42%2Fmanagement/close?identifierType=alias"
    assert create.headers["Authorization"] == "GenieKey jsm-key-123"
    assert create.body["alias"] == "zd/42/management" and create.body["priority"] == "P1"


def test_webhook_is_signed_and_keyed(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    assert channel(sink, monkeypatch, "webhook").send(outgoing()).ok
    [hit] = sink.posted("/webhook/c")
    jsonschema.validate(hit.body, schemas.WEBHOOK)
    expected = hmac.new(b"s3cret-value", hit.raw, hashlib.sha256).hexdigest()
    assert hit.headers["X-Escalation-Signature"] == f"sha256={expected}"
    assert hit.headers["Idempotency-Key"] == hit.body["id"]
    assert hit.body["title"] == "Ticket 42: " + HOSTILE


@pytest.mark.parametrize(("status", "retry"), [(500, True), (429, True), (400, False)])
def test_a_failed_send_says_whether_to_retry(
    sink: Sink, monkeypatch: pytest.MonkeyPatch, status: int, retry: bool
) -> None:
    sink.script["/slack/c"] = [status]
    delivery = channel(sink, monkeypatch, "slack").send(outgoing())
    assert (delivery.ok, delivery.retry) == (False, retry)
    assert delivery.detail.startswith(f"HTTP {status}")


def test_an_unreachable_service_is_retried_and_its_url_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from emulators.sink import free_port  # noqa: PLC0415

    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{free_port()}/T000/B000/XXXXsecretXXXX")
    model = ChannelModel.model_validate({"type": "slack", "url": {"env": "HOOK_URL"}})
    delivery = open_channel("c", model, None, 2.0).send(outgoing())
    assert (delivery.ok, delivery.retry) == (False, True)
    assert "XXXXsecretXXXX" not in delivery.detail
