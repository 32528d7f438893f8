"""What the Jira adapter refuses to take for success, to send in clear, or to show a customer."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from adapters.errors import AdapterError, SetupError
from adapters.jira import Settings
from adapters.results import WriteStatus
from emulators.jira import Call
from rules.engine import evaluate_ticket
from rules.needs import needs
from tests.adapters.jira_harness import JiraHarness, Make

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def escalate(h: JiraHarness, **settings: object) -> dict[str, WriteStatus]:
    policy = h.policy()
    adapter = h.adapter(policy, **settings)
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]
    again = lambda t: evaluate_ticket(policy, t, NOW).change  # noqa: E731
    return {r.ticket: r.status for r in adapter.write(changes, again)}


def settings(url: str) -> Settings:
    return Settings.model_validate(
        {
            "platform": "jira",
            "url": url,
            "auth": {"email": "bot@example.com", "api_token": {"env": "JIRA_API_TOKEN"}},
        }
    )


@pytest.mark.parametrize("url", ["http://jira.example.com", "http://10.0.0.8:8080/jira"])
def test_plain_http_off_this_machine_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="plain http would send the credentials"):
        settings(url)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),  # the emulator server
        ("http://localhost:2990/jira", "http://localhost:2990/jira"),
        ("https://jira.example.com/jira/", "https://jira.example.com/jira"),
    ],
)
def test_https_and_loopback_urls_are_accepted(url: str, kept: str) -> None:
    assert settings(url).url == kept


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
@pytest.mark.parametrize("body", [b"", b"{}", b'{"message": "Jira is down for maintenance"}'])
def test_a_search_answer_that_is_no_search_result_is_not_an_empty_scope(
    make: Make, flavour: str, body: bytes
) -> None:
    h = make(flavour)
    h.seed(3)
    h.emulator.fail(lambda r: "/search" in r.path, 200, body=body)
    policy = h.policy()
    with pytest.raises(AdapterError, match="not a search result"):
        list(h.adapter(policy).fetch(needs(policy), NOW))


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_redirected_write_is_not_followed(make: Make, method: str) -> None:
    """requests would resend a redirected PUT or POST as a GET (here of an SSO login page,
    answered 404: the issue would be "skipped"), so a write could pass unwritten."""
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    login = f"{h.url}/login.jsp?os_destination=%2Fbrowse%2F{key}"
    h.emulator.fail(
        lambda r: r.method == method and f"/issue/{key}" in r.path,
        302,
        body=b"",
        headers={"Location": login},
    )
    with pytest.raises(SetupError, match=f"answered 302, redirecting to {re.escape(login)}"):
        escalate(h)
    assert not [r for r in h.emulator.log if "login" in r.path]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_a_landed_note_is_found_when_the_issue_shows_only_some_comments(
    make: Make, flavour: str
) -> None:
    """GET issue may list only part of the comments: the check for a note that landed before
    its timeout reads them all rather than post the note twice."""
    h = make(flavour, issue_comment_limit=2)
    (key,) = h.seed(1, priority="P1")
    for text in ("one", "two", "three"):
        h.emulator.add_comment(key, text)

    def note(r: Call) -> bool:
        return r.method == "POST" and r.path.endswith(f"/issue/{key}/comment")

    def a_second_later() -> None:
        h.time.now += 1

    h.emulator.before(note, a_second_later)
    h.emulator.timeout_after_landing(note)
    assert escalate(h)[key] is WriteStatus.APPLIED
    assert len(h.sent("POST", "/comment")) == 1
    assert h.view(key).notes() == ["Escalated Printer on fire"]


def test_a_landed_reply_is_not_repeated_when_someone_edits_the_issue_meanwhile(
    make: Make,
) -> None:
    """The edit lands (with the reply), the client times out, and an agent clears the
    escalation state before the re-read: the tracking values no longer show that the edit
    landed, but the reply on the issue does."""
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    e = h.emulator
    e.timeout_after_landing(lambda r: r.method == "PUT" and r.path.endswith(f"/issue/{key}"))
    e.before(
        lambda r: r.method == "GET" and r.path.endswith(key) and bool(e.requests("PUT")),
        lambda: e.edit(key, values={"Escalation state": None, "Escalation level": "L1"}),
    )
    assert escalate(h)[key] is WriteStatus.APPLIED
    assert len(h.sent("PUT", f"/issue/{key}")) == 1
    assert h.view(key).replies() == ["We are on it"]


@pytest.mark.parametrize("body", [b"", b'{"errorMessages": []}'])
def test_a_reread_that_is_no_issue_fails_that_change_only(make: Make, body: bytes) -> None:
    h = make("cloud")
    first, second = h.seed(2, priority="P1")
    h.emulator.fail(
        lambda r: r.method == "GET" and r.path.endswith(f"/issue/{first}"), 200, body=body
    )
    results = escalate(h)
    assert results == {first: WriteStatus.FAILED, second: WriteStatus.APPLIED}
    assert h.sent("PUT", f"/issue/{first}") == []


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_on_a_jsm_project_the_note_never_reaches_the_customer(make: Make, flavour: str) -> None:
    """An ordinary comment on a service project is public: without the setting, the note is
    still a JSM internal comment there."""
    h = make(flavour)
    h.emulator.add_project("HELP", kind="service_desk")
    team = {"Support team": {"value": "Support L1"}}
    key = h.emulator.create_issue("HELP", priority="Highest", values=team)
    assert escalate(h, jsm_internal_comments=False)[key] is WriteStatus.APPLIED
    (post,) = h.sent("POST", f"/issue/{key}/comment")
    assert post.body["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    view = h.view(key)
    assert view.notes() == ["Escalated Printer on fire"] and view.replies() == ["We are on it"]


def test_the_basic_credential_is_masked_where_a_proxy_echoes_it(make: Make) -> None:
    """Jira Cloud signs in with base64(email:token): that form is masked like the token."""
    h = make("cloud")
    h.seed(1)
    token = h.token.read_text().strip()
    echoed = "Basic " + base64.b64encode(f"bot@example.com:{token}".encode()).decode()
    h.emulator.fail(
        lambda r: "/search" in r.path, 400, body={"errorMessages": [f"bad header {echoed}"]}
    )
    policy = h.policy()
    with pytest.raises(AdapterError) as caught:
        list(h.adapter(policy).fetch(needs(policy), NOW))
    assert "bad header Basic ****" in str(caught.value)
    assert echoed.split()[1] not in str(caught.value)
