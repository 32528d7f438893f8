"""What kind of change each planned change is, counted for the summaries `plan`, `run` and the
demo print first: "30 changes: 26 escalated, 2 notes only, ...".

A change that moves no queue is still a change: a note (an approval asked for, a reminder) or
an SLA date kept current is written like any other. And a change needs no rule to match: an
approval that landed moves the ticket, and `sla_due` is kept current on escalated tickets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rules.plan import TicketChange
from rules.policy import Policy

#: The kinds, in the order the summary lists them.
ESCALATED = "escalated"
DE_ESCALATED = "de-escalated"
REASSIGNED = "reassigned"
OTHER_FIELDS = "priority, tags or fields only"
NOTES_ONLY = "notes only"
SLA_ONLY = "SLA dates only"
TRACKING_ONLY = "tracking fields only"
KINDS = (ESCALATED, DE_ESCALATED, REASSIGNED, OTHER_FIELDS, NOTES_ONLY, SLA_ONLY, TRACKING_ONLY)
#: What the kinds that move no queue, level or priority are, in words.
WHY = {
    NOTES_ONLY: "a comment only: an approval asked for, a reminder",
    SLA_ONLY: "the SLA due date kept current on an escalated ticket",
    TRACKING_ONLY: "the connector's own tracking fields, e.g. a request cleared",
    OTHER_FIELDS: "a priority, tag or field set by a rule",
}


def kind(change: TicketChange, policy: Policy) -> str:
    """The most visible thing the change does (one of KINDS)."""
    if change.level_from != change.level_to:
        index = policy.level_index
        up = index.get(change.level_to, 0) > index.get(change.level_from, -1)
        return ESCALATED if up else DE_ESCALATED
    if change.group is not None or change.assignee is not None:
        return REASSIGNED
    if change.priority is not None or change.add_tags or change.remove_tags or change.fields:
        return OTHER_FIELDS
    if change.internal_note is not None or change.public_reply is not None:
        return NOTES_ONLY
    if set(change.tracking) - {"state"} == {"sla_due"}:
        return SLA_ONLY
    return TRACKING_ONLY


def count(changes: Iterable[TicketChange], policy: Policy) -> Counter[str]:
    return Counter(kind(c, policy) for c in changes)


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 change`, `2 changes`: the number and the word that goes with it."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def breakdown(changes: list[TicketChange], policy: Policy) -> str:
    """One line: the changes by kind, and how many no rule matched (why `to change` can be
    more than `matched`); empty without changes."""
    if not changes:
        return ""
    counts = count(changes, policy)
    parts = [f"{counts[k]} {k}" for k in KINDS if counts[k]]
    text = f"{plural(len(changes), 'change')}: {', '.join(parts)}"
    unmatched = Counter(_no_rule(c, policy) for c in changes if not c.rules)
    if unmatched:
        whys = ", ".join(plural(n, *why) for why, n in unmatched.most_common())
        text += f"; {sum(unmatched.values())} with no rule matched: {whys}"
    return text


def _no_rule(change: TicketChange, policy: Policy) -> tuple[str, str]:
    """Why a change no rule matched was made (one, many): an approval's outcome, or
    bookkeeping."""
    approval = [r.text for r in change.reasons if r.rule == "approval"]
    if any(text.startswith("approved") for text in approval):
        return ("approval landed", "approvals landed")
    if approval:
        return ("approval refused or reminded", "approvals refused or reminded")
    if kind(change, policy) == SLA_ONLY:
        return ("SLA date kept current", "SLA dates kept current")
    return ("tracking value kept current", "tracking values kept current")
