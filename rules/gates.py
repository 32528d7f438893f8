"""Which rules can fire for a ticket, known from its level, priority and solved state alone.

A rule is left out before its triggers run when it is disabled, when the ticket is solved and
the rule does not act on solved tickets, or when one of the level and priority tests that
*lead* its `when` (the cheapest, so compiled first: rules.conditions) rules the ticket out.
Those are exactly the rules whose `rule_status` would stop at "disabled", "not for solved
tickets" or "not matched" without running anything else: triggers are pure, so leaving them
out changes no result, only the cost of the common ticket that matches nothing. The answer is
kept per (level, priority, solved) for the policy's lifetime: a handful of combinations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rules.triggers import All, Node, RankTrigger

if TYPE_CHECKING:
    from rules.facts import Facts
    from rules.policy import Rule

Key = tuple[int, int, bool]


class Gates:
    """The policy's rules, in policy order, that a ticket's ranks do not rule out."""

    __slots__ = ("_by_key", "_leads", "_rules")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = rules
        self._leads = tuple(leading_ranks(rule.when) for rule in rules)
        self._by_key: dict[Key, tuple[Rule, ...]] = {}

    def candidates(self, f: Facts) -> tuple[Rule, ...]:
        key = (f.level_index, f.priority_rank, f.done)
        got = self._by_key.get(key)
        if got is None:
            got = self._by_key[key] = self._open(*key)
        return got

    def _open(self, level: int, priority: int, done: bool) -> tuple[Rule, ...]:
        ranks = {"level_index": level, "priority_rank": priority}
        return tuple(
            rule
            for rule, leads in zip(self._rules, self._leads, strict=True)
            if rule.model.enabled
            and (rule.on_done or not done)
            and all(ranks[t.reads] in t.allowed for t in leads)
        )


def leading_ranks(node: Node) -> tuple[RankTrigger, ...]:
    """The rank tests `node` runs before anything else (an `all` stops at the first that
    fails, so none of what follows runs when one of these fails)."""
    if isinstance(node, RankTrigger):
        return (node,)
    if not isinstance(node, All):
        return ()
    out: list[RankTrigger] = []
    for child in node.nodes:
        if not isinstance(child, RankTrigger):
            break
        out.append(child)
    return tuple(out)
