"""What adapters report, as plain values: a write's result, a field's state, a doctor check, the
agents' queue. Printed in summaries, written to the audit log, compared in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rules.plan import TicketChange


class WriteStatus(StrEnum):
    APPLIED = "applied"  # the change (or its re-evaluated successor) was written
    UNCHANGED = "unchanged"  # after a re-read there was nothing left to write
    SKIPPED = "skipped"  # the ticket is gone (404) or no longer writable
    FAILED = "failed"  # refused or errored; `message` says why


@dataclass(frozen=True)
class WriteResult:
    ticket: str
    status: WriteStatus
    message: str = ""
    #: The change actually written (after a re-read it may differ from the planned one).
    written: TicketChange | None = None
    #: A comment did not go in but the rest did (e.g. Jira's per-issue comment limit, or the
    #: second request of a two-request change failed).
    comment_dropped: bool = False
    #: ...and that comment is in the owed-comment journal: the next run sends it.
    comment_owed: bool = False
    #: Times the ticket was re-read and re-evaluated (409 or an uncertain timeout).
    rereads: int = 0
    #: The error, if any, for exit codes and the audit log.
    error: Exception | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FieldStatus:
    """One tracking or policy field on the platform."""

    name: str  # logical name ("level") or the policy's custom field name
    title: str  # the platform field's title/name
    id: str | None  # platform id, None when missing
    problem: str = ""  # why it is unusable ("missing", "not on the edit screen of ABC", ...)
    created: bool = False
    #: "tracking" (a tracking field), "group" (Jira's group_field) or "policy" (a field the
    #: policy's rules, functions or SLA policies name). An unusable tracking or group field
    #: stops the instance; an unusable policy field switches off only what needs it
    #: (`rules.fielduse`).
    kind: str = "tracking"


@dataclass(frozen=True)
class Check:
    """One line of `escalate doctor`: what was checked, whether it passed, how to fix it."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Queue:
    """The agents' escalation queue: a Zendesk view or a Jira saved filter (`escalate setup`)."""

    kind: str  # "view" (Zendesk) or "filter" (Jira)
    title: str  # "Escalated tickets"
    id: str | None  # None: it does not exist (yet)
    url: str | None = None  # where agents open it
    definition: str = ""  # what it shows, in the platform's terms (conditions, JQL)
    created: bool = False
    problem: str = ""  # why it could not be found or created, with the fix
