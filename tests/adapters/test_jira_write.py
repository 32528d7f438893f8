"""Writing to Jira: request shapes, the re-read, retries, timeouts, and each error's handling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from adapters.errors import AuthError, SetupError
from adapters.jira.adapter import JiraAdapter
from adapters.results import WriteResult, WriteStatus
from emulators.jira import SCREEN_ERROR, Call
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.needs import needs
from rules.plan import TicketChange
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY
from tests.adapters.jira_harness import JiraHarness, Make

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def again(policy: Policy) -> Callable[[Ticket], TicketChange | None]:
    return lambda t: evaluate_ticket(policy, t, NOW).change


def run(
    h: JiraHarness, policy: Policy | None = None, adapter: JiraAdapter | None = None
) -> dict[str, WriteResult]:
    """Fetch, plan with the engine, write; results by ticket."""
    policy = policy or h.policy()
    adapter = adapter or h.adapter(policy)
    changes = [
        c
        for t in adapter.fetch(needs(policy), NOW)
        if (c := evaluate_ticket(policy, t, NOW).change) is not None
    ]
    return {r.ticket: r for r in adapter.write(changes, again(policy))}


def reads(h: JiraHarness, key: str) -> int:
    """GET /issue/{key} requests (not editmeta, not comments)."""
    return sum(1 for r in h.emulator.log if r.method == "GET" and r.path.endswith(f"/{key}"))


def on_issue(method: str, key: str, suffix: str = "") -> Callable[[Call], bool]:
    return lambda r: r.method == method and r.path.endswith(f"/issue/{key}{suffix}")


def with_owner(assignee: str) -> Policy:
    text = CONTRACT_POLICY.replace(
        "owner: {group: Support L2}", f"owner: {{group: Support L2, assignee: {assignee}}}"
    )
    return load_policy(text, "owner.yaml")


# --- request shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_one_edit_carries_fields_labels_and_reply_and_one_post_the_jsm_note(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    (key,) = h.seed(1, priority="P1", tags=["vip"])
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED, result.message
    (put,) = h.sent("PUT", f"/issue/{key}")
    (post,) = h.sent("POST", f"/issue/{key}/comment")
    fid = h.emulator.field_id
    fields = put.body["fields"]
    assert fields[fid("Escalation level")] == "L2"
    assert fields[fid("Escalation count")] == 1  # a number field takes a number
    assert fields[fid("Support team")] == {"value": "Support L2"}
    assert put.body["update"]["labels"] == [{"add": "escalated"}]
    assert "labels" not in fields  # never the whole list
    (reply,) = put.body["update"]["comment"]
    note = post.body
    assert note["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    if flavour == "cloud":
        assert put.path.startswith("/rest/api/3/")
        assert reply["add"]["body"]["type"] == "doc"
        assert note["body"]["content"][0]["content"] == [
            {"type": "text", "text": "Escalated Printer on fire"}
        ]
    else:
        assert put.path.startswith("/rest/api/2/")
        assert reply["add"]["body"] == "We are on it"
        assert note["body"] == "Escalated Printer on fire"
    # One re-read before writing, the project's screen once, no read-back afterwards.
    assert reads(h, key) == 1
    assert len(h.sent("GET", "/editmeta")) == 1


def test_without_jsm_a_lone_note_rides_in_the_edit(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    policy = load_policy(CONTRACT_POLICY.replace("      reply: customer\n", ""), "p.yaml")
    assert run(h, policy, h.adapter(policy, jsm_internal_comments=False))[key].status is (
        WriteStatus.APPLIED
    )
    assert h.sent("POST", "/comment") == []
    assert len(h.sent("PUT", f"/issue/{key}")) == 1
    assert h.view(key).comments == [(True, "Escalated Printer on fire")]


def test_note_visibility_restricts_the_note_to_a_role(make: Make) -> None:
    h = make("dc")
    h.seed(1, priority="P1")
    adapter = h.adapter(
        jsm_internal_comments=False, note_visibility={"type": "role", "value": "Developers"}
    )
    run(h, adapter=adapter)
    (post,) = h.sent("POST", "/comment")
    assert post.body["visibility"] == {"type": "role", "value": "Developers"}
    assert "properties" not in post.body


# --- assignees, priorities ----------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_assignee_comes_from_the_users_map_and_no_user_search_is_ever_sent(
    make: Make, flavour: str
) -> None:
    h = make(flavour)
    keys = h.seed(2, priority="P1")
    h.emulator.add_user("u-alice", "Alice", "alice@example.com")
    policy = with_owner("alice@example.com")
    adapter = h.adapter(policy, users={"alice@example.com": "u-alice"})
    results = run(h, policy, adapter)
    assert all(r.status is WriteStatus.APPLIED for r in results.values()), results
    ref = {"accountId": "u-alice"} if flavour == "cloud" else {"name": "u-alice"}
    assert all(r.body["fields"]["assignee"] == ref for r in h.sent("PUT", "/issue/"))
    assert h.sent("GET", "/user") == []  # the map needs no lookup, and never a search
    assert h.view(keys[0]).assignee == "u-alice"
    # Read back, the assignee is named as the policy names it: no change on the next run.
    again_ = {
        t.id: t
        for t in h.adapter(policy, users={"alice@example.com": "u-alice"}).fetch(needs(policy), NOW)
    }
    assert again_[keys[0]].assignee == "alice@example.com"


def test_an_id_is_checked_once_by_exact_lookup_and_an_unknown_email_is_refused(
    make: Make,
) -> None:
    h = make("cloud")
    keys = h.seed(2, priority="P1")
    h.emulator.add_user("5b10ac8d82e05b22cc7d4ef5", "Bob", "bob@example.com")
    policy = with_owner("5b10ac8d82e05b22cc7d4ef5")
    assert all(r.status is WriteStatus.APPLIED for r in run(h, policy).values())
    (lookup,) = h.sent("GET", "/user")
    assert lookup.query == {"accountId": ["5b10ac8d82e05b22cc7d4ef5"]}

    (other,) = h.seed(1, priority="P1")
    policy = with_owner("carol@example.com")
    result = run(h, policy)[other]
    assert result.status is WriteStatus.FAILED
    assert "users map" in result.message and "never guesses" in result.message
    assert h.sent("PUT", f"/issue/{other}") == []
    assert not [r for r in h.emulator.log if "/user/search" in r.path]
    assert all(h.view(k).assignee == "5b10ac8d82e05b22cc7d4ef5" for k in keys)


def test_a_priority_the_project_does_not_allow_is_refused_clearly(make: Make) -> None:
    h = make("cloud")
    h.emulator.add_project("OPS", priorities=["High", "Medium", "Low"])
    key = h.emulator.create_issue("OPS", labels=["vip"])
    policy = load_policy(
        CONTRACT_POLICY.replace("when: {priority: P1}", "when: {label: vip}"), "vip.yaml"
    )
    result = run(h, policy)[key]
    assert result.status is WriteStatus.FAILED
    assert "'Highest' is not allowed in project OPS (allowed: High, Medium, Low)" in (
        result.message
    )
    assert h.sent("PUT", f"/issue/{key}") == []


# --- errors -------------------------------------------------------------------------------------


def test_a_tracking_field_missing_from_the_edit_screen_stops_before_writing(make: Make) -> None:
    h = make("cloud")
    h.seed(1, priority="P1")
    h.emulator.screens["SUP"].discard(h.emulator.field_id("Escalation state"))
    with pytest.raises(SetupError) as err:
        run(h)
    message = str(err.value)
    assert "'Escalation state'" in message and "not on the edit screen of project SUP" in message
    assert "Project settings → Screens" in message
    assert h.sent("PUT", "/issue/") == []


def test_the_screen_error_of_an_edit_is_a_setup_error_naming_the_field(make: Make) -> None:
    h = make("dc")
    (key,) = h.seed(1, priority="P1")
    fid = h.emulator.field_id("Escalation rule")
    h.emulator.fail(
        on_issue("PUT", key),
        400,
        body={"errorMessages": [], "errors": {fid: SCREEN_ERROR.format(fid)}},
    )
    with pytest.raises(SetupError) as err:
        run(h)
    assert f"'Escalation rule' ({fid})" in str(err.value)
    assert "Project settings → Screens" in str(err.value)


def test_401_aborts_the_instance(make: Make) -> None:
    h = make("cloud")
    h.seed(2, priority="P1")
    h.emulator.fail(lambda r: r.method == "PUT", 401)
    with pytest.raises(AuthError, match="credentials were refused"):
        run(h)
    assert len(h.sent("PUT", "/issue/")) == 1


def test_a_rate_limit_with_an_http_date_waits_exactly_that_long(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("PUT", key), 429, retry_after=7, http_date=True)
    assert run(h)[key].status is WriteStatus.APPLIED
    assert h.slept == [7.0]  # from the injected clock: the date was clock() + 7
    assert len(h.sent("PUT", f"/issue/{key}")) == 2
    assert len(h.view(key).replies()) == 1


def test_409_rereads_and_retries_once(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("PUT", key), 409)
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert len(h.sent("PUT", f"/issue/{key}")) == 2
    assert reads(h, key) == 2

    (other,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("PUT", other), 409, times=2)
    result = run(h)[other]
    assert result.status is WriteStatus.FAILED and "409" in result.message


def test_413_drops_the_comments_and_keeps_the_rest(make: Make) -> None:
    h = make("cloud", comment_limit=2)
    (key,) = h.seed(1, priority="P1")
    h.emulator.add_comment(key, "one")
    h.emulator.add_comment(key, "two")
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.comment_dropped
    puts = h.sent("PUT", f"/issue/{key}")
    assert len(puts) == 2 and "comment" not in puts[1].body.get("update", {})
    assert h.sent("POST", "/comment") == []
    assert h.view(key).tracking["level"] == "L2"


def test_a_deleted_issue_is_skipped(make: Make) -> None:
    h = make("dc")
    (key,) = h.seed(1, priority="P1")
    adapter = h.adapter()
    policy = h.policy()
    changes = [evaluate_ticket(policy, t, NOW).change for t in adapter.fetch(needs(policy), NOW)]
    h.delete(key)
    (result,) = adapter.write([c for c in changes if c], again(policy))
    assert result.status is WriteStatus.SKIPPED and "404" in result.message


# --- uncertain timeouts -------------------------------------------------------------------------


def test_a_note_that_landed_before_its_timeout_is_not_posted_again(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.timeout_after_landing(on_issue("POST", key, "/comment"))
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert len(h.sent("POST", "/comment")) == 1
    assert len(h.view(key).notes()) == 1 and len(h.view(key).replies()) == 1


def test_a_note_lost_in_a_timeout_is_posted_once_more(make: Make) -> None:
    h = make("dc")
    (key,) = h.seed(1, priority="P1")
    h.emulator.timeout_before_landing(on_issue("POST", key, "/comment"))
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert len(h.sent("POST", "/comment")) == 2
    assert h.view(key).notes() == ["Escalated Printer on fire"]


def test_an_edit_that_landed_before_its_timeout_is_not_repeated(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.timeout_after_landing(on_issue("PUT", key))
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert len(h.sent("PUT", f"/issue/{key}")) == 1  # landed: not sent again
    assert len(h.sent("POST", "/comment")) == 1  # the note still goes, once
    view = h.view(key)
    assert len(view.replies()) == 1 and len(view.notes()) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_on_an_edit_is_treated_as_maybe_landed(make: Make, status: int) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("PUT", key), status)  # did not land
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.rereads == 1
    assert len(h.sent("PUT", f"/issue/{key}")) == 2
    assert len(h.view(key).replies()) == 1


def test_an_agent_edit_seen_by_the_reread_wins(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    policy = h.policy()
    adapter = h.adapter(policy)
    changes = [evaluate_ticket(policy, t, NOW).change for t in adapter.fetch(needs(policy), NOW)]
    h.agent_edit(key, priority="P3")  # no longer P1: the rule does not hold any more
    (result,) = adapter.write([c for c in changes if c], again(policy))
    assert result.status is WriteStatus.UNCHANGED
    assert h.sent("PUT", "/issue/") == []
    assert h.view(key).priority == "P3"


def test_a_failing_reread_fails_that_change_only(make: Make) -> None:
    h = make("cloud")
    first, second = h.seed(2, priority="P1")
    h.emulator.fail(lambda r: r.method == "GET" and r.path.endswith(f"/{first}"), 500, times=9)
    results = run(h)
    assert results[first].status is WriteStatus.FAILED and "500" in results[first].message
    assert results[second].status is WriteStatus.APPLIED


def test_a_note_that_fails_after_the_edit_says_so(make: Make) -> None:
    """The change stands (as on Zendesk, whose reply is its second request): applied, without
    its comment, and the message says so."""
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(on_issue("POST", key, "/comment"), 403)
    result = run(h)[key]
    assert result.status is WriteStatus.APPLIED and result.comment_dropped
    assert result.message.startswith("the change went in but the note did not: ")
    assert h.view(key).tracking["level"] == "L2"


def test_secrets_never_reach_messages(make: Make) -> None:
    h = make("cloud")
    (key,) = h.seed(1, priority="P1")
    h.emulator.fail(
        on_issue("PUT", key), 400, body={"errorMessages": ["bad token s3cret-token-value"]}
    )
    result = run(h)[key]
    assert result.status is WriteStatus.FAILED
    assert "s3cret-token-value" not in result.message and "****" in result.message


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
@pytest.mark.parametrize("history", [False, True])
def test_request_budget(make: Make, flavour: str, history: bool) -> None:
    """Reads: ceil(N/100) pages + a constant; history in bulk; per change one re-read and
    at most 2 writes (benchmarks/bench_requests_jira.py prints the full table)."""
    h = make(flavour)
    h.seed(5, priority="P1")
    h.seed(245)
    policy = h.policy()
    if history:
        policy = load_policy(
            CONTRACT_POLICY.replace(
                "when: {priority: P1}", "when: {any: [{priority: P1}, {reopens: {at_least: 2}}]}"
            ),
            "history.yaml",
        )
    results = run(h, policy, h.adapter(policy, page_size=100))
    assert len(results) == 5 and all(r.status is WriteStatus.APPLIED for r in results.values())
    log = h.emulator.log
    searches = [r for r in log if "/search" in r.path]
    bulk = [r for r in log if r.path.endswith("/changelog/bulkfetch")]
    rereads = [r for r in log if r.method == "GET" and r.path.rsplit("/", 1)[-1].startswith("SUP-")]
    writes = [r for r in log if r.method in ("PUT", "POST") and "/issue/" in r.path]
    setup = [
        r for r in log if r.path.rsplit("/", 1)[-1] in ("serverInfo", "field", "myself", "status")
    ]
    assert len(searches) == 3
    assert len(bulk) == (1 if history and flavour == "cloud" else 0)
    assert len(rereads) == 5 and len(writes) == 10
    assert len(setup) == (4 if history else 2)
    assert len(log) == len(searches) + len(bulk) + len(rereads) + len(writes) + len(setup) + 1
