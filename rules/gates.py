"""What a ticket's level, priority and solved state alone decide, known before its triggers run.

Which rules can fire: a rule is left out when it is disabled, when the ticket is solved and the
rule does not act on solved tickets, or when one of the level and priority tests that *lead* its
`when` (the cheapest, so compiled first: rules.conditions) rules the ticket out. Those are
exactly the rules whose `rule_status` would stop at "disabled", "not for solved tickets" or "not
matched" without running anything else; for the others, what is left of `when` once its leading
rank tests hold is all there is to test. Which SLA policy applies, when the matches before it
(and its own) test the ticket's ranks and nothing else. Triggers are pure, so none of this
changes a result, only the cost of the common ticket that matches nothing. Each answer is kept
per (level, priority, solved) for the policy's lifetime: a handful of combinations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rules.facts import UNKNOWN, Unknown
from rules.triggers import All, Node, RankTrigger

if TYPE_CHECKING:
    from rules.facts import Facts
    from rules.policy import Rule, SlaPolicy

Key = tuple[int, int, bool]
#: A rule that can fire, with what of its `when` is left to test (None: nothing, it holds).
Open = tuple["Rule", Node | None]


class Gates:
    """The policy's rules, in policy order, that a ticket's ranks do not rule out."""

    __slots__ = ("_leads", "_open", "_rules", "_sla", "_slas")

    def __init__(self, rules: tuple[Rule, ...], slas: tuple[SlaPolicy, ...]) -> None:
        self._rules, self._slas = rules, slas
        self._leads = tuple(leading_ranks(rule.when) for rule in rules)
        self._open: dict[Key, tuple[Open, ...]] = {}
        self._sla: dict[tuple[int, int], SlaPolicy | Unknown | None] = {}

    def candidates(self, f: Facts) -> tuple[Open, ...]:
        key = (f.level_index, f.priority_rank, f.done)
        got = self._open.get(key)
        if got is None:
            got = self._open[key] = self.open(*key)
        return got

    def open(self, level: int, priority: int, done: bool) -> tuple[Open, ...]:
        ranks = {"level_index": level, "priority_rank": priority}
        return tuple(
            (rule, rest(rule.when, len(leads)))
            for rule, leads in zip(self._rules, self._leads, strict=True)
            if rule.model.enabled
            and (rule.on_done or not done)
            and all(ranks[t.reads] in t.allowed for t in leads)
        )

    def sla(self, f: Facts) -> SlaPolicy | Unknown | None:
        """The first SLA policy whose match holds, or UNKNOWN if the ranks cannot tell."""
        key = (f.level_index, f.priority_rank)
        if key not in self._sla:
            self._sla[key] = self._first_sla(*key)
        return self._sla[key]

    def _first_sla(self, level: int, priority: int) -> SlaPolicy | Unknown | None:
        ranks = {"level_index": level, "priority_rank": priority}
        for sla in self._slas:
            if sla.match is None:
                return sla
            leads = leading_ranks(sla.match)
            if rest(sla.match, len(leads)) is not None:
                return UNKNOWN  # the match tests more than the ranks
            if all(ranks[t.reads] in t.allowed for t in leads):
                return sla
        return None


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


def rest(node: Node, leading: int) -> Node | None:
    """What `node` tests after its first `leading` rank tests (None: nothing)."""
    if leading == 0:
        return node
    if not isinstance(node, All):
        return None  # a rank test alone
    left = node.nodes[leading:]
    if not left:
        return None
    return left[0] if len(left) == 1 else All(left)
