"""When a ticket next needs evaluating (incremental runs, DESIGN.md promise 12).

`evaluate_due` evaluates like `rules.engine.evaluate` and adds to each outcome the instant
after which evaluating the *unchanged* ticket could first give something else: `now` when the
evaluation has a change to write (the ticket stays due until that change is on it), the next
instant a clock could make a rule fire (or a guard stop holding, or a cooldown end, or an SLA
target fall due: the `sla_due` bookkeeping), or None when only an update to the ticket can.

Every clock-driven condition only goes from false to true while a ticket stays as it is (the
time since a moment grows; an SLA's used time grows while it runs and stands still while paused,
and a pause is an update). So the earliest instant at which any clock-driven condition of a
rule's `when` or `unless` turns true bounds the next change of that rule from below, which is
what makes an incremental run equal a full one: a ticket is read again no later than that.
Pure, like the rest of `rules`: the clock is `now`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime

from rules.engine import current_state, evaluate_ticket
from rules.facts import Facts, ts_to_dt
from rules.model import Ticket
from rules.plan import Outcome
from rules.policy import Policy, Rule
from rules.tracking import Fired
from rules.triggers import Node


def evaluate_due(policy: Policy, tickets: Iterable[Ticket], now: datetime) -> Iterator[Outcome]:
    """`rules.engine.evaluate`, each outcome with its `next_at`; a ticket whose evaluation
    fails is skipped (and due again at once: `next_at` is `now`)."""
    for ticket in tickets:
        try:
            facts = Facts(policy, ticket, now)
            outcome = evaluate_ticket(policy, ticket, now, facts)
            later = now if outcome.change is not None else next_instant(facts)
            yield Outcome(  # not dataclasses.replace: this runs once per ticket of a sweep
                outcome.ticket, outcome.instance, outcome.change, outcome.fired, next_at=later
            )
        except Exception as exc:  # promise 7: odd data skips the ticket, never the run
            reason = f"evaluation failed: {type(exc).__name__}: {exc}"
            yield Outcome(ticket.id, ticket.instance, None, skipped=reason, next_at=now)


def next_instant(facts: Facts) -> datetime | None:
    """The earliest instant after `facts.now` at which some rule of the policy could fire for
    the ticket as it is (None: none can without an update). Rounded up to the second."""
    now = facts.now_ts
    times: list[float] = []
    for rule, fired in armed(facts):
        every = rule.model.repeat.every
        fire = rule.when.next_fire(facts)
        if fire is None:
            continue  # only an update can make it hold
        if fire > now:
            times.append(fire)
            continue
        # It holds now yet did not fire: a guard, a cooldown or the ladder's top stops it.
        if rule.unless is not None:
            times += _turns(rule.unless, facts)
        if fired is not None and every is not None:
            times.append(fired.last.timestamp() + every)
    due = facts.soonest_due  # the `sla_due` bookkeeping moves when a target falls due
    if due is not None:
        times.append(due)
    later = [t for t in times if t > now]
    return ts_to_dt(math.ceil(min(later))) if later else None


def armed(facts: Facts) -> Iterator[tuple[Rule, Fired | None]]:
    """The enabled rules that may still fire in the ticket's cycle, each with its last firing
    (one fired and not repeating, or repeated `max` times, is done until a reopen re-arms it,
    as the engine sees it)."""
    state, _ = current_state(facts)
    for rule in facts.policy.rules:
        if not rule.model.enabled:
            continue
        fired = state.fired_for(rule.key(facts.level))
        repeat = rule.model.repeat
        if fired is not None and (repeat.every is None or fired.count >= repeat.max):
            continue
        yield rule, fired


def _turns(node: Node, facts: Facts) -> list[float]:
    """The instants after now at which a clock-driven condition under `node` turns true."""
    parts = node.parts()
    if not parts:
        fire = node.next_fire(facts)
        return [fire] if fire is not None and fire > facts.now_ts else []
    return [t for part in parts for t in _turns(part, facts)]
