"""The agents' escalation queue on Jira: a saved filter "Escalated tickets".

JQL: `(<scope>) AND statusCategory != Done AND "<level>" is not EMPTY AND "<level>" !~
"<first level>" ORDER BY "<SLA due>" ASC`: open tickets only, as the Zendesk view (a scope may
take in done tickets for a closure rule; the status clause is left out when the scope has it).
A text field (what `escalate setup` creates) takes only `~`/`!~` (word search) in JQL, a select
list `!=`; `is not EMPTY` keeps tickets never escalated out either way. It is shared with the
projects of the scope (sharing needs the global "Share dashboards and filters" permission).
Found by name (Cloud: filter search; Data Center, which has no filter search: the account's
favourite filters, so it is created as a favourite), never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.doctor import sentence
from adapters.errors import AdapterError, MaybeLanded, PermissionDenied, Rejected
from adapters.jira.fields import Field
from adapters.jira.jql import quoted, split, split_order
from adapters.jira.lookups import Lookups
from adapters.results import Queue

Json = dict[str, Any]
TITLE = "Escalated tickets"
PAGES = 20  # filter search pages of 50 read at most
OWNER_KEYS = ("accountId", "name", "key")
OPEN = "statusCategory != Done"  # added unless the scope has it (as a top-level AND clause)


def jql(look: Lookups, planned: Mapping[str, Field] | None = None) -> str:
    """The filter's JQL, from the level and SLA-due fields as they exist, or as `planned`
    (title -> the field setup is about to create)."""
    level_title = look.titles.get("level", "Escalation level")
    level = _field(look, level_title, planned or {})
    sla_title = look.titles.get("sla_due")
    sla = _field(look, sla_title, planned or {}) if sla_title else None
    name = quoted(level.name if level else level_title)
    first = quoted(look.policy.levels[0].name)
    scope = split_order(look.settings.jql)[0].strip()
    text = level is None or level.kind in ("string", "textarea")
    exclude = f"{name} !~ {first}" if text else f"{name} != {first}"
    order = f"{quoted(sla.name)} ASC" if sla is not None else "created ASC"
    clauses = [" ".join(c.split()).lower() for c in split(scope, "and")]
    open_only = "" if OPEN.lower() in clauses else f" AND {OPEN}"
    return f"({scope}){open_only} AND {name} is not EMPTY AND {exclude} ORDER BY {order}"


def _field(look: Lookups, title: str, planned: Mapping[str, Field]) -> Field | None:
    found, _ = look.catalog().lookup(title)
    return found if found is not None else planned.get(title)


def filter_body(look: Lookups, shows: str) -> Json:
    """The Create Filter request: a favourite, shared with the projects of the scope."""
    projects = [{"type": "project", "project": {"id": p}} for _, p in look.sample().values()]
    return {
        "name": TITLE,
        "description": "Tickets the escalation connector escalated, soonest SLA due first.",
        "jql": shows,
        "favourite": True,
        "sharePermissions": projects,
    }


def queue(look: Lookups, *, create: bool) -> Queue:
    """Find the filter by name; with `create`, create it once. Problems go in `problem`."""
    try:
        shows = jql(look)
        found = find(look)
    except AdapterError as exc:
        return Queue("filter", TITLE, None, problem=str(exc))
    if found is not None or not create:
        return _queue(look, found, shows, created=False)
    try:
        body = filter_body(look, shows)
    except AdapterError as exc:
        return Queue("filter", TITLE, None, definition=shows, problem=str(exc))
    return send(look, body)


def send(look: Lookups, body: Json) -> Queue:
    """POST the filter `body` once (a lost answer: found by name, not sent again)."""
    shows = str(body["jql"])
    try:
        made = look.client.post(f"{look.client.api}/filter", body, may_repeat=False)
    except MaybeLanded as exc:
        again = find(look)
        if again is None:
            return Queue("filter", TITLE, None, definition=shows, problem=str(exc))
        made = again
    except (PermissionDenied, Rejected) as exc:
        return Queue("filter", TITLE, None, definition=shows, problem=_problem(look, exc, shows))
    except AdapterError as exc:
        return Queue("filter", TITLE, None, definition=shows, problem=str(exc))
    out = _queue(look, made, shows, created=True)
    if not body.get("sharePermissions"):
        note = "shared with nobody yet (no ticket in scope to learn the projects from): share"
        note += " it in Jira (Filters → Escalated tickets → Details → Edit permissions)"
        out = Queue(out.kind, out.title, out.id, out.url, out.definition, True, note)
    return out


def find(look: Lookups) -> Json | None:
    """Ours first (owned by the connector's account), else anyone's of that exact name."""
    if look.cloud:
        found: list[Json] = []
        params = {"filterName": TITLE, "isSubstringMatch": "true", "expand": "jql,owner"}
        for page in range(PAGES):
            answer = look.client.get(f"{look.client.api}/filter/search", params | _at(page)) or {}
            found += [f for f in answer.get("values") or [] if isinstance(f, dict)]
            if answer.get("isLast", True):
                break
    else:
        found = list(look.client.get(f"{look.client.api}/filter/favourite") or [])
    named = [f for f in found if f.get("name") == TITLE]
    me = look.myself()
    mine = [f for f in named if me in ((f.get("owner") or {}).get(k) for k in OWNER_KEYS)]
    return next(iter(mine or named), None)


def found(look: Lookups, filt: Json, shows: str) -> Queue:
    """An existing filter as a `Queue` (it is never changed)."""
    return _queue(look, filt, shows, created=False)


def _at(page: int) -> dict[str, str]:
    return {"startAt": str(page * 50), "maxResults": "50"}


def _queue(look: Lookups, found: Json | None, shows: str, *, created: bool) -> Queue:
    if found is None:
        return Queue("filter", TITLE, None, definition=shows)
    fid = str(found.get("id"))
    return Queue(
        "filter",
        TITLE,
        fid,
        url=f"{look.settings.url}/issues/?filter={fid}",
        definition=str(found.get("jql") or shows),
        created=created,
    )


def _problem(look: Lookups, exc: AdapterError, shows: str) -> str:
    by_hand = f"or create the filter by hand (Filters → Create filter) with this JQL: {shows}"
    text = str(exc)
    if "same name already exists" in text and not look.cloud:
        return (
            f"{sentence(text)} A filter called {TITLE!r} exists but is not among the connector"
            f" account's favourite filters, where Data Center lets it look: star it, {by_hand}"
        )
    if isinstance(exc, PermissionDenied):  # its message names the permission and the fix
        return f"{sentence(text)} Then run `escalate setup` again, {by_hand}"
    if "permission to share" in text:
        return (
            f"{sentence(text)} Fix: give the connector's account the global permission 'Share"
            f" dashboards and filters' and run `escalate setup` again, {by_hand}"
        )
    return f"{sentence(text)} Fix the scope or the field names, {by_hand}"
