"""Writing one change: re-read, re-evaluate, one edit, at most one comment request.

Jira has no compare-and-set, so every write starts with `GET /issue/{key}` (a counted read):
it sees a human's concurrent edit and what Cloud's eventually consistent search had not shown
yet, and `reevaluate` decides on the fresh ticket (None -> UNCHANGED). Then:
- 409 (a conflicting update): re-read, re-evaluate, and try once more.
- A write that may have landed (a read timeout, or 500/502/504 from Jira or a proxy): re-read
  first. If our tracking values (or, for a comment, a new comment with our text) are there, it
  landed and is not repeated; otherwise re-evaluate and try once more. Comments are never
  posted twice.
- 413 (the issue's comment limit): the comments are dropped, the rest is written
  (`comment_dropped`).
- A separate comment request is written to the owed-comment journal (`adapters.owed`) before
  the edit, and removed only once the write went in whole (or the issue is gone, or its comment
  limit is reached): a comment that failed for good after its edit, or that a killed process
  never sent, goes out at the next run (`pay`).
- 400 "not on the appropriate screen" -> SetupError (naming the field and the fix); 401 ->
  AuthError; 410 -> Gone: these abort the instance, every further write would fail the same way.
- 404 -> SKIPPED; other refusals -> FAILED with Jira's message; the other changes go on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.base import Reevaluate, WriteResult, WriteStatus
from adapters.errors import (
    AdapterError,
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    Rejected,
    SetupError,
    TransientError,
)
from adapters.http import maybe_landed
from adapters.jira import fetch as reads
from adapters.jira.client import ErrorHook
from adapters.jira.edit import Edit
from adapters.jira.mapping import comments, comments_truncated, parse_time, user_id
from adapters.jira.markup import body_text
from adapters.owed import Owed, superseded
from rules.plan import TicketChange
from rules.tracking import Tracking

if TYPE_CHECKING:
    from adapters.jira.adapter import JiraAdapter

SCREEN = "appropriate screen"


class CommentLimit(Rejected):
    """413: the issue has as many comments as Jira allows."""


#: How far a Jira `created` may be before this host's clock at the moment a comment became owed
#: (clock skew), and still be that comment.
SKEW_SECONDS = 600.0


@dataclass
class _Progress:
    rereads: int = 0
    dropped: bool = False  # the comments, at the issue's comment limit (413)
    edited: bool = False
    keys: set[tuple[str, str]] = field(default_factory=set)  # journaled by this write
    written: tuple[str, str] | None = None  # the key of the change whose edit went in

    @property
    def owed(self) -> bool:
        """The edit went in and its journaled comment did not."""
        return self.edited and self.written in self.keys


def write_one(a: JiraAdapter, change: TicketChange, reevaluate: Reevaluate) -> WriteResult:
    """Write one change; forget its journaled comment only once the write went in whole."""
    result = _write_one(a, change, reevaluate, p := _Progress())
    whole = result.status is WriteStatus.APPLIED and not result.comment_dropped
    refused = result.status is WriteStatus.FAILED and not p.edited and not p.rereads
    if refused and isinstance(result.error, AdapterError) and maybe_landed(result.error):
        refused = False
    if whole or p.dropped or refused or result.status is WriteStatus.SKIPPED:
        a.journal.paid(p.keys)
    elif p.owed and p.written is not None:
        a.journal.confirm(p.written)
    if result.status is WriteStatus.APPLIED and result.written is not None:
        return superseded(a.journal, result, p.keys, "note")
    return result


def _write_one(
    a: JiraAdapter, change: TicketChange, reevaluate: Reevaluate, p: _Progress
) -> WriteResult:
    key = change.ticket
    try:
        return _write(a, change, reevaluate, p)
    except NotFound as exc:
        return WriteResult(key, WriteStatus.SKIPPED, str(exc), rereads=p.rereads, error=exc)
    except (AuthError, SetupError):
        raise
    except AdapterError as exc:
        done = "the edit was written, the comment was not: " if p.edited else ""
        owed = p.owed and a.journal.active
        later = "; it is owed: the next run sends it" if owed else ""
        return WriteResult(
            key,
            WriteStatus.FAILED,
            done + str(exc) + later,
            comment_dropped=p.edited,
            comment_owed=owed,
            rereads=p.rereads,
            error=exc,
        )


def _write(
    a: JiraAdapter, change: TicketChange, reevaluate: Reevaluate, p: _Progress
) -> WriteResult:
    key = change.ticket
    raw = a.read(key)
    current = reevaluate(a.ticket(raw))
    if current is None:
        return WriteResult(key, WriteStatus.UNCHANGED, "nothing left to do on the fresh ticket")
    edit, retried = a.edit(current, raw), False
    _owe(a, key, edit, current, p)
    while edit.put is not None:
        try:
            a.client.put(a.issue_path(key), edit.put, may_repeat=False, on_error=a.write_hook)
            break
        except CommentLimit:
            if not edit.put_comments:
                raise
            edit, p.dropped = edit.without_comments(), True
        except (Conflict, TransientError) as exc:
            if retried or (isinstance(exc, TransientError) and not maybe_landed(exc)):
                raise
            retried, p.rereads = True, p.rereads + 1
            fresh = a.read(key)
            if isinstance(exc, TransientError) and _landed(a, edit, current, raw, fresh):
                break
            raw, after = fresh, reevaluate(a.ticket(fresh))
            if after is None:
                message = f"re-read after {_kind(exc)}: nothing left to do"
                return WriteResult(key, WriteStatus.UNCHANGED, message, rereads=p.rereads)
            current = after
            edit = a.edit(current, raw)
            edit = edit.without_comments() if p.dropped else edit
            _owe(a, key, edit, current, p)
    p.edited = edit.put is not None
    p.written = _key(current) if p.edited else None
    if edit.comment is not None and not p.dropped:
        _comment(a, key, edit, raw, p)
    message = "the issue's comment limit is reached: comments dropped" if p.dropped else ""
    return WriteResult(
        key,
        WriteStatus.APPLIED,
        message,
        written=current,
        comment_dropped=p.dropped,
        rereads=p.rereads,
    )


def _owe(a: JiraAdapter, key: str, edit: Edit, change: TicketChange, p: _Progress) -> None:
    """Journal the separate comment of an edit about to be sent (it is the second request)."""
    if edit.comment is None or edit.put is None or not a.journal.active:
        return
    try:
        who = a.myself() or ""
    except AuthError:
        raise
    except AdapterError:  # who we are only guards a later resend; the write goes on
        who = ""
    old = change.tracking.get("state")
    owed = Owed(
        key,
        "note",
        edit.comment,
        edit.texts[-1],
        _key(change)[1],
        who,
        a.client.clock(),
        old=_normal(None if old is None else old.old),
    )
    if a.journal.owe([owed]):
        p.keys.add(owed.key)


def _comment(a: JiraAdapter, key: str, edit: Edit, before: Mapping[str, Any], p: _Progress) -> None:
    """Post the separate comment once; after an uncertain timeout, only if it did not land."""
    assert edit.comment is not None
    path = a.issue_path(key) + "/comment"
    for attempt in range(2):
        try:
            a.client.post(path, edit.comment, may_repeat=False, on_error=a.write_hook)
            return
        except CommentLimit:
            p.dropped = True
            return
        except TransientError as exc:
            if attempt or not maybe_landed(exc):
                raise
            p.rereads += 1
            if _new_comment(a, before, a.read(key), edit.texts[-1]):
                return


def pay(a: JiraAdapter, item: Owed, siblings: set[str]) -> WriteResult | None:
    """Settle a comment an earlier run owed (see `adapters.owed`): sent once, only while the
    issue carries the `state` that change wrote, and not if it is there already. None when
    nothing is owed (that change never landed)."""
    key = item.ticket
    try:
        raw = a.read(key)
        state = _normal(a.ticket(raw).tracking.to_raw()["state"])
        normal = replace(item, state=_normal(item.state))
        verdict = a.journal.verdict(normal, state, "", {_normal(s) for s in siblings})
        if verdict in ("forget", "wait"):
            a.journal.paid([item.key])
            return None
        if verdict != "send":
            return _give_up(a, item, _WHY[verdict])
        a.journal.confirm(item.key)
        me = a.myself()
        if item.who and me is not None and item.who != me:
            return _give_up(a, item, _WHY["someone else"])
        if _owed_landed(a, raw, item):
            a.journal.paid([item.key])
            return WriteResult(key, WriteStatus.APPLIED, "the owed note had landed")
        path = a.issue_path(key) + "/comment"
        a.client.post(path, item.body, may_repeat=False, on_error=a.write_hook)
    except NotFound:
        return _give_up(a, item, "the issue is gone")
    except CommentLimit:
        return _give_up(a, item, "the issue has reached its comment limit")
    except (AuthError, SetupError):
        raise
    except (Rejected, PermissionDenied) as exc:
        return _give_up(a, item, f"Jira refused it: {exc}")
    except AdapterError as exc:  # kept: the next run looks for it, then sends it
        message = f"the note an earlier run owed is still owed: {exc}"
        return WriteResult(
            key, WriteStatus.FAILED, message, comment_dropped=True, comment_owed=True, error=exc
        )
    a.journal.paid([item.key])
    return WriteResult(key, WriteStatus.APPLIED, "sent the note an earlier run owed")


_WHY = {
    "superseded": "the issue was escalated again since",
    "expired": "it is more than 24 hours old",
    "someone else": "it was owed by another Jira user than the one signed in now",
}


def _normal(state: object) -> str:
    """A `state` value as the issue's field reads back (parsed and written again), "" if none."""
    if state is None or not str(state).strip():
        return ""
    return Tracking.parse({"state": str(state)}).to_raw()["state"] or ""


