"""The emulator paths the run benchmark leans on: kept-alive HTTP connections, the Jira
changelog bulk fetch by id or key, JQL result order (these made fast, answering as before),
and issues addressed by id and assigned, as the naive pycontribs script does it."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from emulators.http import Request
from emulators.jira import JiraEmulator
from emulators.jira.jql import query
from emulators.server import EmulatorServer
from tests.adapters.test_emulator_server import Echo

BASE = "https://acme.atlassian.net"
BASIC = {"Authorization": "Basic Ym90QGV4YW1wbGUuY29tOnRva2Vu"}
BEARER = {"Authorization": "Bearer a-personal-access-token"}


# --- HTTP -----------------------------------------------------------------------------------------


def test_one_connection_carries_many_requests() -> None:
    echo = Echo()
    with EmulatorServer(echo) as url:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        conn.request("GET", "/a")
        first = conn.getresponse()
        assert first.read() == b'{"ok": true}'
        sock = conn.sock
        assert first.version == 11 and not first.will_close
        conn.request("PUT", "/b", body=b'{"x": 1}', headers={"Content-Type": "application/json"})
        second = conn.getresponse()
        assert second.status == 201 and second.read() == b'{"ok": true}'
        assert conn.sock is sock, "the second request went over the same connection"
        conn.close()
    assert [(m, p, b) for m, p, _, b in echo.seen] == [
        ("GET", "/a", None),
        ("PUT", "/b", b'{"x": 1}'),
    ]


def test_an_injected_timeout_drops_only_its_own_connection() -> None:
    with EmulatorServer(Echo()) as url, requests.Session() as session:
        assert session.get(f"{url}/a", timeout=5).status_code == 201
        with pytest.raises(requests.ConnectionError):
            session.get(f"{url}/hang", timeout=5)
        assert session.get(f"{url}/b", timeout=5).json() == {"ok": True}


# --- Jira -----------------------------------------------------------------------------------------


def bulkfetch(emu: JiraEmulator, refs: list[object]) -> dict[str, list[str]]:
    body = json.dumps({"issueIdsOrKeys": refs, "fieldIds": ["priority"]}).encode()
    status, _, raw = emu.handle(Request("POST", "/rest/api/3/changelog/bulkfetch", {}, BASIC, body))
    assert status == 200
    logs = json.loads(raw)["issueChangeLogs"]
    return {
        log["issueId"]: [h["items"][0]["toString"] for h in log["changeHistories"]] for log in logs
    }


def test_the_changelog_bulk_fetch_finds_issues_by_id_and_by_key() -> None:
    emu = JiraEmulator(flavour="cloud", base_url=BASE, clock=lambda: 1.7e9)
    keys = [emu.create_issue("SUP") for _ in range(3)]
    emu.edit(keys[0], priority="High")
    emu.edit(keys[0], priority="Highest")
    emu.edit(keys[2], priority="Low")
    emu.edit(keys[2], status="Done")  # not a priority change: left out
    ids = [emu.issues[k].id for k in keys]
    got = bulkfetch(emu, [ids[0], keys[2], keys[1], "NOPE-9", "424242", 17])
    assert got == {ids[0]: ["High", "Highest"], ids[2]: ["Low"]}
    assert bulkfetch(emu, [keys[0]]) == bulkfetch(emu, [ids[0]])


def test_jql_order_is_kept_for_ties_and_follows_the_order_by() -> None:
    now = [1.7e9]
    emu = JiraEmulator(flavour="dc", base_url=BASE, clock=lambda: now[0])
    same = [emu.create_issue("SUP") for _ in range(3)]  # created at the same instant
    now[0] += 60
    later = emu.create_issue("NET")
    now[0] += 60
    latest = emu.create_issue("SUP")
    jql = "project in (SUP, NET) AND statusCategory != Done"
    found = query(emu.issues, f"{jql} ORDER BY created DESC", bounded=False, fields=emu.fields)
    assert found == [latest, later, *same]  # ties in the order the issues were made
    found = query(emu.issues, f"{jql} ORDER BY created ASC", bounded=False, fields=emu.fields)
    assert found == [*same, later, latest]
    assert query(emu.issues, jql, bounded=False, fields=emu.fields) == [later, *same, latest]
    assert query(emu.issues, "project = NET", bounded=False, fields=emu.fields) == [later]


def call(emu: JiraEmulator, method: str, path: str, body: object = None) -> tuple[int, object]:
    raw = json.dumps(body).encode() if body is not None else None
    status, _, out = emu.handle(Request(method, path, {}, BASIC if emu.cloud else BEARER, raw))
    return status, json.loads(out) if out else None


def test_an_issue_is_found_by_id_as_by_key_also_one_made_later() -> None:
    emu = JiraEmulator(flavour="cloud", base_url=BASE, clock=lambda: 1.7e9)
    first = emu.create_issue("SUP")
    assert (
        call(emu, "GET", f"/rest/api/2/issue/{emu.issues[first].id}")[1]
        == (call(emu, "GET", f"/rest/api/2/issue/{first}")[1])
    )
    later = emu.create_issue("NET")
    status, issue = call(emu, "GET", f"/rest/api/3/issue/{emu.issues[later].id}")
    assert status == 200 and isinstance(issue, dict) and issue["key"] == later
    assert call(emu, "GET", "/rest/api/2/issue/99999")[0] == 404


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_assigning_sets_or_clears_the_assignee_with_a_changelog_entry(flavour: str) -> None:
    emu = JiraEmulator(flavour=flavour, base_url=BASE, clock=lambda: 1.7e9)
    key = emu.create_issue("SUP")
    ref = "accountId" if flavour == "cloud" else "name"
    path = f"/rest/api/2/issue/{key}/assignee"
    assert call(emu, "PUT", path, {ref: emu.agent})[0] == 204
    assert emu.issues[key].fields["assignee"] == emu.users[emu.agent]
    assert call(emu, "PUT", path, {ref: None})[0] == 204
    assert emu.issues[key].fields["assignee"] is None
    assert [h["items"][0]["field"] for h in emu.issues[key].changelog] == ["assignee"] * 2
    assert call(emu, "PUT", path, {ref: "nobody"})[0] == 404
