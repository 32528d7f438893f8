"""Approval gates: who may approve a level, whether the platform's own record says they did,
and when a request that no one answers is reminded or times out.

A typed name is not an approval. An approval counts only when the record of who set the
approval field (`Ticket.approval`: the Zendesk audit or Jira changelog author, looked up by the
adapter) names an allowed approver, and it was set after the request: one of the level's
`approvers` (a stable identity: Zendesk user id or e-mail, Jira Cloud account id or e-mail,
Jira Data Center username; matched case-insensitively, never a display name anyone can change),
or a member of one of its `groups`; or anyone the platform recorded, where the gate says
`anyone: true`. The connector's own account never approves. Any other value in the field, and
any value while no escalation awaits approval, is refused: the change clears it and says in an
internal note who typed it.

Reminders and timeouts run in calendar time from the request (`state` records when it was
made): `remind_every` repeats a reminder note to the approvers; `timeout.after` either enters
the level without approval (`then: enter`) or notifies the approvers once (`then: notify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rules.model import Ticket
from rules.schema import ApprovalModel
from rules.tracking import State, format_time, rule_key
from rules.units import format_duration

if TYPE_CHECKING:  # attribute access only: `rules.conditions` reads approvals too
    from rules.facts import Facts
    from rules.policy import Level, Policy


#: How much earlier than the request (kept to the minute) the platform may stamp an approval
#: made just after it: the connector's clock and the platform's can differ a little.
SKEW = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the approval field says: approved (by whom, as recorded) or refused (why)."""

    approved: bool
    who: str
    why: str = ""


class Nudge(StrEnum):
    """What a request that is still waiting gets on this run."""

    REMIND = "remind"
    TIMEOUT_NOTIFY = "timeout-notify"
    TIMEOUT_ENTER = "timeout-enter"

    def describe(self) -> str:
        return {
            Nudge.REMIND: "reminder: still awaiting approval",
            Nudge.TIMEOUT_NOTIFY: "timed out: approvers notified",
            Nudge.TIMEOUT_ENTER: "timed out: entered without approval",
        }[self]


def approvers_text(gate: ApprovalModel) -> str:
    """Who may approve, as notes and the matrix show it."""
    names = [*gate.approvers, *(f"group {g}" for g in gate.groups)]
    if gate.anyone:
        names.append("anyone who can edit the ticket")
    return ", ".join(names)


def gate_text(gate: ApprovalModel) -> str:
    """The whole gate in one line (the matrix): who, reminders and the timeout."""
    parts = [approvers_text(gate)]
    if gate.remind_every is not None:
        parts.append(f"reminded every {format_duration(gate.remind_every)}")
    if gate.timeout is not None:
        then = "enters without approval" if gate.timeout.then == "enter" else "approvers notified"
        parts.append(f"after {format_duration(gate.timeout.after)}: {then}")
    return "; ".join(parts)


def verify(level: Level, ticket: Ticket, asked: datetime | None = None) -> Verdict | None:
    """The approval field of a ticket waiting for `level` (asked for at `asked`, to the minute,
    where known); None when the field is empty."""
    typed = (ticket.tracking.approved_by or "").strip()
    gate = level.model.approval
    if not typed or gate is None:
        return None
    record = ticket.approval
    if record is None or not record.by:
        why = f"no record says who set the approval field to {typed!r}"
        return Verdict(False, "", why)
    if asked is not None and record.at is not None and record.at < asked - SKEW:
        why = f"{typed!r} was entered by {record.by} before the escalation asked for approval"
        return Verdict(False, record.by, why)
    users = {a.lower() for a in gate.approvers}
    groups = {g.lower() for g in gate.groups}
    if gate.anyone or record.names & users or record.groups & groups:
        return Verdict(True, record.by)
    why = (
        f"{typed!r} was entered by {record.by}, who is not an approver for {level.name}"
        f" ({approvers_text(gate)})"
    )
    return Verdict(False, record.by, why)


