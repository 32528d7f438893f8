"""The shared transport, retry policy and error mapping (adapters/http.py)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
import requests
import responses

from adapters.errors import (
    AuthError,
    Conflict,
    Gone,
    NotFound,
    PermissionDenied,
    Rejected,
    TransientError,
)
from adapters.http import (
    Budget,
    JsonResponse,
    RequestStats,
    Retrier,
    RetryBudgetExceeded,
    error_for,
    mount,
    rate_limit,
    retry_after,
    timeout_error,
)
from adapters.sweeping import sweeping
from tests.adapters.fakes import FakeTime as _FakeTime

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


class FakeTime(_FakeTime):
    def __init__(self, start: float = NOW) -> None:
        super().__init__(start)


# --- Retry-After -------------------------------------------------------------------------------


def test_retry_after_in_seconds() -> None:
    assert retry_after({"Retry-After": "7"}, NOW) == 7.0
    assert retry_after({"retry-after": "0"}, NOW) == 0.0


def test_retry_after_as_http_date_is_relative_to_the_injected_clock() -> None:
    assert retry_after({"Retry-After": "Mon, 02 Mar 2026 10:00:42 GMT"}, NOW) == 42.0


def test_retry_after_in_the_past_or_garbled() -> None:
    assert retry_after({"Retry-After": "Mon, 02 Mar 2026 09:00:00 GMT"}, NOW) == 0.0
    assert retry_after({"Retry-After": "soon"}, NOW) is None
    assert retry_after({}, NOW) is None


# --- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, Rejected),
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (422, Rejected),
        (429, TransientError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
    ],
)
def test_status_maps_to_the_error_tree(status: int, kind: type[Exception]) -> None:
    err = error_for(status, "PUT /api/v2/tickets/1", "detail")
    assert type(err) is kind
    assert "PUT /api/v2/tickets/1" in str(err) and str(status) in str(err)


def test_transient_error_carries_retry_after() -> None:
    err = error_for(429, "GET /x", headers={"Retry-After": "12"}, now=NOW)
    assert isinstance(err, TransientError) and err.retry_after == 12.0


def test_403_names_the_endpoint_and_the_fix() -> None:
    text = str(error_for(403, "GET /api/v2/incremental/ticket_events"))
    assert "/api/v2/incremental/ticket_events" in text and "permission" in text


# --- Retrier -----------------------------------------------------------------------------------


def flaky(errors: list[Exception], value: str = "ok") -> tuple[list[int], object]:
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return value

    return calls, fn


def test_retries_transient_errors_and_honours_retry_after_exactly() -> None:
    t = FakeTime()
    calls, fn = flaky([TransientError("429", retry_after=7.0), TransientError("503")])
    assert Retrier(t.sleep).call(fn) == "ok"  # type: ignore[arg-type]
    assert calls[0] == 3
    assert t.slept == [7.0, 2.0]  # the hint, then exponential backoff for the 2nd attempt


def test_does_not_retry_errors_that_are_not_transient() -> None:
    t = FakeTime()
    calls, fn = flaky([Rejected("422")])
    with pytest.raises(Rejected):
        Retrier(t.sleep).call(fn)  # type: ignore[arg-type]
    assert calls[0] == 1 and t.slept == []


def test_gives_up_when_the_wait_exceeds_the_run_budget() -> None:
    t = FakeTime()
    retrier = Retrier(t.sleep, retry_seconds=10.0)
    calls, fn = flaky([TransientError("429", retry_after=6.0)] * 3)
    with pytest.raises(RetryBudgetExceeded) as info:
        retrier.call(fn)  # type: ignore[arg-type]
    assert calls[0] == 2 and t.slept == [6.0]
    assert "retry budget" in str(info.value)
    # The budget is per run: the next call starts with what is left (4 s), so a 6 s wait stops.
    calls, fn = flaky([TransientError("429", retry_after=6.0)])
    with pytest.raises(RetryBudgetExceeded):
        retrier.call(fn)  # type: ignore[arg-type]
    assert t.slept == [6.0]


def test_stops_after_the_attempt_limit() -> None:
    t = FakeTime()
    calls, fn = flaky([TransientError("500")] * 10)
    with pytest.raises(TransientError):
        Retrier(t.sleep, attempts=3).call(fn)  # type: ignore[arg-type]
    assert calls[0] == 3 and t.slept == [1.0, 2.0]


def test_a_write_that_may_have_landed_is_not_repeated_blindly() -> None:
    t = FakeTime()
    landed = timeout_error("PUT /x", requests.ReadTimeout("read timed out"), sent=True)
    calls, fn = flaky([landed])
    with pytest.raises(TransientError):
        Retrier(t.sleep).call(fn, may_repeat=False)  # type: ignore[arg-type]
    assert calls[0] == 1
    # A 429 means the request was refused, so it is safe to repeat even a write.
    calls, fn = flaky([TransientError("429", retry_after=1.0)])
    assert Retrier(t.sleep).call(fn, may_repeat=False) == "ok"  # type: ignore[arg-type]


# --- Budget and Transport ----------------------------------------------------------------------


def test_budget_paces_to_the_per_minute_limit() -> None:
    t = FakeTime()
    budget = Budget(3, t.clock, t.sleep)
    for _ in range(7):
        budget.acquire()
    # Requests 4..6 wait for the window to roll past the first three; 7 waits again.
    assert t.slept == [60.0, 60.0]
    assert budget.waited == 120.0


def test_budget_zero_means_no_limit() -> None:
    t = FakeTime()
    budget = Budget(0, t.clock, t.sleep)
    for _ in range(1000):
        budget.acquire()
    assert t.slept == []


@responses.activate
def test_transport_never_retries_and_counts_requests() -> None:
    responses.add(responses.PUT, "https://acme.zendesk.com/api/v2/tickets/42.json", status=503)
    responses.add(responses.GET, "https://acme.zendesk.com/api/v2/tickets/42.json", json={})
    session = requests.Session()
    stats = RequestStats()
    mount(session, None, stats)
    assert session.put("https://acme.zendesk.com/api/v2/tickets/42.json").status_code == 503
    session.get("https://acme.zendesk.com/api/v2/tickets/42.json")
    assert len(responses.calls) == 2  # the 503 was not retried by urllib3
    assert stats.counts == {"PUT /api/v2/tickets/{id}": 1, "GET /api/v2/tickets/{id}": 1}
    assert stats.by_method("PUT") == 1 and stats.total == 2
    assert session.verify is True


def test_request_stats_collapse_jira_keys() -> None:
    stats = RequestStats()
    stats.record("PUT", "https://acme.atlassian.net/rest/api/3/issue/ABC-123")
    stats.record("PUT", "https://acme.atlassian.net/rest/api/3/issue/XY-9")
    assert stats.counts == {"PUT /rest/api/3/issue/{id}": 2}


def test_a_429_holds_back_every_request_of_the_instance() -> None:
    """After a 429 with Retry-After, the next request from any thread waits it out; one that
    comes after the hold has passed does not wait."""
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = Budget(0, lambda: now[0], sleep)
    budget.hold(7)
    now[0] += 2
    budget.acquire()
    assert slept == [5.0]
    budget.acquire()
    assert slept == [5.0]
    budget.hold(3)
    now[0] += 10
    budget.acquire()
    assert slept == [5.0]


def test_rate_limit_takes_the_first_spelling_with_two_integers() -> None:
    spellings = (
        ("X-Rate-Limit", "X-Rate-Limit-Remaining"),
        ("ratelimit-limit", "ratelimit-remaining"),
    )
    assert rate_limit({"x-rate-limit": "700", "X-RATE-LIMIT-REMAINING": " 699 "}, spellings) == (
        700,
        699,
    )
    both = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "n/a", "ratelimit-limit": "400",
            "ratelimit-remaining": "12"}  # fmt: skip
    assert rate_limit(both, spellings) == (400, 12)
    assert rate_limit({"X-Rate-Limit": "700"}, spellings) is None
    assert rate_limit({}, spellings) is None


@responses.activate
def test_answers_parse_with_orjson_and_what_it_refuses_as_before() -> None:
    url = "https://acme.atlassian.net/rest/api/3/issue/SUP-1"
    session = requests.Session()
    mount(session, None, RequestStats())
    body = '{"key": "SUP-1", "fields": {"summary": "Caf\\u00e9 \u2615", "n": 12345678901234}}'
    responses.add(responses.GET, url, body=body.encode())
    answer = session.get(url)
    assert isinstance(answer, JsonResponse)
    assert answer.json() == {"key": "SUP-1", "fields": {"summary": "Café ☕", "n": 12345678901234}}
    assert answer.json() is not answer.json()  # parsed anew: a caller may change its copy
    responses.add(responses.GET, url, body=b'{"big": 123456789012345678901234567890, "x": NaN}')
    refused = session.get(url).json()  # orjson refuses both; the standard library takes them
    assert refused["big"] == 123456789012345678901234567890 and refused["x"] != refused["x"]
    responses.add(responses.GET, url, body=b"<html>login</html>")
    with pytest.raises(requests.JSONDecodeError):
        session.get(url).json()


@responses.activate
def test_a_sweeps_pages_are_frozen_until_the_last_sweep_ends() -> None:
    """Pages parsed during a sweep are out of the cycle collector's walks (frozen), the same
    values as outside one; the collector is as it was after each parse; the last sweep to end
    gives everything back to the collector."""
    url = "https://acme.atlassian.net/rest/api/3/search/jql"
    session = requests.Session()
    mount(session, None, RequestStats())
    responses.add(responses.GET, url, json={"issues": [{"key": "SUP-1", "fields": {}}]})
    gc.unfreeze()
    outside = session.get(url).json()
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert any(o is outside for o in gc.get_objects())  # walked by the collector
    with sweeping():
        with sweeping():
            page = session.get(url).json()
            assert page == outside and gc.isenabled()
            assert gc.is_tracked(page) and not any(o is page for o in gc.get_objects())
        assert not any(o is page for o in gc.get_objects())  # another sweep still reads
        gc.disable()
        session.get(url).json()
        assert not gc.isenabled()  # a parse does not enable what was disabled
        gc.enable()
    assert gc.get_freeze_count() == 0
    assert any(o is page for o in gc.get_objects())


@responses.activate
def test_the_environment_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy variables apply as `requests` applies them, read at the first request to a host
    (not twice per request), and the CA bundle variable likewise."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = "https://acme.zendesk.com/api/v2/tickets/42.json"
    responses.add(responses.GET, url, json={})
    session = requests.Session()
    mount(session, None, RequestStats())
    session.get(url)
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example.com:8080")
    session.get(url, proxies={"https": "http://given.example.com:1"})
    session.get(url)
    sent = [c.request.req_kwargs for c in responses.calls]  # type: ignore[attr-defined]
    assert [k["proxies"].get("https") for k in sent] == [
        "http://proxy.example.com:3128",
        "http://given.example.com:1",  # what a caller passes still wins
        "http://proxy.example.com:3128",
    ]
    assert {k["verify"] for k in sent} == {"/etc/ssl/corp.pem"}
