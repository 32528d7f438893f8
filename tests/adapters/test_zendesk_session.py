"""Sign-in, retries and the wire: OAuth renewal, Retry-After, no retries behind our back.

Every request is answered by the emulator and validated against the OpenAPI document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
import responses

from adapters.errors import AuthError, PermissionDenied
from adapters.results import WriteStatus
from adapters.zendesk import Settings
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy
from tests.adapters.zendesk_harness import CLIENT_SECRET, ZendeskHarness, spec_checker

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOKENS = r"^/oauth/tokens$"


def fetch_all(zd: ZendeskHarness, adapter: Any = None) -> list[str]:
    adapter = adapter or zd.adapter()
    return [t.id for t in adapter.fetch(needs(zd.policy()), NOW)]


def plan_one(policy: Policy, ticket: Ticket) -> TicketChange | None:
    return evaluate_ticket(policy, ticket, NOW).change


def statuses(zd: ZendeskHarness) -> list[int]:
    return [c.response.status_code for c in zd.rsps.calls if hasattr(c.response, "status_code")]


# --- retries -------------------------------------------------------------------------------------


def test_a_429_waits_exactly_retry_after_with_the_injected_sleeper(zd: ZendeskHarness) -> None:
    ids = zd.seed(3)
    zd.emulator.fail("GET", r"/search/export$", 429, headers={"Retry-After": "13"})
    assert sorted(fetch_all(zd)) == sorted(ids)
    assert zd.slept == [13.0]


def test_a_429_on_a_zenpy_call_never_reaches_zenpys_own_sleeping(zd: ZendeskHarness) -> None:
    zd.seed(1)
    zd.emulator.fail("GET", r"/groups$", 429, times=2, headers={"Retry-After": "3"})
    fetch_all(zd)
    assert zd.slept == [3.0, 3.0]
    assert zd.count("GET", r"/groups$") == 3


def test_retry_after_as_an_http_date_is_waited_from_the_injected_clock(
    zd: ZendeskHarness,
) -> None:
    zd.seed(1)
    at = datetime.fromtimestamp(zd.time.now + 42, tz=UTC)
    zd.emulator.fail(
        "GET", r"/search/export$", 503, headers={"Retry-After": format_datetime(at, usegmt=True)}
    )
    fetch_all(zd)
    assert zd.slept == [42.0]


def test_5xx_back_off_exponentially_then_give_up(zd: ZendeskHarness) -> None:
    zd.seed(1)
    zd.emulator.fail("GET", r"/search/export$", 502, times=99)
    with pytest.raises(Exception, match="502"):
        fetch_all(zd)
    assert zd.slept == [1.0, 2.0, 4.0, 8.0]
    assert zd.count("GET", r"/search/export$") == 5


def test_a_read_that_timed_out_is_retried(zd: ZendeskHarness) -> None:
    ids = zd.seed(2)
    zd.emulator.timeout_before_landing("GET", r"/search/export$")
    assert sorted(fetch_all(zd)) == sorted(ids)
    assert zd.slept == [1.0]


def test_the_request_budget_paces_requests(zd: ZendeskHarness) -> None:
    zd.seed(3)
    fetch_all(zd, zd.adapter(budget={"requests_per_minute": 2}))
    # token, me, fields, groups, one page: 5 requests, 2 a minute -> two waits of a minute
    assert sum(zd.slept) == pytest.approx(120.0)


def test_no_retries_below_ours_and_no_zenpy_cache(zd: ZendeskHarness) -> None:
    adapter = zd.adapter()
    transport = adapter.client.session.get_adapter("https://acme.zendesk.com/api/v2/tickets")
    assert transport.max_retries.total == 0  # type: ignore[attr-defined]
    assert adapter.client.zenpy.cache.disabled is True
    assert adapter.client.session.verify is True


# --- OAuth ---------------------------------------------------------------------------------------


def test_the_oauth_token_is_renewed_before_it_expires(zd: ZendeskHarness) -> None:
    zd.emulator.token_lifetime = 600
    zd.seed(2)
    adapter = zd.adapter()
    fetch_all(zd, adapter)
    assert zd.count("POST", TOKENS) == 1
    zd.time.now += 600 - 30  # inside the renewal margin, still valid on the server
    fetch_all(zd, adapter)
    assert zd.count("POST", TOKENS) == 2
    assert 401 not in statuses(zd)


def test_a_401_renews_the_token_and_retries_once(zd: ZendeskHarness) -> None:
    ids = zd.seed(2)
    adapter = zd.adapter()
    fetch_all(zd, adapter)
    zd.emulator.bearer.clear()  # Zendesk revoked or expired the token early
    assert sorted(fetch_all(zd, adapter)) == sorted(ids)
    assert zd.count("POST", TOKENS) == 2
    assert statuses(zd).count(401) == 1


def test_a_401_after_renewal_aborts_with_an_auth_error(zd: ZendeskHarness) -> None:
    zd.seed(1)
    zd.emulator.fail(
        "GET", r"/users/me$", 401, times=2, body={"error": "Couldn't authenticate you"}
    )
    with pytest.raises(AuthError, match="credentials were refused") as err:
        fetch_all(zd)
    assert zd.count("POST", TOKENS) == 2 and zd.count("GET", r"/users/me$") == 2
    assert CLIENT_SECRET not in str(err.value)


def test_a_token_request_that_timed_out_is_asked_again_not_taken_for_the_write(
    zd: ZendeskHarness,
) -> None:
    """The token expires between reading and writing, and asking for a new one times out:
    the write it was signing never went out, so it is simply sent once the token comes."""
    zd.emulator.token_lifetime = 600
    (tid,) = zd.seed(1, priority="P1")
    adapter, policy = zd.adapter(), zd.policy()
    changes = [c for t in adapter.fetch(needs(policy), NOW) if (c := plan_one(policy, t))]
    zd.time.now += 600
    zd.emulator.timeout_before_landing("POST", TOKENS)
    (result,) = adapter.write(changes, lambda t: plan_one(policy, t))
    assert result.status is WriteStatus.APPLIED and result.rereads == 0, result.message
    assert zd.count("GET", rf"^/api/v2/tickets/{tid}$") == 0  # no re-read: nothing was sent
    assert zd.count("POST", TOKENS) == 3


def test_an_access_token_obtained_at_run_time_never_shows(zd: ZendeskHarness) -> None:
    zd.seed(1)
    adapter = zd.adapter()
    fetch_all(zd, adapter)
    (token,) = zd.emulator.bearer
    zd.emulator.fail("GET", r"/search/export$", 403, body={"error": f"bad token {token}"})
    with pytest.raises(PermissionDenied) as err:
        fetch_all(zd, adapter)
    assert token not in str(err.value) and "****" in str(err.value)


def test_a_wrong_client_secret_is_an_auth_error_that_never_shows_it(zd: ZendeskHarness) -> None:
    zd.emulator.clients["escalation-connector"] = ("another-secret", zd.emulator.me)
    with pytest.raises(AuthError, match="OAuth client was refused") as err:
        fetch_all(zd)
    assert CLIENT_SECRET not in str(err.value)
    assert zd.count("POST", TOKENS) == 1


def test_secrets_in_an_error_body_are_masked(zd: ZendeskHarness) -> None:
    zd.emulator.fail(
        "GET", r"/users/me$", 403, body={"error": "Forbidden", "description": f"x {CLIENT_SECRET}"}
    )
    with pytest.raises(Exception, match="answered 403") as err:
        fetch_all(zd)
    assert CLIENT_SECRET not in str(err.value) and "****" in str(err.value)


def test_an_api_token_signs_in_with_basic_auth(zd: ZendeskHarness) -> None:
    zd.emulator.api_tokens["bot@acme.example"] = "api-token-value"
    ids = zd.seed(2)
    auth = {
        "type": "api_token",
        "email": "bot@acme.example",
        "token": zd.secret_file("api-token", "api-token-value"),
    }
    assert sorted(fetch_all(zd, zd.adapter(auth=auth))) == sorted(ids)
    assert zd.count("POST", TOKENS) == 0
    header = zd.rsps.calls[0].request.headers["Authorization"]
    assert header.startswith("Basic ")


def test_an_oauth_access_token_signs_in_as_bearer(zd: ZendeskHarness) -> None:
    zd.emulator.bearer["given-token-value"] = (zd.emulator.me, None)
    zd.seed(1)
    auth = {"type": "oauth_token", "token": zd.secret_file("oauth", "given-token-value")}
    fetch_all(zd, zd.adapter(auth=auth))
    assert zd.rsps.calls[0].request.headers["Authorization"] == "Bearer given-token-value"


def test_a_sandbox_or_proxy_base_url_with_a_path(tmp_path: Path) -> None:
    base = "http://127.0.0.1:8080/zendesk"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        zd = ZendeskHarness(rsps, tmp_path, base_url=base)
        ids = zd.seed(60)
        (tid,) = zd.seed(1, priority="P1")
        adapter = zd.adapter()
        tickets = list(adapter.fetch(needs(zd.policy()), NOW))
        assert sorted(t.id for t in tickets) == sorted([*ids, tid])
        assert tickets[0].url.startswith(f"{base}/agent/tickets/")
        assert adapter.reread(tid).priority == "P1"  # zenpy's own response handling
        assert all(str(c.request.url).startswith(base + "/") for c in rsps.calls)
        checker = spec_checker("http://127.0.0.1:8080")  # the checker knows no base path
        for call in rsps.calls:
            sent = call.request.copy()
            sent.url = str(sent.url).replace("/zendesk/", "/", 1)
            checker.check(sent)
        assert checker.checked == len(rsps.calls)


# --- settings ------------------------------------------------------------------------------------


def settings(**overrides: Any) -> Settings:
    data = {
        "platform": "zendesk",
        "url": "https://acme.zendesk.com/",
        "auth": {"type": "oauth_token", "token": {"env": "ZENDESK_TOKEN"}},
    }
    return Settings.model_validate({**data, **overrides})


def test_settings_defaults() -> None:
    s = settings()
    assert s.url == "https://acme.zendesk.com"
    assert s.scope == "type:ticket status<solved"
    assert (s.page_size, s.batch_threshold) == (1000, 50)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "http://zendesk.example.com"}, "plain http"),
        ({"url": "acme.zendesk.com"}, "base URL"),
        ({"page_size": 1001}, "less than or equal to 1000"),
        ({"auth": {"type": "password", "password": "x"}}, "type"),
        ({"auth": {"type": "oauth_token", "token": "inline-secret"}}, "token"),
    ],
)
def test_settings_refuse(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        settings(**overrides)


def test_the_timeouts_go_with_every_request(zd: ZendeskHarness) -> None:
    zd.seed(2, priority="P1")
    adapter = zd.adapter(timeout={"connect": 3, "read": 20})
    policy = zd.policy()
    changes = [c for t in adapter.fetch(needs(policy), NOW) if (c := plan_one(policy, t))]
    list(adapter.write(changes, lambda t: plan_one(policy, t)))
    sent = {str(c.request.method) for c in zd.rsps.calls}
    assert sent == {"GET", "POST", "PUT"}  # zenpy's calls, ours and the token request
    assert all(c.request.req_kwargs["timeout"] == (3.0, 20.0) for c in zd.rsps.calls)


# --- zenpy's environment switches ----------------------------------------------------------------


def test_zenpys_force_scheme_and_netloc_cannot_redirect_the_connector(
    zd: ZendeskHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zenpy reads ZENPY_FORCE_SCHEME / ZENPY_FORCE_NETLOC on every URL it builds (some proxy
    set-ups export them): every request still goes to the configured URL, and zenpy still
    recognises the answers (groups and users come through its calls)."""
    ids = zd.seed(2, priority="P1")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "elsewhere.example:8080")
    adapter = zd.adapter()
    tickets = list(adapter.fetch(needs(zd.policy()), NOW))
    assert sorted(t.id for t in tickets) == sorted(ids)
    assert all(t.group for t in tickets)  # the group names came through zenpy's groups call
    assert zd.count("GET", r"/groups$") == 1
    urls = [str(c.request.url) for c in zd.rsps.calls]
    assert urls and all(u.startswith(zd.base_url + "/") for u in urls)


def test_a_netrc_entry_for_the_host_never_replaces_our_token(
    zd: ZendeskHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests would sign with a ~/.netrc entry for the host over our Authorization header
    (and look for the file on every request): the session has an auth of its own."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine acme.zendesk.com login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    ids = zd.seed(2)
    assert sorted(fetch_all(zd)) == sorted(ids)
    sent = [c.request.headers.get("Authorization", "") for c in zd.rsps.calls]
    assert sent and not any(h.startswith("Basic ") for h in sent)
