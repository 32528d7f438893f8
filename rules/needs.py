"""What a policy needs the adapters to read, so that a fetch asks for no more than that.

- `custom_fields`: the custom fields the policy reads or writes, by name (Jira asks for only
  these; Zendesk returns all custom fields anyway and uses the list to check that they exist).
- `history`: how much ticket history some rule reads.
  - `"summary"`: figures the platform keeps per ticket (first reply, reopens, status since),
    which adapters read in bulk: SLA targets, `reopens`, `in_status`.
  - `"events"`: the comments themselves, which cost a request per ticket on some platforms:
    `customer_replies`, `customer_request` phrases, `unacknowledged`.
- `people`: which of "requester" and "organization" some trigger or template reads (Zendesk
  looks them up in batches only then).
- `wants_events(ticket, now)`: whether a rule that reads events could fire on this ticket once
  its events are known. Adapters fetch events only for those tickets. The test is exact for
  every trigger that does not read history and optimistic (assumed to hold) for those that do,
  so it never hides a firing; `not` around a history trigger is assumed to hold too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from rules.facts import Facts
from rules.model import Ticket
from rules.policy import Policy, Rule
from rules.schema import Condition
from rules.triggers import All, AnyOf, ClockTrigger, Node, Not, Predicate, SlaTrigger

_ORDER = {None: 0, "summary": 1, "events": 2}
_PEOPLE_TRIGGERS = {
    "requester_domain": "requester",
    "organization": "organization",
    "organization_tag": "organization",
}
_TEMPLATE_PEOPLE = re.compile(r"\b(requester|organization)\b")


@dataclass(frozen=True)
class Needs:
    policy: Policy
    custom_fields: frozenset[str]
    history: str | None
    event_rules: tuple[Rule, ...]
    people: frozenset[str] = frozenset()

    def wants_events(self, ticket: Ticket, now: datetime) -> bool:
        if not self.event_rules:
            return False
        facts = Facts(self.policy, ticket, now)
        return any(
            (rule.on_done or not facts.done) and could_hold(rule.when, facts)
            for rule in self.event_rules
        )


def needs(policy: Policy) -> Needs:
    names: set[str] = set()
    people: set[str] = set()
    for cond in conditions(policy):
        names.update(custom_names(cond))
        people.update(_people(cond))
    for source in policy.model.templates.values():
        people.update(_TEMPLATE_PEOPLE.findall(source))
    for model in policy.model.rules:
        if model.enabled:  # a disabled rule reads and writes nothing
            names.update(model.then.set_fields)
    level: str | None = None
    event_rules: list[Rule] = []
    for rule in policy.rules:
        if not rule.model.enabled:
            continue
        kinds = {history_kind(leaf) for leaf in _leaves(rule.when)}
        if rule.unless is not None:
            kinds |= {history_kind(leaf) for leaf in _leaves(rule.unless)}
        for kind in kinds:
            if _ORDER[kind] > _ORDER[level]:
                level = kind
        if "events" in kinds:
            event_rules.append(rule)
    for sla in policy.slas:
        if sla.match is not None:
            for leaf in _leaves(sla.match):
                kind = history_kind(leaf)
                if _ORDER[kind] > _ORDER[level]:
                    level = kind
    return Needs(policy, frozenset(names), level, tuple(event_rules), frozenset(people))


def history_kind(node: Node) -> str | None:
    """None for a leaf that reads no history, else "summary" or "events"."""
    if isinstance(node, Predicate):
        kind = node.extra.get("history")
        return kind if isinstance(kind, str) else None
    if isinstance(node, ClockTrigger):
        if node.kind == "unacknowledged":
            return "events"
        return "summary" if node.kind == "in_status" else None
    if isinstance(node, SlaTrigger):
        return "summary"
    return None


def could_hold(node: Node, f: Facts) -> bool:
    if isinstance(node, All):
        return all(could_hold(n, f) for n in node.nodes)
    if isinstance(node, AnyOf):
        return any(could_hold(n, f) for n in node.nodes)
    if isinstance(node, Not) or history_kind(node) == "events":
        return True
    return node.test(f)


def _leaves(node: Node) -> Iterator[Node]:
    parts = node.parts()
    if not parts:
        yield node
    for part in parts:
        yield from _leaves(part)


def conditions(policy: Policy) -> Iterator[Condition]:
    for rule in policy.model.rules:
        yield rule.when
        if rule.unless is not None:
            yield rule.unless
    for function in policy.model.functions.values():
        yield function.match
    for sla in policy.model.sla:
        if sla.match is not None:
            yield sla.match


def children(cond: Condition) -> tuple[Condition, ...]:
    return (*(cond.all or ()), *(cond.any or ()), *((cond.not_,) if cond.not_ else ()))


def _people(cond: Condition) -> Iterator[str]:
    for key, what in _PEOPLE_TRIGGERS.items():
        if getattr(cond, key) is not None:
            yield what
    for child in children(cond):
        yield from _people(child)


def custom_names(cond: Condition) -> Iterator[str]:
    """The custom fields a condition reads, by name (`custom:` and `customer_request.field`)."""
    if cond.custom:
        yield from cond.custom
    if cond.customer_request is not None and cond.customer_request.field:
        yield cond.customer_request.field
    for child in children(cond):
        yield from custom_names(child)
