"""Who set a ticket's approval field, from Zendesk's own record (`rules.approval`).

For a ticket whose approval field holds a value: its audits (`tickets/{id}/audits`, 100 a
page), the newest audit with a Change (or Create) event that set that field to the value it
holds now; that audit's author is who approved. An approver is named by their user id or
e-mail (looked up with the run's users, `users/show_many`), never by the display name anyone
may change. The members of every group an approval names are listed once per run
(`groups/{id}/memberships`, 100 a page), so a group approver costs one request per group and
run, not one per ticket. A value no audit set, one the system set (author -1) or one set with
the connector's own credentials (an API token is account-wide: such an audit proves nothing)
names no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import as_int, field_values, parse_time
from rules.approval import approver_groups, display
from rules.model import Approval

Json = dict[str, Any]


class Approvals:
    """The approval records of one run's tickets, with the approver groups' members cached."""

    def __init__(self, lookups: Lookups) -> None:
        self.lookups = lookups
        self._members: dict[str, frozenset[int]] | None = None

    def record(self, raw: Mapping[str, Any], audits: Sequence[Json] | None = None) -> Approval:
        """Who set the approval field of `raw` to the value it holds (`audits`: the ticket's,
        when the run read them already)."""
        fid = self.lookups.fieldmap().tracking.get("approved_by")
        tid = as_int(raw.get("id"))
        value = field_values(raw).get(fid) if fid is not None else None
        if fid is None or tid is None or not str(value or "").strip():
            return Approval("")
        if audits is None:
            audits = self.lookups.client.audits(tid)
        found = last_setter(audits, fid, str(value))
        me = as_int(self.lookups.whoami().get("id"))
        if found is None or found[0] == me:
            return Approval("")
        author, audit = found
        self.lookups.learn_users({author})
        return self.by(author, parse_time(audit.get("created_at")))

    def by(self, author: int | None, at: datetime | None) -> Approval:
        """The approval record of a user (looked up already) who set the field at `at`: their
        id and e-mail, and the approver groups they are a member of. Nobody for the system or
        the connector's own account."""
        if author is None or author <= 0 or author == self.lookups.people.me:
            return Approval("", at=at)
        user = self.lookups.people.users.get(author, {})
        name, email = user.get("name"), user.get("email")
        names = {str(author), *([str(email).lower()] if email else [])}
        groups = frozenset(g.lower() for g, ids in self.members().items() if author in ids)
        who = display(name, email, f"user {author}")
        return Approval(who, frozenset(names), groups, at)

    def members(self) -> dict[str, frozenset[int]]:
        """The members of every approver group the account has (looked up once a run)."""
        if self._members is None:
            self._members = {}
            people = self.lookups.people
            for name in approver_groups(self.lookups.policy):
                gid = people.group_id(name)
                if gid is not None:  # a missing group is `doctor`'s to report
                    self._members[name] = frozenset(self.lookups.client.group_members(gid))
        return self._members


def last_setter(audits: Sequence[Json], field_id: int, value: str) -> tuple[int, Json] | None:
    """The author of the newest audit that set `field_id` to `value`, and that audit."""
    for audit in reversed(audits):
        for event in audit.get("events") or ():
            if event.get("type") not in ("Change", "Create"):
                continue
            if str(event.get("field_name")) != str(field_id):
                continue
            if str(event.get("value") or "").strip() != value.strip():
                return None  # its newest setting is another value: no record of this one
            author = as_int(audit.get("author_id"))
            return (author, audit) if author is not None and author > 0 else None
    return None