def stray(ticket: Ticket) -> Verdict | None:
    """A value in the approval field while no escalation awaits approval: refused."""
    typed = (ticket.tracking.approved_by or "").strip()
    if not typed:
        return None
    record = ticket.approval
    who = f" by {record.by}" if record is not None and record.by else ""
    return Verdict(False, who[4:], f"{typed!r} was entered{who}, but no escalation awaits approval")


def pending_level(f: Facts, state: State | None = None) -> Level | None:
    """The level whose approval the ticket awaits (by `state`, else its state field), when the
    engine acts on it now: above the ticket's level, on a ticket not solved or closed."""
    state = state if state is not None else f.ticket.tracking.state
    index = f.policy.level_index.get(state.awaiting or "")
    if index is None or index <= f.level_index or f.done:
        return None
    return f.policy.levels[index]


def verified_approver(f: Facts) -> str | None:
    """Who approved the pending escalation, as recorded and allowed (the `approved` trigger)."""
    level = pending_level(f)
    state = f.ticket.tracking.state
    verdict = verify(level, f.ticket, asked_at(state)) if level is not None else None
    return verdict.who if verdict is not None and verdict.approved else None


def asked_at(state: State) -> datetime | None:
    """When the pending request was made; for one made before requests were timed, the last
    write (an approximation: later than the request, never earlier)."""
    return state.asked_at or (state.written_at if state.awaiting else None)


def nudge(level: Level, state: State, now: datetime) -> Nudge | None:
    """A reminder or a timeout due on a request still waiting for `level`, if any."""
    gate = level.model.approval
    asked = asked_at(state)
    if gate is None or asked is None:
        return None
    waited = (now - asked).total_seconds()
    timeout = gate.timeout
    if timeout is not None and waited >= timeout.after:
        if timeout.then == "enter":
            return Nudge.TIMEOUT_ENTER
        if not state.timeout_noted:
            return Nudge.TIMEOUT_NOTIFY
        return None
    if gate.remind_every is not None:
        since = (now - (state.reminded_at or asked)).total_seconds()
        if since >= gate.remind_every:
            return Nudge.REMIND
    return None


def requesting_rule(policy: Policy, state: State) -> str | None:
    """The name of the rule that asked for the approval now pending, if the state says."""
    if not state.asked_by:
        return None
    return next((r.name for r in policy.rules if rule_key(r.name) == state.asked_by), None)


def approver_groups(policy: Policy) -> list[str]:
    """Every group any level's approval names, once each, in policy order."""
    found = (
        g for level in policy.levels if level.model.approval for g in level.model.approval.groups
    )
    return list(dict.fromkeys(found))


def display(name: str | None, email: str | None, fallback: str) -> str:
    """How a note names a person: `Name (e-mail)`, or what there is."""
    if name and email and name != email:
        return f"{name} ({email})"
    return name or email or fallback


def describe_pending(level: Level, ticket: Ticket, state: State, now: datetime) -> dict[str, Any]:
    """A pending approval as `explain` shows it: who may approve, what the field holds and who
    set it (as the platform recorded), the verdict, and the next reminder or timeout."""
    gate = level.model.approval
    assert gate is not None
    asked = asked_at(state)
    verdict = verify(level, ticket, asked)
    record = ticket.approval
    due: str | None = None
    if asked is not None:
        times = []
        if gate.timeout is not None and not state.timeout_noted:
            times.append((asked + timedelta(seconds=gate.timeout.after), "timeout"))
        if gate.remind_every is not None and not state.timeout_noted:
            since = state.reminded_at or asked
            times.append((since + timedelta(seconds=gate.remind_every), "reminder"))
        if times:
            at, what = min(times)
            due = f"{what} at {format_time(max(at, now))}"
    return {
        "level": level.name,
        "asked_at": format_time(asked) if asked else None,
        "approvers": approvers_text(gate),
        "field": ticket.tracking.approved_by,
        "set_by": record.by if record is not None and record.by else None,
        "verdict": None
        if verdict is None
        else (f"approved by {verdict.who}" if verdict.approved else f"refused: {verdict.why}"),
        "next": due,
    }
