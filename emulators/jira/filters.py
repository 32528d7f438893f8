"""Saved filters and permissions: what `escalate setup` and `doctor` ask of Jira.

- `POST /filter` (both flavours): name unique per owner, JQL validated (400 naming the
  problem), sharing needs the global "Share dashboards and filters" permission
  (CREATE_SHARED_OBJECTS), `favourite` marks it for its owner.
- Cloud `GET /rest/api/3/filter/search` (filterName, isSubstringMatch, expand, paged);
  Data Center `GET /rest/api/2/filter/favourite` (the caller's favourites: Data Center has no
  filter search).
- `GET /mypermissions?permissions=A,B[&projectKey=K]`: each key with `havePermission` from the
  emulator's `permissions` set and its per-project `denied` (Cloud requires the `permissions`
  parameter; Data Center ignores it and answers every key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulators.http import Answer
from emulators.jira.jql import query
from emulators.jira.wire import Call, Json, answer, one

if TYPE_CHECKING:
    from emulators.jira.site import Site

PERMISSION_NAMES = {
    "BROWSE_PROJECTS": ("10", "Browse Projects"),
    "EDIT_ISSUES": ("12", "Edit Issues"),
    "ADD_COMMENTS": ("15", "Add Comments"),
    "ASSIGN_ISSUES": ("13", "Assign Issues"),
    "ASSIGNABLE_USER": ("17", "Assignable User"),
    "TRANSITION_ISSUES": ("46", "Transition Issues"),
    "CREATE_ISSUES": ("11", "Create Issues"),
    "CREATE_SHARED_OBJECTS": ("22", "Share dashboards and filters"),
    "ADMINISTER": ("0", "Administer Jira"),
    "USER_PICKER": ("27", "Browse users and groups"),
}
GLOBAL_PERMISSIONS = frozenset({"CREATE_SHARED_OBJECTS", "ADMINISTER", "USER_PICKER"})


def my_permissions(site: Site, r: Call) -> Answer:
    """Cloud requires `permissions` and answers only those keys; Data Center (measured on
    8.20.7) accepts the parameter but ignores it, answering every key."""
    keys = [k for k in (one(r.query, "permissions") or "").split(",") if k]
    if not keys and site.cloud:
        return answer(400, {"errorMessages": ["The 'permissions' parameter is required."]})
    unknown = [k for k in keys if k not in PERMISSION_NAMES]
    if unknown and site.cloud:
        return answer(400, {"errorMessages": [f"Unrecognized permission keys: {unknown}"]})
    project = one(r.query, "projectKey")
    if project is not None and project not in site.screens:
        return answer(404, {"errorMessages": [f"No project could be found with key '{project}'."]})
    out = {}
    for key in keys if site.cloud else list(PERMISSION_NAMES):
        pid, name = PERMISSION_NAMES[key]
        scope = None if key in GLOBAL_PERMISSIONS else project
        out[key] = {
            "id": pid,
            "key": key,
            "name": name,
            "type": "GLOBAL" if key in GLOBAL_PERMISSIONS else "PROJECT",
            "description": f"Ability to {name.lower()}.",
            "havePermission": site.may(key, scope),
        }
    return answer(200, {"permissions": out})


def create_filter(site: Site, r: Call, v3: bool) -> Answer:
    body = r.body if isinstance(r.body, dict) else {}
    name, jql = str(body.get("name") or "").strip(), str(body.get("jql") or "")
    if not name:
        return _invalid("filterName", "You must specify a name to save this filter as.")
    mine = [f for f in site.filters.values() if f["owner"] == site.myself]
    if any(f["name"].casefold() == name.casefold() for f in mine):
        return _invalid("filterName", "Filter with same name already exists.")
    try:
        query(site.issues, jql, bounded=False, fields=site.fields, now=site.clock())
    except ValueError as exc:
        return _invalid("jql", str(exc))
    shares = list(body.get("sharePermissions") or [])
    if shares and not site.may("CREATE_SHARED_OBJECTS"):
        return _invalid("sharePermissions", "You do not have permission to share filters.")
    fid = str(10_000 + len(site.filters))
    site.filters[fid] = {
        "id": fid,
        "name": name,
        "description": body.get("description") or "",
        "jql": jql,
        "owner": site.myself,
        "favourite": bool(body.get("favourite", site.cloud)),
        "sharePermissions": shares,
    }
    return answer(200, filter_json(site, site.filters[fid], v3))


def search_filters(site: Site, r: Call, v3: bool) -> Answer:
    if not site.cloud:
        return answer(404, {"errorMessages": ["null for uri: .../filter/search"]})
    wanted = (one(r.query, "filterName") or "").casefold()
    substring = one(r.query, "isSubstringMatch") == "true"
    found = [
        f
        for f in site.filters.values()
        if not wanted
        or (wanted in f["name"].casefold() if substring else _words(wanted, f["name"]))
    ]
    start = int(one(r.query, "startAt") or 0)
    size = int(one(r.query, "maxResults") or 50)
    page = found[start : start + size]
    return answer(
        200,
        {
            "self": f"{site.base_url}/rest/api/3/filter/search",
            "maxResults": size,
            "startAt": start,
            "total": len(found),
            "isLast": start + size >= len(found),
            "values": [filter_json(site, f, v3) for f in page],
        },
    )


def favourite_filters(site: Site, r: Call, v3: bool) -> Answer:
    mine = [f for f in site.filters.values() if f["favourite"] and f["owner"] == site.myself]
    return answer(200, [filter_json(site, f, v3) for f in mine])


def filter_json(site: Site, f: Json, v3: bool) -> Json:
    api = "3" if v3 else "2"
    return {
        "self": f"{site.base_url}/rest/api/{api}/filter/{f['id']}",
        "id": f["id"],
        "name": f["name"],
        "description": f["description"],
        "owner": site.users[f["owner"]],
        "jql": f["jql"],
        "viewUrl": f"{site.base_url}/issues/?filter={f['id']}",
        "searchUrl": f"{site.base_url}/rest/api/{api}/search?jql=...",
        "favourite": f["favourite"],
        "sharePermissions": f["sharePermissions"],
    }


def _words(wanted: str, name: str) -> bool:
    return set(wanted.split()) <= set(name.casefold().split())


def _invalid(key: str, message: str) -> Answer:
    return answer(400, {"errorMessages": [], "errors": {key: message}})
