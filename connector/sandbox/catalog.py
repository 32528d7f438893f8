"""What the sandbox platforms must hold for a policy to work on them: every owner group the
levels, the matrix and the rules name (per instance), the people it names, and the fields it
reads, with the agents who work the tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from rules.needs import needs
from rules.policy import Policy
from rules.schema import Owner, OwnerBase

#: Front-line agents and specialists: (name, e-mail local part).
AGENTS = (
    ("Ann Agent", "ann"),
    ("Lena Lindqvist", "lena"),
    ("Nils Network", "nils"),
    ("Bea Billing", "bea"),
    ("Omar Oncall", "omar"),
)
FIRST_LEVEL_GROUP = "Support L1"
#: Who is in every approver group the policy names (a member's approval counts), besides the
#: named approvers themselves (on Jira Data Center an e-mail names no approver: the group does).
GROUP_APPROVER = ("Gus Groupapprover", "gus.lead@example.com")
#: The policy's own custom fields, as the sandbox creates them: kind and options.
FLAG_FIELD = "Escalate to a manager"
AREA_FIELD = "Product area"
AREA_OPTIONS = ("network", "billing", "account", "hardware", "software")


def _owners(policy: Policy) -> Iterator[Owner | OwnerBase]:
    for level in policy.levels:
        if level.model.owner is not None:
            yield level.model.owner
    yield from policy.matrix.values()
    for rule in policy.rules:
        if rule.actions.assign is not None:
            yield rule.actions.assign


def groups(policy: Policy, instance: str | None = None) -> list[str]:
    """Owner groups for `instance` (its overrides in place of the defaults), or, for None,
    every group named anywhere; the first-level group always comes first."""
    out = [FIRST_LEVEL_GROUP]
    for owner in _owners(policy):
        overrides = getattr(owner, "instances", {}) or {}
        chosen = [overrides[instance]] if instance in overrides else [owner]
        if instance is None:
            chosen = [owner, *overrides.values()]
        out += [o.group for o in chosen if o.group]
    return list(dict.fromkeys(out))


def people(policy: Policy) -> list[str]:
    """E-mail addresses the policy names: assignees, approvers, people to notify."""
    found: list[str] = []
    for owner in _owners(policy):
        overrides = getattr(owner, "instances", {}) or {}
        found += [o.assignee for o in (owner, *overrides.values()) if o.assignee]
    for level in policy.levels:
        model = level.model
        found += model.notify
        if model.approval is not None:
            found += [*model.approval.approvers, *model.approval.notify]
    for rule in policy.rules:
        found += rule.model.then.notify
    return list(dict.fromkeys(p for p in found if "@" in p))


def approvers(policy: Policy) -> list[str]:
    """The e-mail addresses the levels' approvals name."""
    found = (a for lv in policy.levels if lv.model.approval for a in lv.model.approval.approvers)
    return list(dict.fromkeys(a for a in found if "@" in a))


def custom_fields(policy: Policy) -> list[str]:
    """The custom fields the policy reads or writes (besides the tracking fields)."""
    return sorted(needs(policy).custom_fields)


def display_name(email: str) -> str:
    """maria.manager@example.com -> Maria Manager."""
    return " ".join(part.capitalize() for part in email.split("@", maxsplit=1)[0].split("."))


def instant(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
