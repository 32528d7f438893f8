"""Paying what earlier runs owe: each second comment in the journal (`adapters.owed`) is sent
once, only while its ticket still carries the escalation that owed it, and not when it is on
the ticket already. The same for every platform; each supplies a small `Debtor`.

    verdict SEND        confirmed; sent unless another user owes it or it is there already
    verdict WAIT        kept: its change may still land (a Zendesk job not yet run)
    verdict FORGET      dropped quietly: its change never landed (the engine redoes it whole)
    SUPERSEDED/EXPIRED  dropped and reported

A refusal (the ticket closed meanwhile, no permission, its comment limit) drops it, reported;
anything else keeps it for the next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from adapters.errors import (
    AdapterError,
    AuthError,
    CommentLimit,
    NotFound,
    PermissionDenied,
    Rejected,
    SetupError,
)
from adapters.owed import Journal, Owed, Verdict
from adapters.results import WriteResult, WriteStatus


@dataclass(frozen=True, slots=True)
class Peek:
    """A ticket as the journal needs it: its `state` value (as `Debtor.normal` reads it), its
    version stamp ("" where the platform has none), and the platform's JSON."""

    state: str
    stamp: str
    raw: Mapping[str, Any]


class Debtor(Protocol):
    journal: Journal
    #: How messages name the platform and the comment ("Jira", "note").
    platform_name: str
    second_name: str

    def peek(self, ticket: str) -> Peek:
        """The ticket now (NotFound when gone)."""
        ...

    def me(self) -> str:
        """The platform user signed in now ("" when the platform cannot say); an error when
        it could not be read (the comment then stays owed)."""
        ...

    def normal(self, state: object) -> str: ...

    def owed_landed(self, item: Owed, peek: Peek) -> bool:
        """A comment of ours with the owed text, made since it became owed."""
        ...

    def send_owed(self, item: Owed, peek: Peek) -> None:
        """Send it, once (AdapterError if it did not go in)."""
        ...


def pay_all(debtor: Debtor) -> Iterator[WriteResult]:
    """Every comment still owed, oldest first: one result each, nothing when none is owed."""
    items = debtor.journal.due()
    for item in items:
        siblings = {i.state for i in items if i.ticket == item.ticket} - {item.state}
        if (result := pay(debtor, item, siblings)) is not None:
            yield result


def pay(debtor: Debtor, item: Owed, siblings: set[str]) -> WriteResult | None:
    """Settle one owed comment; None when nothing is owed (its change never landed) or it
    waits (its change may still land). `siblings`: the states of the ticket's other entries."""
    journal, name = debtor.journal, debtor.second_name
    try:
        peek = debtor.peek(item.ticket)
        normal = replace(item, state=debtor.normal(item.state))
        verdict = journal.verdict(normal, peek.state, peek.stamp, {*map(debtor.normal, siblings)})
        if verdict is Verdict.FORGET:
            journal.paid([item.key])
        if verdict in (Verdict.FORGET, Verdict.WAIT):
            return None
        if verdict is not Verdict.SEND:
            return _give_up(debtor, item, verdict.value)
        journal.confirm(item.key)
        me = debtor.me()
        if item.who and me and item.who != me:
            why = f"it was owed by another {debtor.platform_name} user than the one signed in now"
            return _give_up(debtor, item, why)
        if debtor.owed_landed(item, peek):
            journal.paid([item.key])
            return WriteResult(item.ticket, WriteStatus.APPLIED, f"the owed {name} had landed")
        debtor.send_owed(item, peek)
    except (AuthError, SetupError):
        raise
    except NotFound:
        return _give_up(debtor, item, "the ticket is gone")
    except CommentLimit:
        return _give_up(debtor, item, "the ticket has reached its comment limit")
    except (Rejected, PermissionDenied) as exc:
        return _give_up(debtor, item, f"{debtor.platform_name} refused it: {exc}")
    except AdapterError as exc:  # kept: the next run looks for it, then sends it
        message = f"the {name} an earlier run owed is still owed: {exc}"
        return WriteResult(
            item.ticket,
            WriteStatus.FAILED,
            message,
            comment_dropped=True,
            comment_owed=True,
            error=exc,
        )
    journal.paid([item.key])
    return WriteResult(item.ticket, WriteStatus.APPLIED, f"sent the {name} an earlier run owed")


def _give_up(debtor: Debtor, item: Owed, why: str) -> WriteResult:
    debtor.journal.paid([item.key])
    message = f"the {debtor.second_name} an earlier run owed is dropped: {why}"
    return WriteResult(item.ticket, WriteStatus.SKIPPED, message, comment_dropped=True)