def _give_up(a: JiraAdapter, item: Owed, why: str) -> WriteResult:
    a.journal.paid([item.key])
    message = f"the note an earlier run owed is dropped: {why}"
    return WriteResult(item.ticket, WriteStatus.SKIPPED, message, comment_dropped=True)


def _owed_landed(a: JiraAdapter, raw: Mapping[str, Any], item: Owed) -> bool:
    """A comment of ours with the owed text, created since it became owed (less the skew)."""
    listed = comments(raw)
    if comments_truncated(raw):
        listed = reads.issue_comments(a.client, str(raw.get("key")))
    since = datetime.fromtimestamp(item.at - SKEW_SECONDS, tz=UTC)
    me = a.myself()
    return any(
        _created_after(c, since)
        and (me is None or user_id(c.get("author")) == me)
        and _same(body_text(c.get("body")), item.text)
        for c in listed
    )


def _landed(
    a: JiraAdapter,
    edit: Edit,
    change: TicketChange,
    before: Mapping[str, Any],
    fresh: Mapping[str, Any],
) -> bool:
    """Whether the edit that timed out is on the fresh issue: its comment is there (whatever
    else a person changed since), or else all its tracking values are."""
    if edit.put_comments and _new_comment(a, before, fresh, edit.texts[0]):
        return True
    mapped = [n for n in change.tracking if n in a.resolved.tracking]
    if mapped:
        have = a.ticket(fresh).tracking.to_raw()
        want = Tracking.parse({n: change.tracking[n].new for n in mapped}).to_raw()
        return all(have[n] == want[n] for n in mapped)
    return False  # an edit without comments is idempotent: re-evaluating and repeating is safe


