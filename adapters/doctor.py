"""What both platforms' `escalate doctor` checks share: the checks list that never raises, the
owners a policy can assign, and the wording of a fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adapters.errors import AdapterError
from adapters.results import Check, FieldStatus
from rules.errors import EscalationError
from rules.fielduse import without
from rules.policy import Policy
from rules.schema import OwnerBase

LOW_RATE = 0.10  # warn below this share of the rate limit left


class Checks:
    """The doctor's findings in order; a check that raises is reported as failed, not raised."""

    def __init__(self, found: list[Check] | None = None) -> None:
        self.found = list(found or [])

    def add(self, check: Check) -> None:
        self.found.append(check)

    def step(self, name: str, fn: Callable[[], Check | None]) -> bool:
        """Run one check (None: nothing to say); whether it passed."""
        try:
            found = fn()
        except (AdapterError, EscalationError) as exc:
            self.found.append(Check(name, False, str(exc)))
            return False
        if found is not None:
            self.found.append(found)
        return found is None or found.ok


def sentence(text: object) -> str:
    """`text` ending with one full stop (platform messages often bring their own)."""
    out = str(text).rstrip()
    return out if out.endswith((".", "!", "?")) else out + "."


def owners(policy: Policy, instance: str) -> list[OwnerBase]:
    """Every owner the policy can assign on this instance (its per-instance override wins)."""
    found = [lv.model.owner for lv in policy.levels] + list(policy.matrix.values())
    found += [rule.actions.assign for rule in policy.rules]
    return [o.instances.get(instance, o) for o in found if o is not None]


def owner_groups(policy: Policy, instance: str) -> list[str]:
    return list(dict.fromkeys(o.group for o in owners(policy, instance) if o.group))


def owner_assignees(policy: Policy, instance: str) -> list[str]:
    return list(dict.fromkeys(o.assignee for o in owners(policy, instance) if o.assignee))


def sets_priority(policy: Policy) -> bool:
    """Whether any rule or level can change a ticket's priority."""
    rules = any(rule.actions.priority is not None for rule in policy.rules)
    return rules or any(lv.model.priority_at_least for lv in policy.levels)


def low(limit: int, remaining: int) -> bool:
    """Under `LOW_RATE` of the limit is left."""
    return bool(limit) and remaining < LOW_RATE * limit


def unusable_policy_fields(policy: Policy, statuses: Sequence[FieldStatus]) -> str:
    """ "" when every policy field is usable, else what is off without them, and the fix."""
    unusable = {s.name: s.problem for s in statuses if s.kind == "policy" and s.problem}
    if not unusable:
        return ""
    return (
        f"{without(policy, unusable).describe()}. Fix: create them (escalate setup does) or fix"
        " the names in the policy"
    )
