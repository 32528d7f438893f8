"""The write endpoints: create a field, edit an issue (fields and update verbs, the edit-screen
check and its 400, allowed priorities and options, users by accountId or name, the comment
limit's 413), assign an issue, and add a comment (ADF on v3, wiki text on v2; JSM properties,
visibility).

A permission the account lacks is refused as Jira refuses it (measured on Data Center 8.20.7;
the Cloud reference documents the same statuses): without Edit Issues every field of an edit is
"not on the appropriate screen" (400), the assignee likewise without Assign Issues, a comment
without Add Comments is a 400 "<name>, you do not have the permission to comment on this
issue."; only `PUT /issue/{key}/assignee` (403, documented) and `POST /field` without Administer
Jira (403, documented) answer 403. The wording of those two 403s is not documented.
"""

from __future__ import annotations

from collections.abc import Callable

from emulators.http import Answer
from emulators.jira.site import Site
from emulators.jira.wire import (
    DATETIME,
    KINDS,
    SCREEN_ERROR,
    SEARCHERS,
    Call,
    Issue,
    Json,
    answer,
    is_adf,
)

FIELD_KEYS = {"name", "description", "type", "searcherKey"}

NOT_ADMIN = "You are not authorized to perform this action. Administrator privileges are required."
NO_ASSIGN = "You do not have permission to assign issues."


def create_field(site: Site, r: Call, v3: bool) -> Answer:
    """`POST /field`: needs the global permission Administer Jira (403 without it); `name` and
    `type` required, a searcher valid for the type (none: the field cannot be searched); no
    screen gets the field."""
    if not site.may("ADMINISTER"):
        return answer(403, {"errorMessages": [NOT_ADMIN], "errors": {}})
    body = r.body if isinstance(r.body, dict) else {}
    if unknown := sorted(set(body) - FIELD_KEYS):
        message = f"Unrecognized field {unknown[0]!r}"
        return answer(400, {"errorMessages": [message], "errors": {}})
    plugin = str(body.get("type", ""))
    kind = next((k for k, (_, p) in KINDS.items() if p == plugin), None)
    if kind is None:
        return answer(400, {"errorMessages": [], "errors": {"type": f"Unknown type {plugin!r}."}})
    if not str(body.get("name") or "").strip():
        return answer(400, {"errorMessages": [], "errors": {"name": "The name is required."}})
    searcher = body.get("searcherKey")
    if searcher is not None and searcher not in SEARCHERS[plugin]:
        error = f"The searcher {searcher!r} is not valid for the field type {plugin!r}."
        return answer(400, {"errorMessages": [], "errors": {"searcherKey": error}})
    fid = site.add_field(str(body["name"]), kind, screen=False)  # the API adds no screens
    made = next(f for f in site.fields if f["id"] == fid)
    if searcher is None:
        made.update(searchable=False, clauseNames=[])
    return answer(201, made)


def put_issue(site: Site, r: Call, issue: Issue, v3: bool) -> Answer:
    body = r.body if isinstance(r.body, dict) else {}
    editable = site.editable(issue.project)
    errors: dict[str, str] = {}
    changes: dict[str, Json] = {}
    for fid, value in (body.get("fields") or {}).items():
        if fid not in editable:
            errors[fid] = SCREEN_ERROR.format(fid)
            continue
        try:
            changes[fid] = value_of(site, fid, value, issue, v3)
        except ValueError as exc:
            errors[fid] = str(exc)
    added: list[Json] = []
    for fid, ops in (body.get("update") or {}).items():
        if fid == "comment" and not site.may("ADD_COMMENTS", issue.project):
            errors["comment"] = comment_refused(site)
        elif fid == "comment":
            for op in ops:
                text = (op.get("add") or {}).get("body")
                if not (is_adf(text) if v3 else isinstance(text, str)):
                    errors["comment"] = "Comment body is not valid!"
                added.append(op.get("add") or {})
        elif fid == "labels" and fid in editable:
            labels = set(issue.fields["labels"])
            for op in ops:
                labels |= {op["add"]} if "add" in op else set()
                labels -= {op["remove"]} if "remove" in op else set()
                labels = set(op["set"]) if "set" in op else labels
            changes["labels"] = sorted(labels)
        else:
            errors[fid] = SCREEN_ERROR.format(fid)
    if errors:
        return answer(400, {"errorMessages": [], "errors": errors})
    if added and len(issue.comments) + len(added) > site.comment_limit:
        return answer(413, {"errorMessages": ["This issue has reached its comment limit."]})
    site.apply(issue, changes, site.myself)
    for add in added:
        issue.comments.append(site.new_comment(issue, add["body"], site.myself, [], None))
    return 204, {}, b""


