"""The account behind the emulated API: users, groups, organisations, ticket fields, tickets with
their comments and audits, and the rules one ticket update follows (as the API applies them)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping

from emulators.zendesk.updates import (
    BULK_ONLY,
    as_tags,
    change_events,
    check_current,
    comment_of,
    tags_after,
)
from emulators.zendesk.wire import (
    DROPDOWNS,
    FIELD_TYPES,
    PRIORITIES,
    Json,
    invalid,
    not_found,
    seconds,
    stamp,
)

CONTRACT_FIELDS = (
    ("Escalation level", "text"),
    ("Escalated at", "text"),
    ("Escalation rule", "text"),
    ("Escalation count", "integer"),
    ("SLA due", "text"),
    ("Escalation state", "text"),
)


class Account:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        base_url: str = "https://acme.zendesk.com",
        fields: Iterable[tuple[str, str]] = CONTRACT_FIELDS,
        groups: Iterable[str] = ("Support L1", "Support L2"),
    ) -> None:
        self.clock, self.base_url = clock, base_url.rstrip("/")
        self._ids = 1000
        self.users: dict[int, Json] = {}
        self.groups: dict[int, Json] = {}
        self.organizations: dict[int, Json] = {}
        self.fields: dict[int, Json] = {}
        self.custom_roles: dict[int, Json] = {}  # see `roles`
        self.tickets: dict[int, Json] = {}
        self.comments: dict[int, list[Json]] = {}
        self.audits: dict[int, list[Json]] = {}
        #: Group id -> the ids of the agents in it (GET groups/{id}/memberships).
        self.members: dict[int, list[int]] = {}
        #: Run just before the next update of a ticket lands (a human edit racing the connector).
        self.hooks: dict[int, list[Callable[[], None]]] = {}
        self.me = self.add_user("Escalation Bot", "bot@acme.example", "admin")
        self.agent = self.add_user("Ann Agent", "ann@acme.example", "agent")
        for title, kind in fields:
            self.add_field(title, kind)
        for name in groups:
            self.add_group(name)

    # --- seeding and inspection --------------------------------------------------------------

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def _stamp(self, at: float | None = None) -> str:
        return stamp(self.clock() if at is None else at)

    def add_user(self, name: str, email: str, role: str = "end-user") -> int:
        uid = self._next()
        self.users[uid] = {
            "id": uid,
            "url": f"{self.base_url}/api/v2/users/{uid}.json",
            "name": name,
            "email": email,
            "role": role,
            "role_type": None,  # set for light agents (1) and custom roles (0): see `roles`
            "custom_role_id": None,
            "restricted_agent": False,
            "ticket_restriction": "requested" if role == "end-user" else None,
            "active": True,
            "created_at": self._stamp(),
            "updated_at": self._stamp(),
        }
        return uid

    def add_group(self, name: str) -> int:
        gid = self._next()
        self.groups[gid] = {"id": gid, "name": name, "deleted": False, "created_at": self._stamp()}
        return gid

    def add_member(self, group: str, user: int) -> None:
        """Put an agent in a group (Admin Center > Team members)."""
        members = self.members.setdefault(self.group_id(group), [])
        if user not in members:
            members.append(user)

    def memberships(self, group_id: int) -> list[Json]:
        """A group's memberships, as List Memberships returns them (404 for no such group)."""
        if group_id not in self.groups:
            raise not_found()
        return [
            {
                "id": group_id * 1000 + n,
                "user_id": uid,
                "group_id": group_id,
                "default": False,
                "created_at": self._stamp(),
                "updated_at": self._stamp(),
            }
            for n, uid in enumerate(self.members.get(group_id, []))
        ]

    def add_organization(self, name: str, tags: Iterable[str] = ()) -> int:
        oid = self._next()
        self.organizations[oid] = {"id": oid, "name": name, "tags": list(tags)}
        return oid

    def add_field(
        self,
        title: str,
        kind: str = "text",
        active: bool = True,
        options: Iterable[str | Json] = (),
    ) -> int:
        """A custom ticket field; a drop-down (tagger, multiselect) has `options`, given as
        "Name" (its tag is made from the name, as Zendesk suggests it) or "Name=tag"."""
        fid = self._next()
        self.fields[fid] = {
            "id": fid,
            "url": f"{self.base_url}/api/v2/ticket_fields/{fid}.json",
            "type": kind,
            "title": title,
            "raw_title": title,
            "description": "",
            "active": active,
            "required": False,
            "removable": True,
            "created_at": self._stamp(),
            "updated_at": self._stamp(),
        }
        if kind in DROPDOWNS:
            self.fields[fid]["custom_field_options"] = [self._option(o) for o in options]
        return fid

    def _option(self, spec: str | Json) -> Json:
        if isinstance(spec, dict):
            name, value = str(spec.get("name")), str(spec.get("value"))
        else:
            name, _, value = spec.partition("=")
            value = value or re.sub(r"\W+", "_", name.strip().lower())
        oid = self._next()
        return {
            "id": oid,
            "url": f"{self.base_url}/api/v2/ticket_fields/options/{oid}.json",
            "name": name,
            "raw_name": name,
            "value": value,
            "default": False,
        }

    def option_tags(self, fid: int) -> list[str]:
        return [str(o["value"]) for o in self.fields[fid].get("custom_field_options") or ()]

    def field_id(self, title: str) -> int:
        return next(fid for fid, f in self.fields.items() if f["title"] == title)

    def group_id(self, name: str) -> int:
        return next(gid for gid, g in self.groups.items() if g["name"] == name)

    def add_ticket(
        self,
        *,
        subject: str = "Printer on fire",
        status: str = "open",
        priority: str | None = "normal",
        tags: Iterable[str] = (),
        group: str | None = None,
        requester: int | None = None,
        assignee: int | None = None,
        organization: int | None = None,
        fields: Mapping[str, object] | None = None,
        created_at: float | None = None,
    ) -> int:
        tid = self._next()
        requester = requester or self.add_user(f"Customer {tid}", f"customer{tid}@example.com")
        created = self._stamp(created_at)
        values = {self.field_id(t): v for t, v in (fields or {}).items()}
        self.tickets[tid] = {
            "id": tid,
            "url": f"{self.base_url}/api/v2/tickets/{tid}.json",
            "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created,
            "updated_at": created,
            "type": "incident",
            "subject": subject,
            "raw_subject": subject,
            "description": subject,
            "priority": priority,
            "status": status,
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": assignee,
            "organization_id": organization,
            "group_id": self.group_id(group) if group else None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(dict.fromkeys(tags)),
            "custom_fields": [{"id": fid, "value": values.get(fid)} for fid in self._custom()],
            "satisfaction_rating": None,
            "brand_id": 360000000001,
            "allow_attachments": True,
        }
        self.comments[tid], self.audits[tid] = [], []
        events: list[Json] = [
            {"type": "Create", "field_name": "status", "value": status},
            {"type": "Create", "field_name": "priority", "value": priority},
        ]
        for name in ("group_id", "assignee_id"):  # as Zendesk's creation audit: each field set
            if self.tickets[tid][name] is not None:
                events.append(
                    {"type": "Create", "field_name": name, "value": self.tickets[tid][name]}
                )
        self._audit(tid, requester, events, created, comment=(subject, True))
        return tid

    def _custom(self) -> list[int]:
        return [fid for fid, f in self.fields.items() if f["type"] in FIELD_TYPES]

    def field_value(self, ticket_id: int, title: str) -> object:
        fid = self.field_id(title)
        values = {c["id"]: c["value"] for c in self.tickets[ticket_id]["custom_fields"]}
        return values.get(fid)

    def delete_ticket(self, ticket_id: int) -> None:
        self.tickets.pop(ticket_id, None)

    def agent_edit(self, ticket_id: int, changes: Json, author: int | None = None) -> None:
        """A human's update (same rules as the API, no safe_update); `additional_tags` /
        `remove_tags` stand for tags typed into or removed from the tag box."""
        self.update(ticket_id, dict(changes), author or self.agent, queued=None, bulk=True)

    def before_write(self, ticket_id: int, fn: Callable[[], None]) -> None:
        self.hooks.setdefault(ticket_id, []).append(fn)

    # --- reading -------------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> Json:
        if ticket_id not in self.tickets:
            raise not_found()
        return self.tickets[ticket_id]

    def metrics(self, ticket: Json) -> Json:
        """A ticket metric set derived from the audits, as Zendesk keeps it."""
        tid, created = ticket["id"], seconds(ticket["created_at"])
        reopens = replies = 0
        first_reply = status_at = requester_at = assignee_at = None
        was_done = False
        for audit in self.audits[tid]:
            at = audit["created_at"]
            if audit["author_id"] == ticket["requester_id"]:
                requester_at = at
            if audit["author_id"] == ticket["assignee_id"]:
                assignee_at = at
            for event in audit["events"]:
                if event.get("field_name") == "status" and event["type"] == "Change":
                    status_at = at
                    done = event["value"] in ("solved", "closed")
                    reopens += was_done and not done
                    was_done = done
                agent = self.users.get(event.get("author_id", -1), {}).get("role") != "end-user"
                if event["type"] == "Comment" and event["public"] and agent:
                    replies += 1
                    first_reply = first_reply or at
        minutes = int((seconds(first_reply) - created) // 60) if first_reply else None
        return {
            "id": tid + 500000,
            "ticket_id": tid,
            "url": f"{self.base_url}/api/v2/ticket_metrics/{tid + 500000}.json",
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "reopens": reopens,
            "replies": replies,
            "status_updated_at": status_at or ticket["created_at"],
            "requester_updated_at": requester_at,
            "assignee_updated_at": assignee_at,
            "reply_time_in_minutes": {"calendar": minutes, "business": minutes},
        }

    # --- writing -------------------------------------------------------------------------------

    def update(
        self, tid: int, changes: Json, user: int, queued: str | None, *, bulk: bool = False
    ) -> Json:
        """Validate everything, then apply everything (or nothing), with an audit. `queued` is
        the queue time of an update_many job (its items are always safe updates). A single
        update (`bulk` false) silently ignores `additional_tags` / `remove_tags`, as Zendesk
        does: they are documented for update_many only, and unknown attributes are ignored."""
        for hook in self.hooks.pop(tid, []):
            hook()
        if not bulk:
            changes = {k: v for k, v in changes.items() if k not in BULK_ONLY}
        ticket = self.ticket(tid)
        check_current(ticket, changes, queued)
        new = dict(ticket)
        self._assign(new, changes)
        if "priority" in changes:
            if changes["priority"] not in (*PRIORITIES, None):
                raise invalid("", priority=[{"description": "Priority: is invalid"}])
            new["priority"] = changes["priority"]
        if "status" in changes:
            new["status"] = changes["status"]
        new["tags"] = tags_after(ticket["tags"], changes)
        new["custom_fields"] = self._fields_after(ticket, changes.get("custom_fields") or [])
        new["tags"] = self._option_tags(ticket, new)
        comment = comment_of(changes)
        events = change_events(ticket, new)
        if events or comment or new != ticket:
            new["updated_at"] = self._stamp(max(self.clock(), seconds(ticket["updated_at"]) + 1))
        self.tickets[tid] = new
        return self._audit(tid, user, events, new["updated_at"], comment=comment)

    def _assign(self, new: Json, changes: Json) -> None:
        """The group and the assignee (an agent, by id or by e-mail), checked."""
        if "group_id" in changes:
            if changes["group_id"] is not None and changes["group_id"] not in self.groups:
                raise invalid("", group=[{"description": "Group: is invalid"}])
            new["group_id"] = changes["group_id"]
        if "assignee_email" in changes:
            email = changes["assignee_email"]
            match = [u for u, d in self.users.items() if d["email"] == email]
            changes = {**changes, "assignee_id": match[0] if match else -1}
        if "assignee_id" in changes:
            who = changes["assignee_id"]
            if who is not None and self.users.get(who, {}).get("role") not in ("agent", "admin"):
                raise invalid("", assignee=[{"description": "Assignee: is not an agent"}])
            new["assignee_id"] = who

    def _option_tags(self, old: Json, new: Json) -> list[str]:
        """The tags after a drop-down (tagger, multiselect) changed: its old option tags out,
        its new ones in, as Zendesk keeps a drop-down's value among the ticket's tags."""
        before = {c["id"]: c["value"] for c in old["custom_fields"]}
        tags = list(new["tags"])
        for item in new["custom_fields"]:
            kind = self.fields.get(item["id"], {}).get("type")
            if kind not in ("tagger", "multiselect") or item["value"] == before.get(item["id"]):
                continue
            gone, added = as_tags(before.get(item["id"])), as_tags(item["value"])
            tags = [t for t in tags if t not in gone] + [t for t in added if t not in tags]
        return tags

    def _fields_after(self, ticket: Json, updates: list[Json]) -> list[Json]:
        values = {c["id"]: c["value"] for c in ticket["custom_fields"]}
        for item in updates:
            fid, value = item.get("id"), item.get("value")
            spec = self.fields.get(fid) if isinstance(fid, int) else None
            if spec is None:
                continue  # Zendesk ignores unknown custom field ids
            if spec["type"] in DROPDOWNS and value is not None:
                value = self._dropdown(spec, value)
                if value is None:
                    continue  # silently ignored, as Zendesk does (see `_dropdown`)
            if spec["type"] == "integer" and value is not None:
                if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value)):
                    raise invalid(
                        "",
                        base=[
                            {
                                "description": f"{spec['title']}: is not a number",
                                "ticket_field_id": fid,
                                "ticket_field_type": "FieldInteger",
                            }
                        ],
                    )
                value = str(value)
            values[fid] = value
        return [{"id": fid, "value": values.get(fid)} for fid in self._custom()]

    def _dropdown(self, spec: Json, value: object) -> object:
        """A drop-down's new value, or None when Zendesk drops it: a value that is not one of
        the field's option tags is ignored without an error (the update answers 200 and the
        field keeps its value: node-zendesk#132, zenpy#420; the API reference is silent). A
        multiselect keeps the tags that are options (assumed: not documented either)."""
        tags = self.option_tags(spec["id"])
        if isinstance(value, list):
            kept = [v for v in value if v in tags]
            return kept if kept or not value else None
        return value if value in tags else None

    def _audit(
        self,
        tid: int,
        author: int,
        events: list[Json],
        at: str,
        comment: tuple[str, bool] | None = None,
    ) -> Json:
        audit_id = self._next()
        events = [{**e, "id": self._next()} for e in events]
        if comment is not None:
            body, public = comment
            note = {
                "id": self._next(),
                "type": "Comment",
                "author_id": author,
                "body": body,
                "html_body": f"<p>{body}</p>",
                "plain_body": body,
                "public": bool(public),
                "attachments": [],
                "audit_id": audit_id,
                "created_at": at,
            }
            self.comments[tid].append(note)
            events.append({k: v for k, v in note.items() if k not in ("created_at", "audit_id")})
        audit = {
            "id": audit_id,
            "ticket_id": tid,
            "created_at": at,
            "author_id": author,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {"system": {}, "custom": {}},
            "events": events,
        }
        self.audits[tid].append(audit)
        self._changed(tid, author, created=len(self.audits[tid]) == 1)
        return audit

    def _changed(self, tid: int, author: int, created: bool) -> None:
        """A ticket was created or changed (the HTTP emulator fires triggers here)."""

    def create_field(self, spec: Json) -> Json:
        """A field as Create Ticket Field makes it: a type and a title; a drop-down or
        multi-select needs its `custom_field_options`; a checkbox may name its `tag`."""
        kind = spec.get("type")
        if kind not in FIELD_TYPES or not str(spec.get("title") or "").strip():
            raise invalid("Type and title are required")
        options = spec.get("custom_field_options") or []
        if kind in DROPDOWNS and not options:
            raise invalid("Field options: must have at least one option")
        fid = self.add_field(str(spec["title"]), str(kind), options=options)
        self.fields[fid]["description"] = str(spec.get("description") or "")
        if kind == "checkbox":
            self.fields[fid]["tag"] = spec.get("tag")
        return self.fields[fid]
