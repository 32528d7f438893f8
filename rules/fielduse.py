"""Which parts of a policy read or write each of its own custom fields, and the policy without
the parts whose fields an instance lacks.

A policy field (one a rule's conditions or `set_fields` name, a function's match or an SLA
policy's match reads) that is missing on one instance, or unusable there, does not stop that
instance: what needs the field is switched off there, and only that.

- a rule that reads or writes it does not run (as if `enabled: false`);
- a function whose match reads it matches no ticket: its tickets go to the next function that
  matches, else the level's own owner;
- an SLA policy whose match reads it applies to no ticket: its tickets take the next SLA
  policy that matches.

Switching a part off rather than reading the field as empty keeps a condition such as
`custom: {X: {empty: true}}`, or one under `not`, from holding on every ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rules.needs import children, conditions, custom_names
from rules.policy import Policy, Rule
from rules.schema import Condition


@dataclass(frozen=True)
class User:
    """One part of the policy that reads or writes custom fields."""

    kind: str  # "rule", "function" or "SLA policy"
    name: str
    fields: frozenset[str]

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r}"


def users(policy: Policy) -> list[User]:
    """Every enabled rule, function and SLA policy that names a custom field, in policy order."""
    found: list[User] = []
    for rule in policy.rules:
        if rule.model.enabled and (names := _rule_fields(rule)):
            found.append(User("rule", rule.name, names))
    for name, model in policy.model.functions.items():
        if names := frozenset(custom_names(model.match)):
            found.append(User("function", name, names))
    for sla in policy.model.sla:
        if sla.match is not None and (names := frozenset(custom_names(sla.match))):
            found.append(User("SLA policy", sla.name, names))
    return found


def users_of(policy: Policy, field: str) -> list[User]:
    return [u for u in users(policy) if field in u.fields]


def _rule_fields(rule: Rule) -> frozenset[str]:
    names = set(custom_names(rule.model.when)) | set(rule.model.then.set_fields)
    if rule.model.unless is not None:
        names |= set(custom_names(rule.model.unless))
    return frozenset(names)


@dataclass(frozen=True)
class Without:
    """The policy with the parts that need unusable fields switched off."""

    policy: Policy
    #: Unusable field -> why (e.g. "missing").
    fields: Mapping[str, str]
    #: Each part switched off, with the unusable fields it needs.
    off: tuple[tuple[User, tuple[str, ...]], ...]

    def describe(self) -> str:
        """One sentence naming each unusable field and each part switched off for it."""
        parts = []
        for name, why in sorted(self.fields.items()):
            needed = [str(u) for u, names in self.off if name in names]
            what = ", ".join(needed) if needed else "nothing (no enabled part reads it)"
            parts.append(f"policy field {name!r} ({why}): off here: {what}")
        return "; ".join(parts)


def without(policy: Policy, unusable: Mapping[str, str]) -> Without:
    """`policy` with every part that needs a field of `unusable` (name -> why) switched off."""
    off = tuple(
        (u, tuple(sorted(u.fields & set(unusable))))
        for u in users(policy)
        if u.fields & set(unusable)
    )
    names = {kind: {u.name for u, _ in off if u.kind == kind} for kind in ("rule", "function")}
    slas = {u.name for u, _ in off if u.kind == "SLA policy"}
    cut = replace(
        policy,
        rules=tuple(_disabled(r) if r.name in names["rule"] else r for r in policy.rules),
        functions=tuple(f for f in policy.functions if f[0] not in names["function"]),
        slas=tuple(s for s in policy.slas if s.name not in slas),
    )
    return Without(cut, dict(unusable), off)


def _disabled(rule: Rule) -> Rule:
    return replace(rule, model=rule.model.model_copy(update={"enabled": False}))


def names(parts: Iterable[User]) -> str:
    return ", ".join(str(p) for p in parts)


def value_kind(policy: Policy, field: str) -> str:
    """What the policy keeps in `field`, for a platform to choose its type: "flag" when it is
    a customer's yes/no (`customer_request.field`) or every `set_fields` value for it is true or
    false; "number" when every `set_fields` value for it is a number; else "text" (`custom:`
    conditions compare text)."""
    written = [r.then.set_fields[field] for r in policy.model.rules if field in r.then.set_fields]
    if any(field in _flags(c) for c in conditions(policy)):
        return "flag"
    if written and all(isinstance(v, bool) for v in written):
        return "flag"
    if written and all(isinstance(v, int | float) and not isinstance(v, bool) for v in written):
        return "number"
    return "text"


def _flags(cond: Condition) -> set[str]:
    found = set()
    if cond.customer_request is not None and cond.customer_request.field:
        found.add(cond.customer_request.field)
    for child in children(cond):
        found |= _flags(child)
    return found