def assign(site: Site, r: Call, issue: Issue, v3: bool) -> Answer:
    """PUT /issue/{key}/assignee: `accountId` on Cloud, `name` on Data Center; null unassigns."""
    if not site.may("ASSIGN_ISSUES", issue.project):
        return answer(403, {"errorMessages": [NO_ASSIGN], "errors": {}})
    body = r.body if isinstance(r.body, dict) else {}
    ref = body.get("accountId" if site.cloud else "name")
    try:
        user = value_of(site, "assignee", None if ref is None else body, issue, v3)
    except ValueError as exc:
        return answer(404, {"errorMessages": [str(exc)], "errors": {}})
    site.apply(issue, {"assignee": user}, site.myself)
    return 204, {}, b""


def post_comment(site: Site, r: Call, issue: Issue, v3: bool) -> Answer:
    if not site.may("ADD_COMMENTS", issue.project):
        return answer(400, {"errorMessages": [comment_refused(site)], "errors": {}})
    body = r.body if isinstance(r.body, dict) else {}
    text = body.get("body")
    if not (is_adf(text) if v3 else isinstance(text, str)):
        return answer(400, {"errorMessages": ["Comment body is not valid!"], "errors": {}})
    if len(issue.comments) >= site.comment_limit:
        return answer(413, {"errorMessages": ["This issue has reached its comment limit."]})
    comment = site.new_comment(
        issue, text, site.myself, body.get("properties") or [], body.get("visibility")
    )
    issue.comments.append(comment)
    issue.fields["updated"] = comment["created"]
    return answer(201, site.comment_json(comment, v3))


def comment_refused(site: Site) -> str:
    """Jira's refusal of a comment for want of Add Comments (a 400, not a 403)."""
    name = site.users[site.myself]["displayName"]
    return f"{name}, you do not have the permission to comment on this issue."


def value_of(site: Site, fid: str, value: Json, issue: Issue, v3: bool) -> Json:
    """The value an edit stores in field `fid`; ValueError with Jira's message if invalid."""
    system = SYSTEM_VALUES.get(fid)
    if system is not None:
        return system(site, value, issue)
    spec = next(f for f in site.fields if f["id"] == fid)["schema"]
    kind = spec["type"]
    if value is None:
        return None
    if kind == "string" and spec.get("custom", "").endswith("textarea") and v3:
        if not is_adf(value):
            raise ValueError("Operation value must be an Atlassian Document (see ADF).")
        return value
    check = CUSTOM_VALUES.get(kind)
    if check is None:
        raise ValueError(f"Operation value must be a {kind}")
    return check(site, fid, value)


def _priority(site: Site, value: Json, issue: Issue) -> Json:
    allowed = site.allowed_priorities(issue)
    by_id = {p["id"]: p["name"] for p in site.priorities}
    name = value.get("name") or by_id.get(str(value.get("id")))
    if name not in allowed:
        raise ValueError("The priority selected is invalid.")
    return site.priority_json(name)


def _assignee(site: Site, value: Json, issue: Issue) -> Json:
    if value is None:
        return None
    uid = value.get("accountId" if site.cloud else "name")
    if uid not in site.users:
        raise ValueError(f"User '{uid}' does not exist.")
    return site.users[uid]


def _summary(site: Site, value: Json, issue: Issue) -> Json:
    return str(value)


def _string(site: Site, fid: str, value: Json) -> Json:
    if isinstance(value, str):
        return value
    raise ValueError("Operation value must be a string")


def _number(site: Site, fid: str, value: Json) -> Json:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError("Operation value must be a number")


def _datetime(site: Site, fid: str, value: Json) -> Json:
    if isinstance(value, str) and DATETIME.fullmatch(value):
        return value
    raise ValueError("Operation value must be a datetime")


def _option(site: Site, fid: str, value: Json) -> Json:
    if not isinstance(value, dict):
        raise ValueError("Operation value must be a option")
    options = site.options.get(fid, [])
    if value.get("value") in options:
        return {
            "self": "",
            "value": value["value"],
            "id": str(10100 + options.index(value["value"])),
        }
    raise ValueError(f"Option value '{value.get('value')}' is not valid")


def _group(site: Site, fid: str, value: Json) -> Json:
    if isinstance(value, dict) and value.get("name"):
        return {"name": value["name"]}
    raise ValueError("Operation value must be a group")


#: The system fields an edit may set, each with its own rules.
SYSTEM_VALUES: dict[str, Callable[[Site, Json, Issue], Json]] = {
    "priority": _priority,
    "assignee": _assignee,
    "summary": _summary,
}
#: Custom (and other) fields by schema type: what a value of that type must be.
CUSTOM_VALUES: dict[str, Callable[[Site, str, Json], Json]] = {
    "string": _string,
    "number": _number,
    "datetime": _datetime,
    "option": _option,
    "group": _group,
}
