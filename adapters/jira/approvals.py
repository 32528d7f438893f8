"""Who set an issue's approval field, from Jira's own record (`rules.approval`).

For an issue whose approval field holds a value: its changelog (Cloud: `issue/{key}/changelog`,
100 entries a page; Data Center, which has no such endpoint: the issue with
`expand=changelog`), the newest entry that set that field (by `fieldId`, or by name where Data
Center leaves the id out) to the value it holds now; that entry's author is who approved. An
approver is named by a stable identity: the account id or e-mail on Cloud, the username on Data
Center, never the display name anyone may change. The members of every group an approval names
are listed once per run (`group/member`, 50 a page), so a group approver costs one request per
group and run, not one per issue. A value no entry set, or one set with the connector's own
credentials, names no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from adapters.errors import AdapterError, NotFound, PermissionDenied
from adapters.jira import search
from adapters.jira.client import JiraClient
from adapters.jira.context import parse_time
from adapters.jira.lookups import Lookups
from rules.approval import approver_groups, display
from rules.model import Approval

Json = dict[str, Any]
MAX_PAGES = 1000
log = structlog.get_logger(__name__)


class Approvals:
    """The approval records of one run's issues, with the approver groups' members cached."""

    def __init__(self, lookups: Lookups) -> None:
        self.lookups, self.client = lookups, lookups.client
        self._members: dict[str, frozenset[str]] | None = None
        #: Issue key -> (its `updated`, its approval field's changelog then), read in bulk with
        #: a bulk re-read: good for a read of the issue that shows the same `updated`.
        self._read: dict[str, tuple[object, list[Mapping[str, Any]]]] = {}

    def read_ahead(self, issues: Mapping[str, Mapping[str, Any]]) -> None:
        """Cloud: the approval field's changelog of each of these issues (key -> issue JSON)
        that holds a value, in one `changelog/bulkfetch` (by the field's id), for `record` to
        take once instead of one `issue/{key}/changelog` read each."""
        field = self.lookups.resolved.tracking.get("approved_by")
        if field is None or not self.lookups.cloud:
            return
        held = {
            str(raw["id"]): key
            for key, raw in issues.items()
            if (raw.get("fields") or {}).get(field.id) not in (None, "")
        }
        if held:
            logs = search.changelogs(self.client, list(held), [field.id])
            for iid, key in held.items():
                updated = (issues[key].get("fields") or {}).get("updated")
                self._read[key] = (updated, list(logs.get(iid, [])))

    def record(self, key: str, value: str, updated: object = None) -> Approval:
        """Who set the approval field of issue `key` (last `updated` then) to `value`."""
        field = self.lookups.resolved.tracking.get("approved_by")
        if field is None:
            return Approval("")
        cloud = self.lookups.cloud
        ahead = self._read.pop(key, None)
        entries = ahead[1] if ahead is not None and updated and ahead[0] == updated else None
        try:
            if entries is None:
                entries = (
                    changelog(self.client, key) if cloud else expanded(self.client, key, field.id)
                )
        except NotFound:  # deleted since it was read: nothing approves it
            return Approval("")
        entry = last_setter(entries, field.id, field.name, value)
        if entry is None:
            return Approval("")
        return self.by(entry.get("author") or {}, parse_time(entry.get("created")))

    def by(self, author: Mapping[str, Any], at: datetime | None) -> Approval:
        """The approval record of the author of a changelog entry made at `at`: their stable
        ids and the approver groups they are a member of; nobody for our own account."""
        ids = identities(author, cloud=self.lookups.cloud)
        me = str(self.lookups.myself() or "").lower()
        if not ids or me in ids:
            return Approval("", at=at)
        name, email = author.get("displayName"), author.get("emailAddress")
        groups = frozenset(g.lower() for g, members in self.members().items() if ids & members)
        who = display(name, email, sorted(ids)[0])
        return Approval(who, frozenset(ids), groups, at)

    def members(self) -> dict[str, frozenset[str]]:
        """The members' identities of every approver group the site has (once a run)."""
        if self._members is None:
            self._members = {}
            cloud = self.lookups.cloud
            for group in approver_groups(self.lookups.policy):
                try:
                    found = group_members(self.client, group)
                except NotFound:
                    continue  # a missing group is `doctor`'s to report
                except PermissionDenied as exc:  # its members cannot approve: say why, once
                    log.warning("approver_group_unreadable", group=group, error=str(exc))
                    continue
                ids = (i for user in found for i in identities(user, cloud=cloud))
                self._members[group] = frozenset(ids)
        return self._members


def identities(user: Mapping[str, Any], *, cloud: bool) -> set[str]:
    """The stable ids an approver list may use for a Jira user: the account id or e-mail on
    Cloud, the username on Data Center (lower-cased)."""
    keys = ("accountId", "emailAddress") if cloud else ("name",)
    return {str(user[k]).lower() for k in keys if user.get(k)}


def expanded(client: JiraClient, key: str, field_id: str) -> list[Mapping[str, Any]]:
    """Data Center: the issue's whole changelog, from `expand=changelog`, oldest first."""
    path = f"{client.api}/issue/{key}"
    raw = client.get(path, {"fields": field_id, "expand": "changelog"}) or {}
    block = raw.get("changelog") or {}
    histories: list[Mapping[str, Any]] = list(block.get("histories") or ())
    if int(block.get("total") or 0) > len(histories):
        raise AdapterError(f"GET {path}?expand=changelog: the changelog came back cut short")
    return sorted(histories, key=lambda h: str(h.get("created") or ""))


def changelog(client: JiraClient, key: str) -> list[Mapping[str, Any]]:
    """Every changelog entry of an issue, oldest first."""
    path = f"{client.api}/issue/{key}/changelog"
    out: list[Mapping[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = client.get(path, {"startAt": len(out), "maxResults": 100}) or {}
        values = page.get("values") or []
        out.extend(values)
        if not values or page.get("isLast", True) or len(out) >= int(page.get("total") or 0):
            return out
    raise AdapterError(f"GET {path}: more than {MAX_PAGES} pages")


def group_members(client: JiraClient, group: str) -> list[Mapping[str, Any]]:
    """Every active member of a group (NotFound: no such group)."""
    path = f"{client.api}/group/member"
    out: list[Mapping[str, Any]] = []
    for _ in range(MAX_PAGES):
        params = {"groupname": group, "startAt": len(out), "maxResults": 50}
        page = client.get(path, params) or {}
        values = page.get("values") or []
        out.extend(values)
        if not values or page.get("isLast", True):
            return out
    raise AdapterError(f"GET {path}: more than {MAX_PAGES} pages")


def last_setter(
    entries: Sequence[Mapping[str, Any]], field_id: str, field_name: str, value: str
) -> Mapping[str, Any] | None:
    """The newest entry that set the field to `value` (None if its newest setting is another
    value, or none did)."""
    for entry in reversed(entries):
        for item in _items(entry.get("items") or ()):
            if item.get("fieldId") != field_id and not (
                item.get("fieldId") is None and item.get("field") == field_name
            ):
                continue
            same = str(item.get("toString") or "").strip() == value.strip()
            return entry if same else None
    return None


def _items(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    return (i for i in items if isinstance(i, Mapping))
