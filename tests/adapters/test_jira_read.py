"""Reading from Jira: flavour detection, paging (Cloud tokens, DC startAt/total), the removed
search endpoint, history in bulk, fields, and jira's own retries staying off."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.errors import AdapterError, Gone, SetupError
from emulators.http import Request
from emulators.jira import Call
from rules.model import Actor, EventKind
from rules.needs import needs
from rules.policy import Policy, load_policy
from tests.adapters.jira_harness import TRACKING, JiraHarness, Make

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def history_policy(when: str) -> Policy:
    fields = "\n".join(f"      {k}: {v}" for k, v in TRACKING.items())
    return load_policy(
        f"""
version: 1
levels: [{{name: L1, owner: {{group: Support L1}}}}, {{name: L2, owner: {{group: Support L2}}}}]
rules:
  - {{name: r, when: {when}, then: {{escalate: next}}}}
platforms:
  jira:
    fields:
{fields}
""",
        "history.yaml",
    )


def fetch_all(h: JiraHarness, policy: Policy | None = None, **settings: object) -> list[str]:
    policy = policy or h.policy()
    return [t.id for t in h.adapter(policy, **settings).fetch(needs(policy), NOW)]


# --- flavour ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "url", "search"),
    [
        ("cloud", "https://support.example.com", "/rest/api/3/search/jql"),  # Cloud, own domain
        ("dc", "https://jira.atlassian.net", "/rest/api/2/search"),  # DC, Cloud-looking URL
    ],
)
def test_flavour_comes_from_server_info_not_the_url(
    make: Make, flavour: str, url: str, search: str
) -> None:
    h = make(flavour, url=url)
    h.seed(3)
    adapter = h.adapter()
    assert len(fetch_all(h)) == 3
    assert adapter.client.flavour.value == ("cloud" if flavour == "cloud" else "datacenter")
    searches = {r.path for r in h.emulator.log if "/search" in r.path}
    assert searches == {search}
    assert len(h.sent("GET", "/serverInfo")) == 2  # once per adapter (run), never per call


def test_the_removed_search_answers_410_and_names_its_replacement(make: Make) -> None:
    h = make("cloud")
    h.seed(2)
    # A proxy (or an old mirror) hides deploymentType: the adapter takes the site for Data
    # Center and calls /rest/api/2/search, which Cloud has removed.
    h.emulator.fail(
        lambda r: r.path.endswith("/serverInfo"),
        200,
        body={"baseUrl": h.url, "version": "1001.0.0", "versionNumbers": [1001, 0, 0]},
    )
    with pytest.raises(Gone) as err:
        fetch_all(h)
    message = str(err.value)
    assert "GET /rest/api/2/search answered 410" in message
    assert "/rest/api/3/search/jql" in message
    assert "deploymentType" in message
    assert isinstance(err.value, SetupError)


# --- Cloud paging -------------------------------------------------------------------------------


def test_cloud_pages_by_token_over_a_thousand_issues(make: Make) -> None:
    h = make("cloud")
    keys = h.seed(1203)
    h.seed_closed(5)
    got = fetch_all(h, page_size=100)
    assert sorted(got) == sorted(keys) and len(got) == len(set(got)) == 1203
    pages = h.sent("POST", "/search/jql")
    assert len(pages) == 13  # ceil(1203 / 100)
    assert "nextPageToken" not in pages[0].body
    tokens = [p.body.get("nextPageToken") for p in pages[1:]]
    assert all(tokens) and len(set(tokens)) == 12
    assert all(p.body["maxResults"] == 100 for p in pages)
    assert len(h.emulator.log) == 1 + 1 + 13  # serverInfo, field, pages


def test_cloud_trusts_the_pages_it_gets_when_the_server_caps_them(make: Make) -> None:
    h = make("cloud", page_limit=40)
    keys = h.seed(130)
    assert sorted(fetch_all(h, page_size=100)) == sorted(keys)
    assert len(h.sent("POST", "/search/jql")) == 4


def test_cloud_asks_only_for_the_fields_the_policy_needs(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    fetch_all(h)
    fields = set(h.sent("POST", "/search/jql")[0].body["fields"])
    ids = {h.emulator.field_id(t) for t in TRACKING.values()}
    assert ids <= fields and h.emulator.field_id("Support team") in fields
    assert "comment" not in fields and "description" not in fields  # no history needed
    assert "*all" not in fields


def test_a_failing_later_page_fails_the_fetch_after_retries(make: Make) -> None:
    h = make("cloud")
    h.seed(60)
    h.fail("page_error", times=100)
    with pytest.raises(AdapterError):
        fetch_all(h)
    assert len(h.sent("POST", "/search/jql")) == 1 + 5  # the first page, then 5 attempts


# --- Data Center paging -------------------------------------------------------------------------


def test_dc_pages_with_start_at_and_checks_the_total(make: Make) -> None:
    h = make("dc", page_limit=60)  # the server caps maxResults below what we ask
    keys = h.seed(250)
    assert sorted(fetch_all(h, page_size=100)) == sorted(keys)
    starts = [int(parse_qs_one(r, "startAt")) for r in h.sent("GET", "/rest/api/2/search")]
    assert starts == [0, 60, 120, 180, 240]


def parse_qs_one(r: Call, name: str) -> str:
    return r.query[name][0]


def test_dc_short_page_is_refused_not_taken_as_the_end(make: Make) -> None:
    h = make("dc")
    h.seed(250)

    def second_page(r: Call) -> bool:
        return r.path.endswith("/search") and r.query.get("startAt") == ["100"]

    # What Jira answers for page 2, with one issue missing (permissions or a reindex).
    _, _, body = h.emulator.handle(
        Request(
            "GET",
            "/rest/api/2/search",
            {
                "jql": ["statusCategory != Done ORDER BY key ASC"],
                "startAt": ["100"],
                "maxResults": ["100"],
                "fields": ["summary"],
            },
            {"Authorization": "Bearer x"},
            None,
        )
    )
    page = json.loads(body)
    del page["issues"][17]
    h.emulator.log.clear()
    h.emulator.fail(second_page, 200, body=page)
    with pytest.raises(AdapterError, match="changed while paging"):
        fetch_all(h, page_size=100)


def test_dc_result_set_moving_while_paging_is_refused(make: Make) -> None:
    h = make("dc")
    keys = h.seed(120)
    h.emulator.before(
        lambda r: r.path.endswith("/search") and r.query.get("startAt") != ["0"],
        lambda: h.emulator.edit(keys[0], status="Done"),
    )
    with pytest.raises(AdapterError, match="total was 120, then 119"):
        fetch_all(h, page_size=100)


# --- history ------------------------------------------------------------------------------------


def seed_history(h: JiraHarness) -> str:
    """An issue that was done, reopened by the customer, edited by us and by an agent."""
    e = h.emulator
    (key,) = h.seed(1)
    h.time.now += 60
    e.edit(key, status="Done", by=e.agent)
    h.time.now += 60
    e.edit(key, status="Open", by=e.customer)
    h.time.now += 60
    e.edit(key, values={"Escalation level": "L1"}, by=e.myself)
    e.edit(key, priority="High", by=e.myself)
    h.time.now += 60
    e.add_comment(key, "Still broken", by=e.customer)
    e.add_comment(key, "Looking", by=e.agent, internal=True)
    return key


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_history_is_read_in_bulk_and_our_own_changes_are_marked(make: Make, flavour: str) -> None:
    h = make(flavour)
    key = seed_history(h)
    h.seed(30)
    policy = history_policy("{reopens: {at_least: 1}}")
    adapter = h.adapter(policy)
    tickets = {t.id: t for t in adapter.fetch(needs(policy), NOW)}
    t = tickets[key]
    assert t.reopens == 1
    assert t.history is not None
    kinds = [(e.kind, e.actor) for e in t.history]
    assert (EventKind.STATUS, Actor.AGENT) in kinds
    assert (EventKind.STATUS, Actor.CUSTOMER) in kinds
    assert (EventKind.PRIORITY, Actor.CONNECTOR) in kinds
    comments = [e for e in t.history if e.kind is EventKind.COMMENT]
    # A sweep renders only the text the engine reads: the last public customer comment's.
    assert [(e.actor, e.public, e.text) for e in comments][-2:] == [
        (Actor.CUSTOMER, True, "Still broken"),
        (Actor.AGENT, flavour == "dc", None),  # DC's comment JSON hides JSM internal
    ]
    assert t.last_customer_comment == "Still broken"
    assert t.last_activity_at is not None
    per_issue = [r for r in h.emulator.log if "/issue/" in r.path]
    assert per_issue == []  # nothing is read issue by issue
    if flavour == "cloud":
        (bulk,) = h.sent("POST", "/changelog/bulkfetch")
        assert len(bulk.body["issueIdsOrKeys"]) == 31
        assert set(bulk.body["fieldIds"]) >= {"status", "assignee", "priority"}
    else:
        assert all(parse_qs_one(r, "expand") == "changelog" for r in h.sent("GET", "/search"))
    assert len(h.sent("GET", "/myself")) == 1 and len(h.sent("GET", "/status")) == 1
    fresh = [e for e in adapter.reread(key).history or () if e.kind is EventKind.COMMENT]
    assert [e.text for e in fresh][-2:] == ["Still broken", "Looking"]  # a single read: all


def test_cloud_bulk_history_goes_by_the_thousand(make: Make) -> None:
    h = make("cloud")
    h.seed(1203)
    policy = history_policy("{reopens: {at_least: 1}}")
    assert len(fetch_all(h, policy, page_size=100)) == 1203
    calls = h.sent("POST", "/changelog/bulkfetch")
    assert [len(c.body["issueIdsOrKeys"]) for c in calls] == [1000, 203]


def test_truncated_comments_are_fetched_only_where_events_could_fire(make: Make) -> None:
    h = make("cloud", search_comment_limit=1)
    p1, p3 = h.seed(1, priority="P1")[0], h.seed(1, priority="P3")[0]
    for key in (p1, p3):
        for text in ("one", "two", "three"):
            h.emulator.add_comment(key, text)
    policy = history_policy("{priority: P1, customer_replies: {at_least: 2}}")
    adapter = h.adapter(policy)
    tickets = {t.id: t for t in adapter.fetch(needs(policy), NOW)}
    assert [r.path for r in h.sent("GET", "/comment")] == [f"/rest/api/3/issue/{p1}/comment"]
    assert tickets[p1].customer_replies == 3
    assert adapter.approximate == {"comments truncated": 1}


# --- fields -------------------------------------------------------------------------------------


def test_missing_fields_are_named_all_at_once(make: Make) -> None:
    h = make("cloud")
    for f in list(h.emulator.fields):
        if f["name"] in ("Escalation rule", "SLA due", "Support team"):
            h.emulator.fields.remove(f)
    with pytest.raises(SetupError) as err:
        h.adapter().fields()
    message = str(err.value)
    for name in ("'Escalation rule'", "'SLA due'", "'Support team'"):
        assert name in message


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_fields_create_makes_text_and_number_fields(make: Make, flavour: str) -> None:
    h = make(flavour)
    for f in list(h.emulator.fields):
        if f["name"] in ("Escalation count", "Escalation state"):
            h.emulator.fields.remove(f)
    statuses = {s.name: s for s in h.adapter().fields(create=True)}
    assert statuses["count"].created and statuses["state"].created
    assert "Edit screen" in statuses["count"].problem
    bodies = {r.body["name"]: r.body for r in h.sent("POST", "/field")}
    assert bodies["Escalation count"]["type"].endswith(":float")
    assert bodies["Escalation state"]["type"].endswith(":textfield")
    assert bodies["Escalation state"]["searcherKey"].endswith(":textsearcher")


def test_duplicate_field_names_are_refused(make: Make) -> None:
    h = make("cloud")
    h.emulator.add_field("Escalation level", "text")
    with pytest.raises(SetupError, match="2 fields named 'Escalation level'"):
        h.adapter().fields()


# --- retries ------------------------------------------------------------------------------------


def test_jira_never_retries_by_itself_and_an_http_date_retry_after_is_honoured(
    make: Make,
) -> None:
    h = make("cloud")
    h.seed(3)
    adapter = h.adapter()
    assert adapter.client.jira._session.max_retries == 0
    h.emulator.fail(
        lambda r: r.path.endswith("/search/jql"), 429, retry_after=7, http_date=True, times=2
    )
    assert len(fetch_all(h)) == 3
    # Two 429s then the page: 3 requests, each retry waiting exactly what the date said.
    assert len(h.sent("POST", "/search/jql")) == 3
    assert h.slept == [7.0, 7.0]


def test_server_info_is_retried_by_us_not_by_jira(make: Make) -> None:
    h = make("dc")
    h.seed(1)
    h.emulator.fail(lambda r: r.path.endswith("/serverInfo"), 503, retry_after=3)
    assert len(fetch_all(h)) == 1
    assert len(h.sent("GET", "/serverInfo")) == 2 and h.slept == [3.0]


def test_no_request_is_sent_before_the_adapter_is_used(make: Make) -> None:
    h = make("cloud")
    h.adapter()
    assert h.emulator.log == []


def test_reread_maps_a_fresh_issue(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, tags=["vip"])
    h.emulator.edit(key, values={"Escalation count": 2.0, "Escalated at": "2026-03-02T08:00:00Z"})
    t = h.adapter().reread(key)
    assert t.tracking.count == 2 and t.tracking.escalated_at == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert t.tags == frozenset({"vip"}) and t.url == f"{h.url}/browse/{key}"
    (get,) = h.sent("GET", f"/issue/{key}")
    assert "comment" in parse_qs_one(get, "fields").split(",")


def test_the_client_has_our_timeouts_and_our_transport(make: Make) -> None:
    h = make("cloud")
    h.seed(3)
    policy = h.policy()
    adapter = h.adapter(policy, timeout={"connect": 3, "read": 20})
    assert len(list(adapter.fetch(needs(policy), NOW))) == 3
    session = adapter.client.jira._session
    assert session.timeout == (3.0, 20.0) and session.verify is True
    # Our transport (which counts what it sends) carried every request Jira received.
    assert adapter.client.stats.total == len(h.emulator.log) == 3


def test_check_reports_problems_without_raising(make: Make) -> None:
    h = make("cloud")
    h.seed(1)
    h.emulator.screens["SUP"].discard(h.emulator.field_id("Escalation level"))
    checks = {c.name: c for c in h.adapter().check()}
    assert checks["connection"].ok and "cloud" in checks["connection"].detail
    assert checks["credentials"].ok and checks["fields"].ok
    screens = checks["edit screens"]
    assert not screens.ok and "'Escalation level'" in screens.detail
    assert "Project settings → Screens" in screens.detail

    bad = make("dc")
    bad.emulator.fail(lambda r: r.path.endswith("/myself"), 401)
    checks = {c.name: c for c in bad.adapter().check()}
    assert checks["connection"].ok and not checks["credentials"].ok
    assert "401" in checks["credentials"].detail


def test_a_url_that_is_not_jira_is_a_setup_error(make: Make) -> None:
    h = make("cloud")
    h.emulator.fail(lambda r: r.path.endswith("/serverInfo"), 200, body={"hello": "proxy"})
    with pytest.raises(SetupError, match="did not answer like Jira"):
        fetch_all(h)
