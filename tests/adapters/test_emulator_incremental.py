"""What the emulators enforce for incremental reads, as the platforms do: Zendesk's search
index lag and the search export's own limit (100 a minute); Jira's JQL dates to the minute
at the finest, read in the caller's time zone."""

from __future__ import annotations

import base64
import json
from typing import Any

from emulators.http import Request
from emulators.zendesk import ZendeskEmulator
from tests.adapters.fakes import FakeTime
from tests.adapters.jira_harness import make_emulator

AUTH = {"Authorization": "Basic " + base64.b64encode(b"bot@acme.example/token:tok").decode()}
START = 1772445600.0  # 2026-03-02T10:00:00Z


def export(zd: ZendeskEmulator, query: str) -> tuple[int, Any]:
    q = {"query": [query], "filter[type]": ["ticket"]}
    status, _, body = zd.handle(Request("GET", "/api/v2/search/export.json", q, AUTH, None))
    return status, json.loads(body)


def test_zendesk_search_sees_a_change_only_after_its_index_lag() -> None:
    time = FakeTime(START)
    zd = ZendeskEmulator(clock=time.clock)
    zd.api_tokens["bot@acme.example"] = "tok"
    zd.search_lag = 120
    old = zd.add_ticket(priority="normal")
    time.now += 300
    new = zd.add_ticket(priority="normal")
    time.now += 60
    found = [t["id"] for t in export(zd, "status<solved")[1]["results"]]
    assert found == [old]  # the new one is not indexed yet
    zd.agent_edit(old, {"priority": "urgent"})
    assert [t["id"] for t in export(zd, "status<solved")[1]["results"]] == []
    time.now += 121
    assert sorted(t["id"] for t in export(zd, "status<solved")[1]["results"]) == [old, new]
    status, _, body = zd.handle(
        Request("GET", "/api/v2/tickets/show_many.json", {"ids": [str(new)]}, AUTH, None)
    )
    assert status == 200 and json.loads(body)["tickets"][0]["id"] == new  # by id: at once


def test_zendesk_search_export_has_its_own_limit_of_100_a_minute() -> None:
    time = FakeTime(START)
    zd = ZendeskEmulator(clock=time.clock)
    zd.api_tokens["bot@acme.example"] = "tok"
    zd.enforce_rate_limit = True
    assert all(export(zd, "status<solved")[0] == 200 for _ in range(100))
    status, body = export(zd, "status<solved")
    assert status == 429 and body["error"] == "TooManyRequests"
    other = zd.handle(Request("GET", "/api/v2/users/me.json", {}, AUTH, None))
    assert other[0] == 200  # the account's own limit is not used up
    time.now += 61
    assert export(zd, "status<solved")[0] == 200


def jql(zone: str, text: str) -> tuple[int, Any]:
    time = FakeTime(START)
    site = make_emulator("dc", time.clock)
    site.users[site.myself]["timeZone"] = zone
    site.create_issue("SUP")  # created 10:00Z
    q = {"jql": [text], "maxResults": ["50"]}
    bearer = {"Authorization": "Bearer pat"}
    status, _, body = site.handle(Request("GET", "/rest/api/2/search", q, bearer, None))
    return status, json.loads(body)


def test_jira_jql_dates_are_minutes_in_the_callers_time_zone() -> None:
    assert jql("UTC", 'updated >= "2026/03/02 10:00"')[1]["total"] == 1
    assert jql("UTC", 'updated >= "2026/03/02 10:01"')[1]["total"] == 0
    assert jql("America/New_York", 'updated >= "2026/03/02 05:00"')[1]["total"] == 1  # 10:00Z
    assert jql("America/New_York", 'updated >= "2026/03/02 10:00"')[1]["total"] == 0  # 15:00Z
    assert jql("Europe/Berlin", 'updated >= "2026-03-02 11:00"')[1]["total"] == 1
    status, body = jql("UTC", 'updated >= "2026/03/02 10:00:30"')
    assert status == 400 and "Valid formats include" in body["errorMessages"][0]
