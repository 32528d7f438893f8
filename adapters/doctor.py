"""What both platforms' `escalate doctor` checks share: the checks list that never raises, the
owners a policy can assign, the values a policy writes (so a select list's options can be
checked before the first write needs them), and the wording of a fix."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from adapters.errors import AdapterError
from adapters.results import Check, FieldStatus
from rules.approval import approver_groups
from rules.errors import EscalationError
from rules.fielduse import without
from rules.policy import Policy, Rule
from rules.schema import OwnerBase

LOW_RATE = 0.10  # warn below this share of the rate limit left
#: Tracking fields that hold times, counts or bookkeeping: no select list can hold their values.
FREE_TRACKING = frozenset({"escalated_at", "count", "sla_due", "state", "outcome"})


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


def _enabled(policy: Policy) -> list[Rule]:
    return [rule for rule in policy.rules if rule.model.enabled]


def written_levels(policy: Policy) -> list[str]:
    """Every level name a run can write to the `level` field: the levels rules escalate to
    (`next` and `requested` reach any level above the first) or de-escalate to."""
    names = [lv.name for lv in policy.levels]
    found: set[str] = set()
    for rule in _enabled(policy):
        up, down = rule.actions.escalate, rule.actions.de_escalate
        if up in ("next", "requested"):
            found.update(names[1:])
        elif up is not None:
            found.add(up)
        if down is not None:
            found.add(down)
    return [n for n in names if n in found]


def written_rules(policy: Policy) -> list[str]:
    """Every value a run can write to the `rule` field: the rules that move a ticket, and
    "approval" where a level needs one (a granted approval moves it)."""
    found = [
        rule.name
        for rule in _enabled(policy)
        if rule.actions.escalate is not None or rule.actions.de_escalate is not None
    ]
    if any(lv.model.approval is not None for lv in policy.levels):
        found.append("approval")
    return found


def tracking_values(policy: Policy) -> dict[str, list[str]]:
    """The tracking fields whose values come from a closed set, with that set."""
    return {"level": written_levels(policy), "rule": written_rules(policy)}


def set_values(policy: Policy) -> dict[str, list[str]]:
    """Each field the policy's rules set (`set_fields`), with every value they write (a list
    value is several options of a multi-select; None clears and needs no option)."""
    out: dict[str, dict[str, None]] = {}
    for rule in _enabled(policy):
        for name, value in rule.actions.set_fields.items():
            values = value if isinstance(value, list | tuple) else [value]
            found = out.setdefault(name, {})
            found.update((str(v), None) for v in values if v is not None and v != "")
    return {name: list(values) for name, values in out.items()}


def missing(values: Iterable[str], options: Sequence[str]) -> list[str]:
    """The values that are not options (exactly: platforms match option values as written)."""
    have = set(options)
    return [v for v in dict.fromkeys(values) if v not in have]


def quoted(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def approvals_check(
    policy: Policy, titles: Mapping[str, str], members: Callable[[str], int | None], where: str
) -> Check | None:
    """Approval gates can be recorded: the approval field is mapped, and every approver group
    exists (`members(group)`: how many members it has, None when there is no such group).
    None when no level needs approval."""
    gated = [level.name for level in policy.levels if level.model.approval is not None]
    if not gated:
        return None
    if "approved_by" not in titles:
        return Check(
            "approvals",
            False,
            f"{', '.join(gated)} need approval, but no field is mapped for approved_by, so no"
            f" approval can ever be given. Fix: map it under platforms.{where}.fields and run"
            " `escalate setup`.",
        )
    groups = approver_groups(policy)
    counts = {g: members(g) for g in groups}
    lacking = [g for g, n in counts.items() if n is None]
    if lacking:
        return Check(
            "approvals",
            False,
            f"no group named {', '.join(map(repr, lacking))}: its members cannot approve."
            " Fix: create the group, or correct the approval's groups in the policy.",
        )
    sizes = ", ".join(f"{g} ({n} member{'' if n == 1 else 's'})" for g, n in counts.items())
    who = f"; approver groups: {sizes}" if sizes else ""
    return Check("approvals", True, f"approvals are recorded in {titles['approved_by']!r}{who}")


def unusable_policy_fields(policy: Policy, statuses: Sequence[FieldStatus]) -> str:
    """ "" when every policy field is usable, else what is off without them, and the fix."""
    unusable = {s.name: s.problem for s in statuses if s.kind == "policy" and s.problem}
    if not unusable:
        return ""
    return (
        f"{without(policy, unusable).describe()}. Fix: create them (escalate setup does) or fix"
        " the names in the policy"
    )
