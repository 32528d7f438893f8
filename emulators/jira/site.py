"""The emulated site's state: users, fields, projects and their edit screens, issues with
their comments and changelogs; what people do in the UI; and the JSON Jira shows of it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from emulators.jira.wire import (
    CATEGORY_NAMES,
    KINDS,
    PERMISSIONS,
    PRIORITY_NAMES,
    READ_ONLY,
    STATUSES,
    SYSTEM_FIELDS,
    Call,
    Fault,
    Issue,
    Json,
    adf_text,
    as_adf,
    ident,
    stamp,
    string,
    system_field,
)
from emulators.outbox import Outbox


class Site:
    """One Jira site, Cloud or Data Center (`flavour`), with the contract's users."""

    def __init__(
        self,
        *,
        flavour: str = "cloud",
        base_url: str = "https://acme.atlassian.net",
        clock: Callable[[], float] = time.time,
        page_limit: int = 100,
        comment_limit: int = 5000,
        search_comment_limit: int | None = None,
        issue_comment_limit: int | None = None,
    ) -> None:
        self.cloud, self.base_url = flavour == "cloud", base_url.rstrip("/")
        self.clock, self.page_limit, self.comment_limit = clock, page_limit, comment_limit
        #: How many comments the `comment` field of a search hit / of GET issue shows (the
        #: oldest; `total` still counts all). Cloud caps both; which end it keeps is not
        #: documented, and keeping the oldest is the harder case for a client.
        self.search_comment_limit = search_comment_limit
        self.issue_comment_limit = issue_comment_limit
        self.log: list[Call] = []  # every request received, in order
        self.faults: list[Fault] = []  # pending faults (see JiraEmulator.fail)
        self._snapshots: dict[str, list[str]] = {}  # search/jql result lists by token prefix
        self._keys_by_id: dict[str, str] = {}  # issue id -> key, rebuilt on a miss (`find`)
        self.users: dict[str, Json] = {}
        #: Group name -> the ids of its members (group/member).
        self.groups: dict[str, list[str]] = {}
        self.fields: list[Json] = [system_field(fid) for fid in SYSTEM_FIELDS]
        self.options: dict[str, list[str]] = {}
        self.screens: dict[str, set[str]] = {}
        self.priorities = [{"id": str(i), "name": n} for i, n in enumerate(PRIORITY_NAMES, 1)]
        self.project_priorities: dict[str, list[str]] = {}
        self.project_types: dict[str, str] = {}
        self.project_ids: dict[str, str] = {}  # key -> id: 10000, 10001, ... in creation order
        self.statuses = dict(STATUSES)
        self.issues: dict[str, Issue] = {}
        self.filters: dict[str, Json] = {}  # saved filters by id
        #: What the connector's account may do, in every project (mypermissions, editmeta,
        #: edits, comments, assigning, creating fields, sharing filters); `denied` takes
        #: project permissions away in one project only.
        self.permissions: set[str] = set(PERMISSIONS)
        self.denied: dict[str, set[str]] = {}
        #: Accepted credentials; empty: any Basic (Cloud) or Bearer (Data Center) header.
        self.api_tokens: dict[str, str] = {}  # Cloud: e-mail -> API token
        self.pats: set[str] = set()  # Data Center: personal access tokens
        #: Requests a minute before the rate limit; None: no limit reported (the default).
        self.rate_limit: int | None = None
        self.enforce_rate_limit = False  # answer 429 once it is used up
        self.window: deque[float] = deque()
        self._next_issue = 10000
        #: Per-project issue numbers and the comment id, counted (not recounted per issue).
        self._numbers: dict[str, int] = {}
        self._next_comment = 19999  # the first comment is 20000
        self._next_field = 10050
        #: Admin webhooks by id (`hooks`); deliveries go to `outbox` once one is given.
        self.webhooks: dict[str, Json] = {}
        self.next_webhook = 0
        self.next_delivery = 0
        self.outbox: Outbox | None = None
        self._add_contract_users()

    # --- setup, and what agents do ------------------------------------------------------------

    def _add_contract_users(self) -> None:
        """The accounts the contract tests act as: the connector, an agent, a customer."""
        self.myself = self.add_user("connector", "Escalation Bot", "bot@example.com")
        self.agent = self.add_user("agent", "Ann Agent", "ann@example.com")
        self.customer = self.add_user(
            "customer", "Cy Customer", "cy@customer.test", account_type="customer"
        )

    def add_user(self, uid: str, name: str, email: str, *, account_type: str = "atlassian") -> str:
        user: dict[str, Json]
        if self.cloud:
            user = {"accountId": uid, "accountType": account_type}
        else:
            user = {"name": uid, "key": f"JIRAUSER{len(self.users) + 10000}"}
        user |= {"displayName": name, "emailAddress": email, "active": True, "timeZone": "UTC"}
        user["self"] = (
            f"{self.base_url}/rest/api/2/user?{'accountId' if self.cloud else 'username'}={uid}"
        )
        self.users[uid] = user
        return uid

    def add_member(self, group: str, uid: str) -> None:
        """Put a user in a group (the group is created on first use)."""
        members = self.groups.setdefault(group, [])
        if uid not in members:
            members.append(uid)

    def add_field(
        self, name: str, kind: str = "text", *, options: Iterable[str] = (), screen: bool = True
    ) -> str:
        fid = f"customfield_{self._next_field}"
        self._next_field += 1
        schema_type, plugin = KINDS[kind]
        self.fields.append(
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{fid.split('_')[1]}]", name],
                "schema": {"type": schema_type, "custom": plugin, "customId": int(fid[12:])},
            }
        )
        self.options[fid] = list(options)
        if screen:
            for editable in self.screens.values():
                editable.add(fid)
        return fid

    def add_project(
        self, key: str, priorities: Iterable[str] | None = None, *, kind: str = "software"
    ) -> None:
        """A project (`kind`: "software", or "service_desk" for JSM) whose edit screen has
        every field so far."""
        self.screens[key] = {f["id"] for f in self.fields if f["id"] not in READ_ONLY}
        self.project_types[key] = kind
        self.project_ids.setdefault(key, str(10000 + len(self.project_ids)))
        if priorities is not None:
            self.project_priorities[key] = list(priorities)

    def may(self, key: str, project: str | None = None) -> bool:
        """Whether the connector's account holds permission `key` (in `project`; without one,
        in any project, as mypermissions answers in the global context)."""
        if key not in self.permissions:
            return False
        if project is None:
            return not self.screens or any(
                key not in self.denied.get(p, set()) for p in self.screens
            )
        return key not in self.denied.get(project, set())

    def editable(self, project: str) -> set[str]:
        """The fields the connector's account may set on the project's issues: none without
        Edit Issues, and the assignee only with Assign Issues (as editmeta shows them)."""
        if not self.may("EDIT_ISSUES", project):
            return set()
        fields = set(self.screens[project])
        if not self.may("ASSIGN_ISSUES", project):
            fields.discard("assignee")
        return fields

    def field_id(self, name: str) -> str:
        return str(next(f["id"] for f in self.fields if f["name"] == name))

    def create_issue(
        self,
        project: str = "SUP",
        *,
        summary: str = "Printer on fire",
        priority: str = "Medium",
        status: str = "Open",
        labels: Iterable[str] = (),
        values: dict[str, Json] | None = None,
        reporter: str | None = None,
        description: str | None = None,
    ) -> str:
        if project not in self.screens:
            self.add_project(project)
        self._next_issue += 1
        number = self._numbers[project] = self._numbers.get(project, 0) + 1
        key = f"{project}-{number}"
        now = self.now()
        fields: dict[str, Json] = {
            "summary": summary,
            "status": self.status_json(status),
            "priority": self.priority_json(priority),
            "labels": sorted(labels),
            "assignee": None,
            "reporter": self.users[reporter or self.customer],
            "created": now,
            "updated": now,
            "statuscategorychangedate": now,
            "issuetype": {"id": "10003", "name": "Task"},
            "components": [],
            "project": {
                "id": self.project_ids[project],
                "key": project,
                "name": project,
                "projectTypeKey": self.project_types[project],
            },
            "description": description,
        }
        for name, value in (values or {}).items():
            fields[self.field_id(name)] = value
        self.issues[key] = Issue(str(self._next_issue), key, project, fields)
        self.changed(self.issues[key], "jira:issue_created", reporter or self.customer, None)
        return key

    def edit(
        self,
        key: str,
        *,
        by: str | None = None,
        priority: str | None = None,
        add_labels: Iterable[str] = (),
        values: dict[str, Json] | None = None,
        status: str | None = None,
    ) -> None:
        """A person's edit in the UI: changes, a changelog entry, a new `updated`."""
        issue = self.issues[key]
        changes: dict[str, Json] = {}
        if priority is not None:
            changes["priority"] = self.priority_json(priority)
        if add_labels:
            changes["labels"] = sorted(set(issue.fields["labels"]) | set(add_labels))
        if status is not None:
            changes["status"] = self.status_json(status)
            issue.fields["statuscategorychangedate"] = self.now()
        for name, value in (values or {}).items():
            changes[self.field_id(name)] = value
        self.apply(issue, changes, by or self.agent)

    def add_comment(
        self, key: str, text: str, *, by: str | None = None, internal: bool = False
    ) -> None:
        issue = self.issues[key]
        props = [{"key": "sd.public.comment", "value": {"internal": True}}] if internal else []
        issue.comments.append(self.new_comment(issue, text, by or self.customer, props, None))

    def delete(self, key: str) -> None:
        del self.issues[key]

    # --- how changes are recorded -------------------------------------------------------------

    def apply(self, issue: Issue, changes: dict[str, Json], by: str) -> None:
        items = []
        for fid, new in changes.items():
            old = issue.fields.get(fid)
            if old == new:
                continue
            if fid == "status" and old and old["statusCategory"] != new["statusCategory"]:
                issue.fields["statuscategorychangedate"] = self.now()
            issue.fields[fid] = new
            spec = next((f for f in self.fields if f["id"] == fid), {"name": fid})
            items.append(
                {
                    "field": spec["name"] if fid.startswith("customfield_") else fid,
                    "fieldtype": "custom" if fid.startswith("customfield_") else "jira",
                    **({"fieldId": fid} if self.cloud else {}),  # Data Center has no fieldId
                    "from": ident(old),
                    "fromString": string(old),
                    "to": ident(new),
                    "toString": string(new),
                }
            )
        if items:
            now = self.now()
            issue.changelog.append(
                {
                    "id": str(len(issue.changelog) + 1000),
                    "author": self.users[by],
                    "created": now,
                    "items": items,
                }
            )
            issue.fields["updated"] = now
            self.changed(issue, "jira:issue_updated", by, None)

    def changed(self, issue: Issue, event: str, by: str, comment: Json | None) -> None:
        """An issue was created, edited or commented on (the HTTP emulator delivers webhooks)."""

    def new_comment(
        self, issue: Issue, body: Json, by: str, props: list[Json], visibility: Json
    ) -> dict[str, Json]:
        now = self.now()
        issue.fields["updated"] = now
        self._next_comment += 1
        made: dict[str, Json] = {
            "id": str(self._next_comment),
            "author": self.users[by],
            "body": body,
            "created": now,
            "updated": now,
            "properties": props,
            "visibility": visibility,
        }
        self.changed(issue, "comment_created", by, made)
        return made

    # --- rendering ----------------------------------------------------------------------------

    def issue_json(self, issue: Issue, args: dict[str, Json], v3: bool, search: bool) -> Json:
        """An issue as GET issue or a search hit shows it: the fields asked for (a search on
        Cloud: only the id unless some are), and its changelog when expanded."""
        out: Json = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": self._fields_json(issue, args, v3, search),
        }
        if "changelog" in str(args.get("expand") or ""):
            histories = list(reversed(issue.changelog))
            if self.cloud and not search:
                histories = histories[:100]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(issue.changelog),
                "histories": histories,
            }
        return out

    def _fields_json(self, issue: Issue, args: dict[str, Json], v3: bool, search: bool) -> Json:
        requested = [f for f in str(args.get("fields") or "").split(",") if f]
        if not requested:
            requested = ["id"] if search and self.cloud else ["*all"]
        names = [f["id"] for f in self.fields]
        wanted = names if "*all" in requested or "*navigable" in requested else requested
        return {fid: self._field_json(issue, fid, v3, search) for fid in wanted if fid in names}

    def _field_json(self, issue: Issue, fid: str, v3: bool, search: bool) -> Json:
        """One field's value: the comments as a page, rich text as ADF on v3."""
        value = issue.fields.get(fid)
        if fid == "comment":
            return self._comment_page(issue, v3, search)
        if v3 and isinstance(value, str) and (fid == "description" or self.is_textarea(fid)):
            return as_adf(value)
        return value

    def _comment_page(self, issue: Issue, v3: bool, search: bool) -> Json:
        shown = issue.comments
        limit = self.search_comment_limit if search else self.issue_comment_limit
        if limit is not None:
            shown = shown[:limit]
        return {
            "comments": [self.comment_json(c, v3) for c in shown],
            "maxResults": len(shown),
            "total": len(issue.comments),
            "startAt": 0,
        }

    def comment_json(self, c: dict[str, Json], v3: bool) -> Json:
        body = c["body"]
        body = (as_adf(body) if isinstance(body, str) else body) if v3 else adf_text(body)
        out = {
            "self": "",
            "id": c["id"],
            "author": c["author"],
            "updateAuthor": c["author"],
            "body": body,
            "created": c["created"],
            "updated": c["updated"],
        }
        internal = any(
            p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal")
            for p in c["properties"]
        )
        if self.cloud:
            out["jsdPublic"] = not internal
        if c["visibility"]:
            out["visibility"] = c["visibility"]
        return out

    def is_textarea(self, fid: str) -> bool:
        spec: Json = next((f for f in self.fields if f["id"] == fid), {})
        return str(spec.get("schema", {}).get("custom", "")).endswith("textarea")

    def status_json(self, name: str) -> Json:
        sid, cat = self.statuses[name]
        return {
            "self": f"{self.base_url}/rest/api/2/status/{sid}",
            "id": sid,
            "name": name,
            "statusCategory": {
                "id": {"new": 2, "indeterminate": 4, "done": 3}[cat],
                "key": cat,
                "name": CATEGORY_NAMES[cat],
            },
        }

    def priority_json(self, name: str) -> Json:
        pid = next(p["id"] for p in self.priorities if p["name"] == name)
        return {"self": f"{self.base_url}/rest/api/2/priority/{pid}", "id": pid, "name": name}

    def allowed_priorities(self, issue: Issue) -> list[str]:
        return self.project_priorities.get(issue.project) or [p["name"] for p in self.priorities]

    def now(self) -> str:
        return stamp(self.clock())
