"""The Zendesk emulator answers like Zendesk: response shapes from the published document, and
the rules the real API enforces (so adapter tests that pass on it mean something)."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from emulators.http import Request
from emulators.zendesk import ZendeskEmulator
from rules.engine import evaluate_ticket
from rules.needs import needs
from tests.adapters.zendesk_harness import BASE_URL, ZendeskHarness, policy_with, spec_checker

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOKEN = {"Authorization": "Basic " + base64.b64encode(b"bot@acme.example/token:tok").decode()}


def test_answers_match_the_published_response_schemas(zd: ZendeskHarness) -> None:
    """Every answer of a full run (events, a job, a re-read, field creation) is validated
    against the operation's response schema. Tolerated: null where the document omits
    `nullable` (the API returns `"assignee_id": null` for an unassigned ticket, and so on)."""
    zd.custom_policy = policy_with(
        "  - name: chasing\n    when: {all: [{priority: P1}, {not: {customer_replies: 5}}]}\n"
        "    then: {escalate: next, note: handoff, reply: customer}\n"
    )
    zd.seed(4, priority="P1")
    zd.seed(2)
    zd.emulator.fields.pop(zd.emulator.field_id("SLA due"))
    adapter, policy = zd.adapter(batch_threshold=2), zd.policy()
    adapter.fields(create=True)
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change)
    ]
    list(adapter.write(changes, lambda t: evaluate_ticket(policy, t, NOW).change))
    adapter.reread(changes[0].ticket)
    api = spec_checker().api
    checked = set()
    for call in zd.rsps.calls:
        url = str(call.request.url)
        path, _, query = url.partition("?")
        path = path.removeprefix(BASE_URL).removesuffix(".json")
        sent = requests.Request(
            call.request.method,
            BASE_URL + path,
            data=call.request.body,
            headers=dict(call.request.headers),
        ).prepare()
        sent.url = BASE_URL + path + (f"?{query}" if query else "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                api.validate_response(
                    RequestsOpenAPIRequest(sent), RequestsOpenAPIResponse(call.response)
                )
            except Exception as exc:
                errors = getattr(exc.__cause__, "schema_errors", None) or [exc]
                real = [e for e in errors if "None for not nullable" not in str(e)]
                real = [e for e in real if "None is not of type" not in str(e)]
                assert not real, f"{call.request.method} {path}: {real[:3]}"
        checked.add(f"{call.request.method} {path.split('/')[3] if path.count('/') > 2 else path}")
    assert {"GET search", "PUT tickets", "GET job_statuses", "POST ticket_fields"} <= checked
    assert "POST /oauth/tokens" in checked


def handle(zd: ZendeskEmulator, method: str, path: str, body: Any = None, **query: str) -> Any:
    status, _, payload = zd.handle(
        Request(
            method,
            path,
            {k: [v] for k, v in query.items()},
            TOKEN,
            json.dumps(body).encode() if body is not None else None,
        )
    )
    return status, json.loads(payload)


@pytest.fixture
def emu() -> ZendeskEmulator:
    e = ZendeskEmulator(clock=NOW.timestamp)
    e.api_tokens["bot@acme.example"] = "tok"
    return e


def test_a_single_update_ignores_tag_edits_but_tags_replace(emu: ZendeskEmulator) -> None:
    """Zendesk documents `additional_tags`/`remove_tags` for update_many only: a single update
    answers 200 and leaves the tags alone; `tags` replaces the list."""
    tid = emu.add_ticket(tags=["a", "b"])
    stamp = emu.tickets[tid]["updated_at"]
    edits = {"additional_tags": ["c"], "remove_tags": ["a"]}
    status, _ = handle(
        emu,
        "PUT",
        f"/api/v2/tickets/{tid}.json",
        {"ticket": {**edits, "safe_update": True, "updated_stamp": stamp}},
    )
    assert status == 200 and emu.tickets[tid]["tags"] == ["a", "b"]
    handle(emu, "PUT", f"/api/v2/tickets/{tid}", {"ticket": {"tags": ["x"]}})
    assert emu.tickets[tid]["tags"] == ["x"]
    status, _ = handle(
        emu,
        "PUT",
        "/api/v2/tickets/update_many.json",
        {"tickets": [{"id": tid, "additional_tags": ["y"], "remove_tags": ["x"]}]},
    )
    assert status == 200 and emu.tickets[tid]["tags"] == ["y"]
    tag_events = [e for a in emu.audits[tid] for e in a["events"] if e.get("field_name") == "tags"]
    assert [e["value"] for e in tag_events] == [["x"], ["y"]]


def test_safe_update_false_is_still_a_safe_update(emu: ZendeskEmulator) -> None:
    """Zendesk takes any `safe_update` value as true: only leaving the key out turns it off."""
    tid = emu.add_ticket()
    stale = emu.tickets[tid]["updated_at"]
    handle(emu, "PUT", f"/api/v2/tickets/{tid}", {"ticket": {"priority": "high"}})
    status, _ = handle(
        emu,
        "PUT",
        f"/api/v2/tickets/{tid}",
        {"ticket": {"priority": "low", "safe_update": False, "updated_stamp": stale}},
    )
    assert status == 409 and emu.tickets[tid]["priority"] == "high"


def test_safe_update_refuses_a_stale_stamp_and_time_moves_on(emu: ZendeskEmulator) -> None:
    tid = emu.add_ticket()
    stale = emu.tickets[tid]["updated_at"]
    handle(emu, "PUT", f"/api/v2/tickets/{tid}", {"ticket": {"priority": "high"}})
    assert emu.tickets[tid]["updated_at"] > stale  # even with a frozen clock
    status, body = handle(
        emu,
        "PUT",
        f"/api/v2/tickets/{tid}",
        {"ticket": {"priority": "low", "safe_update": True, "updated_stamp": stale}},
    )
    assert status == 409 and body["error"] == "UpdateConflict"
    assert emu.tickets[tid]["priority"] == "high"


def test_a_comment_is_public_unless_it_says_otherwise(emu: ZendeskEmulator) -> None:
    tid = emu.add_ticket()
    handle(emu, "PUT", f"/api/v2/tickets/{tid}", {"ticket": {"comment": {"body": "hi"}}})
    handle(
        emu,
        "PUT",
        f"/api/v2/tickets/{tid}",
        {"ticket": {"comment": {"body": "psst", "public": False}}},
    )
    assert [(c["body"], c["public"]) for c in emu.comments[tid][1:]] == [
        ("hi", True),
        ("psst", False),
    ]


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status"),
    [
        (
            "GET",
            "/api/v2/search/export",
            {"query": "type:ticket status<solved", "filter[type]": "ticket"},
            None,
            400,
        ),
        ("GET", "/api/v2/search/export", {"query": "status<solved"}, None, 400),
        (
            "GET",
            "/api/v2/search/export",
            {"query": "status<solved", "filter[type]": "ticket", "page[size]": "1001"},
            None,
            400,
        ),
        (
            "GET",
            "/api/v2/search/export",
            {"query": "assignee:me", "filter[type]": "ticket"},
            None,
            400,
        ),
        ("GET", "/api/v2/tickets/show_many", {"ids": ",".join(map(str, range(1, 102)))}, None, 400),
        (
            "PUT",
            "/api/v2/tickets/update_many",
            {},
            {"tickets": [{"id": i} for i in range(101)]},
            400,
        ),
        ("GET", "/api/v2/tickets/999999", {}, None, 404),
        ("GET", "/api/v2/nothing/here", {}, None, 404),
    ],
)
def test_what_zendesk_refuses_is_refused(
    emu: ZendeskEmulator, method: str, path: str, query: dict[str, str], body: Any, status: int
) -> None:
    assert handle(emu, method, path, body, **query)[0] == status


def test_the_plain_search_stops_at_1000_results(emu: ZendeskEmulator) -> None:
    """Why the adapter reads the export: Zendesk refuses plain search pages past 1,000."""
    for _ in range(1001):
        emu.add_ticket()
    query = {"query": "type:ticket status<solved", "per_page": "100"}
    status, body = handle(emu, "GET", "/api/v2/search.json", page="10", **query)
    assert status == 200 and body["count"] == 1001 and len(body["results"]) == 100
    status, body = handle(emu, "GET", "/api/v2/search.json", page="11", **query)
    assert status == 422 and "Search Response Limits" in body["description"]


def test_comments_come_newest_first_on_request(emu: ZendeskEmulator) -> None:
    tid = emu.add_ticket(subject="first")
    emu.agent_edit(tid, {"comment": {"body": "second", "public": False}})
    path = f"/api/v2/tickets/{tid}/comments"
    _, oldest = handle(emu, "GET", path)
    _, newest = handle(emu, "GET", path, sort="-created_at", **{"page[size]": "1"})
    assert [c["body"] for c in oldest["comments"]] == ["first", "second"]
    assert [c["body"] for c in newest["comments"]] == ["second"]
    assert newest["meta"]["has_more"] is True


def test_credentials_are_checked_and_tokens_expire() -> None:
    clock = [NOW.timestamp()]
    e = ZendeskEmulator(clock=lambda: clock[0], token_lifetime=300)
    e.clients["c"] = ("s", e.me)
    assert e.handle(Request("GET", "/api/v2/users/me", {}, {}, None))[0] == 401
    status, _, body = e.handle(
        Request(
            "POST",
            "/oauth/tokens",
            {},
            {},
            json.dumps(
                {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}
            ).encode(),
        )
    )
    token = json.loads(body)
    assert status == 201 and token["expires_in"] == 300
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert e.handle(Request("GET", "/api/v2/users/me", {}, bearer, None))[0] == 200
    clock[0] += 300
    assert e.handle(Request("GET", "/api/v2/users/me", {}, bearer, None))[0] == 401


def test_an_integer_field_refuses_text_naming_the_field(emu: ZendeskEmulator) -> None:
    tid = emu.add_ticket()
    fid = emu.field_id("Escalation count")
    status, body = handle(
        emu,
        "PUT",
        f"/api/v2/tickets/{tid}",
        {"ticket": {"custom_fields": [{"id": fid, "value": "two"}]}},
    )
    assert status == 422
    assert body["details"]["base"][0]["ticket_field_id"] == fid


def test_job_statuses_show_many_counts_a_poll_per_job_and_leaves_out_unknown_ids(
    emu: ZendeskEmulator,
) -> None:
    emu.job_polls = 2
    a, b = (emu.add_ticket() for _ in range(2))
    job_ids = []
    for tid in (a, b):
        body = {"tickets": [{"id": tid, "additional_tags": ["x"]}]}
        status, answer = handle(emu, "PUT", "/api/v2/tickets/update_many.json", body)
        assert status == 200 and answer["job_status"]["status"] == "queued"
        job_ids.append(answer["job_status"]["id"])
    ids = ",".join([job_ids[0], "0" * 32, job_ids[1]])
    status, first = handle(emu, "GET", "/api/v2/job_statuses/show_many.json", ids=ids)
    assert status == 200
    assert [(j["id"], j["status"]) for j in first["job_statuses"]] == [
        (job_ids[0], "working"),
        (job_ids[1], "working"),
    ]
    # a poll of one job alone counts for that job only
    _, alone = handle(emu, "GET", f"/api/v2/job_statuses/{job_ids[0]}.json")
    assert alone["job_status"]["status"] == "completed"
    assert alone["job_status"]["results"] == [
        {"id": a, "action": "update", "success": True, "status": "Updated"}
    ]
    _, second = handle(emu, "GET", "/api/v2/job_statuses/show_many.json", ids=job_ids[1])
    assert [(j["id"], j["status"]) for j in second["job_statuses"]] == [(job_ids[1], "completed")]
    status, _ = handle(emu, "GET", f"/api/v2/job_statuses/{'0' * 32}.json")
    assert status == 404