def _new_comment(
    a: JiraAdapter, before: Mapping[str, Any], fresh: Mapping[str, Any], text: str
) -> bool:
    """A comment by us with this text that was not there before the write.

    An issue's `comment` field may hold only part of its comments (`total` says so): then the
    fresh list is read in full, and, when `before` was partial too, only comments created
    after its `updated` count as new (an older comment of ours with the same text is not).
    """
    listed = comments(fresh)
    if comments_truncated(fresh):
        listed = reads.issue_comments(a.client, str(fresh.get("key")))
    old = {str(c.get("id")) for c in comments(before)}
    since = None
    if comments_truncated(before):
        since = parse_time((before.get("fields") or {}).get("updated"))
    me = a.myself()
    return any(
        str(c.get("id")) not in old
        and _created_after(c, since)
        and (me is None or user_id(c.get("author")) == me)
        and _same(body_text(c.get("body")), text)
        for c in listed
    )


def _key(change: TicketChange) -> tuple[str, str]:
    """The journal key of what `change` owes: its issue and the `state` value it writes."""
    state = change.tracking.get("state")
    return (change.ticket, "" if state is None or state.new is None else str(state.new))


def _created_after(comment: Mapping[str, Any], since: datetime | None) -> bool:
    created = parse_time(comment.get("created"))
    return since is None or created is None or created > since


def _same(a: str, b: str) -> bool:
    """Equal text, whatever whitespace Jira normalised (ADF paragraphs, line breaks)."""
    return a.split() == b.split()


def write_hook(names: Mapping[str, str]) -> ErrorHook:
    """Specific errors for a write: the screen error, the comment limit, uncertain 5xx."""

    def hook(status: int, body: Mapping[str, Any]) -> AdapterError | None:
        errors = body.get("errors") or {}
        if status == 400 and isinstance(errors, Mapping):
            off = [fid for fid, msg in errors.items() if SCREEN in str(msg)]
            if off:
                fields = ", ".join(f"{names.get(fid, fid)!r} ({fid})" for fid in off)
                return SetupError(
                    f"Jira refused to set {fields}: not on the issue's edit screen. Add it in"
                    " Project settings → Screens → the Edit screen of the issue type (a field"
                    " created by `escalate setup` is on no screen until you add it)"
                )
        if status == 413:
            return CommentLimit("Jira answered 413: the issue has reached its comment limit")
        if status in (500, 502, 504):  # from Jira or a proxy: the write may have landed
            err = TransientError(f"the write answered {status}; it may have landed")
            err.maybe_landed = True  # type: ignore[attr-defined]
            return err
        return None

    return hook


def _kind(exc: Exception) -> str:
    return "a conflict (409)" if isinstance(exc, Conflict) else "an uncertain timeout"
