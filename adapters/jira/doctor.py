"""`escalate doctor` for Jira: each check says what passed or how to fix it, never raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.base import Check
from adapters.errors import AdapterError
from adapters.jira import fetch as reads
from rules.errors import EscalationError

if TYPE_CHECKING:
    from adapters.jira.adapter import JiraAdapter


def check(a: JiraAdapter) -> list[Check]:
    out: list[Check] = []

    def step(name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (EscalationError, AdapterError) as exc:
            out.append(Check(name, False, str(exc)))
            return None

    flavour = step("connection", lambda: a.client.flavour)
    if flavour is None:
        return out
    api = "REST API v3, ADF comments" if a.cloud else "REST API v2, wiki comments"
    version = ".".join(str(v) for v in a.client.version)
    out.append(Check("connection", True, f"Jira {flavour.value} {version} ({api})"))
    me = step("credentials", lambda: a.client.get(f"{a.client.api}/myself"))
    if me is None:
        return out
    out.append(Check("credentials", True, f"signed in as {me.get('displayName', '?')}"))
    if step("fields", a.fields) is not None:
        out.append(Check("fields", True, f"{len(a.resolved.tracking)} tracking fields found"))
    for needed in ("state", "level"):
        if needed not in a.titles:
            detail = f"no field mapped for {needed}: map it under platforms.jira.fields"
            out.append(Check(f"tracking.{needed}", False, detail))
    if any(c.name == "fields" and c.ok for c in out):
        screens = step("edit screens", lambda: _screens(a))
        if screens is not None:
            out.append(Check("edit screens", True, screens))
    return out


def _screens(a: JiraAdapter) -> str:
    """The tracking fields are editable: editmeta of one issue per project on the first page
    of the scope (an approximation: screens can differ per issue type)."""
    size = min(a.settings.page_size, 100)
    page = next(reads.search(a.client, a.settings.jql, ["project"], size), [])
    seen: dict[str, str] = {}
    for issue in page:
        project = str(((issue.get("fields") or {}).get("project") or {}).get("key"))
        seen.setdefault(project, str(issue["key"]))
    for project, key in seen.items():
        a.project_meta(key, project)
    if not seen:
        return "no issue in scope to check the edit screens with"
    return "tracking fields editable in " + ", ".join(sorted(seen))
