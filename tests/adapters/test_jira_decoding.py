"""A sweep's search pages decoded into what the sweep reads map to the same tickets as pages
parsed whole; an answer of another shape is parsed whole."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from adapters.jira.decoding import page_decoder
from adapters.jira.mapping import to_ticket
from tests.adapters.test_jira_mapping import AGENT, CUSTOMER, ME, ctx, issue

FIELDS = ["summary", "status", "priority", "labels", "assignee", "reporter", "created"]
FIELDS += ["updated", "statuscategorychangedate", "customfield_1", "customfield_2"]
FIELDS += ["customfield_3", "customfield_4", "comment", "description"]
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": []}]}
LOG = [
    {
        "author": AGENT,
        "created": "2026-03-02T08:06:00.000+0000",
        "items": [{"fieldId": "status", "to": "3", "toString": "Done"}],
    }
]


def adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return ADF | {"content": [paragraph]}


def extras(user: dict[str, Any]) -> dict[str, Any]:
    """A user as Jira sends it: with its link, avatars, time zone and state."""
    avatars = {"48x48": "https://avatar.example/48.png", "16x16": "https://avatar.example/16.png"}
    link = f"https://acme.atlassian.net/rest/api/3/user?accountId={user['accountId']}"
    return user | {"self": link, "avatarUrls": avatars, "timeZone": "UTC", "active": True}


def comment(n: int, author: dict[str, Any], body: Any, at: str, **more: Any) -> dict[str, Any]:
    return {
        "self": f"https://acme.atlassian.net/rest/api/3/issue/1/comment/{n}",
        "id": str(n),
        "author": extras(author),
        "updateAuthor": extras(author),
        "body": body,
        "created": f"2026-03-02T{at}:00.000+0000",
        "updated": f"2026-03-02T{at}:00.000+0000",
        **more,
    }


def page() -> dict[str, Any]:
    said = [
        comment(1, CUSTOMER, adf("It burns"), "08:01"),
        comment(2, AGENT, adf("On it"), "08:10", jsdPublic=True),
        comment(3, AGENT, "wiki *text*", "08:11", visibility={"type": "role", "value": "x"}),
        comment(4, ME, adf("Escalated"), "08:12", properties=[{"key": "k", "value": {}}]),
        comment(5, CUSTOMER, adf("Still broken"), "08:30"),
    ]
    first = issue(comment={"comments": said, "total": 5, "maxResults": 5, "startAt": 0})
    first["fields"]["description"] = adf("The printer is on fire")
    logged = [entry | {"author": extras(entry["author"])} for entry in LOG]
    first["changelog"] = {"startAt": 0, "maxResults": 1, "total": 1, "histories": logged}
    first["fields"] |= {"assignee": extras(AGENT), "reporter": extras(CUSTOMER)}
    second = issue(comment={"comments": [], "total": 0}, labels=[], description=None)
    second |= {"key": "SUP-2", "id": "10002", "self": "https://acme/rest/api/3/issue/10002"}
    del second["fields"]["customfield_3"]  # a field may be left out (not on that screen)
    return {"issues": [first | {"expand": "renderedFields"}, second], "isLast": True}


@pytest.mark.parametrize("texts", [False, True])
def test_decoded_pages_map_to_the_same_tickets(texts: bool) -> None:
    body = orjson.dumps(page())
    decoded, whole = page_decoder(FIELDS)(body), orjson.loads(body)
    assert decoded != whole  # the comments' extras and raw bodies left out
    c = ctx()
    for lean, full in zip(decoded["issues"], whole["issues"], strict=True):
        assert to_ticket(lean, c, LOG, texts=texts) == to_ticket(full, c, LOG, texts=texts)
        lean_log = (lean.get("changelog") or {}).get("histories")  # Data Center's, expanded
        full_log = (full.get("changelog") or {}).get("histories")
        if full_log is not None:
            ours, theirs = to_ticket(lean, c, lean_log), to_ticket(full, c, full_log)
            assert ours == theirs and ours.history and len(ours.history) == 7
    said = decoded["issues"][0]["fields"]["comment"]["comments"]
    assert isinstance(said[0]["body"], msgspec.Raw) and "updateAuthor" not in said[0]
    assert said[0]["author"] == CUSTOMER  # who it is, not its links, avatars or time zone
    assert decoded["isLast"] is True and decoded["issues"][1]["key"] == "SUP-2"


def test_another_shape_is_parsed_whole() -> None:
    odd = page()
    odd["issues"][0]["fields"]["comment"] = ["not", "an", "object"]
    body = orjson.dumps(odd)
    assert page_decoder(FIELDS)(body) == orjson.loads(body)
    foreign = orjson.dumps({"errorMessages": ["maintenance"]})  # a 200 that is no search result
    assert page_decoder(FIELDS)(foreign) == {"errorMessages": ["maintenance"]}
    with pytest.raises(ValueError):  # not JSON: what the client turns into "not JSON"
        page_decoder(FIELDS)(b"<html>login</html>")
