"""Jira's part of the write protocol (`adapters.writer`, `adapters.payment`).

Jira has no compare-and-set, so every write starts with a re-read of the issue (`reads_first`),
in bulk with the writes that follow it (`adapters.jira.ahead`): it sees a human's concurrent
edit and what Cloud's eventually consistent search had not shown yet. A change is one edit
(`PUT /issue/{key}`) and, for an internal note that needs its own request
(`adapters.jira.body`), one `POST /issue/{key}/comment`: the second comment, journaled before
the edit. Jira-specific answers:
- an edit or comment that may have landed (a read timeout, 500/502/504 from Jira or a proxy):
  it landed if its comment is new on the re-read issue, or else all its tracking values are;
- 413, the issue's comment limit: the comments are dropped, the rest is written;
- 400 "not on the appropriate screen" -> SetupError naming the field and the fix (and Assign
  Issues, for the assignee);
- 400 "Option value 'X' is not valid" -> Rejected naming the field by name, and the fix;
- 400 "you do not have the permission to comment" -> PermissionDenied naming Add Comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adapters.errors import (
    AdapterError,
    AuthError,
    CommentLimit,
    MaybeLanded,
    Rejected,
    SetupError,
)
from adapters.http import Need, forbidden
from adapters.jira import search
from adapters.jira.ahead import ReadAhead
from adapters.jira.body import Edit, EditContext, build
from adapters.jira.client import ErrorHook
from adapters.jira.context import parse_time, user_id
from adapters.jira.events import comments, comments_truncated
from adapters.jira.lookups import Lookups
from adapters.jira.markup import body_text
from adapters.jira.permissions import need
from adapters.jira.read import Reader
from adapters.outcomes import Draft, Fresh, Outcome, Sent, classify
from adapters.owed import Journal, Owed
from adapters.payment import Peek
from adapters.writer import SecondComment
from rules.plan import TicketChange
from rules.tracking import Tracking

SCREEN = "appropriate screen"
OPTION_REFUSED = re.compile(r"Option (value|id) '.*' is not valid")
COMMENT_REFUSED = "permission to comment"
#: How far a Jira `created` may be before this host's clock at the moment a comment became owed
#: (clock skew), and still be that comment.
SKEW_SECONDS = 600.0


class Backend:
    """The backend and the debtor for one Jira instance."""

    reads_first = True
    second_name = second_kind = "note"
    platform_name = "Jira"

    def __init__(self, lookups: Lookups, reader: Reader, journal: Journal) -> None:
        self.lookups, self.reader, self.journal = lookups, reader, journal
        self.client = lookups.client
        self.clock = lookups.client.clock
        self.ahead = ReadAhead(reader, self.clock)
        self._hook: ErrorHook | None = None

    @property
    def hook(self) -> ErrorHook:
        if self._hook is None:
            self._hook = write_hook({f.id: f.name for f in self.lookups.catalog().fields})
        return self._hook

    def reread(self, ticket: str) -> Fresh:
        return self.ahead.fresh(ticket)

    def draft(self, change: TicketChange, basis: Fresh | None) -> Draft[Edit]:
        assert basis is not None, "a Jira write starts with a re-read"
        edit = build(change, self._context(change, basis.raw))
        two = edit.put is not None and edit.comment is not None
        second = edit.comment if two else None
        return Draft(change, edit, second, edit.texts[-1] if two else "", None, basis)

    def _context(self, change: TicketChange, raw: Mapping[str, Any]) -> EditContext:
        project = (raw.get("fields") or {}).get("project") or {}
        r, settings = self.lookups.resolved, self.lookups.settings
        meta = self.lookups.project_meta(
            str(raw.get("key") or change.ticket), str(project.get("key") or "")
        )
        return EditContext(
            cloud=self.lookups.cloud,
            policy=self.lookups.policy,
            tracking=r.tracking,
            group=r.group,
            custom=r.custom,
            meta=meta,
            user_ref=self.lookups.user_ref,
            jsm=settings.jsm_internal_comments,
            visibility=settings.note_visibility,
            service_desk=project.get("projectTypeKey") == "service_desk",
        )

    def send(self, draft: Draft[Edit]) -> Outcome:
        edit, path = draft.body, self.lookups.path(draft.change.ticket)
        if edit.put is not None:
            return classify(lambda: self._request("PUT", path, edit.put))
        if edit.comment is not None:  # a note alone: the comment is the only request
            return classify(lambda: self._request("POST", f"{path}/comment", edit.comment))
        return Sent()

    def _request(self, method: str, path: str, body: Any) -> None:
        self.client.request(method, path, body=body, may_repeat=False, on_error=self.hook)

    def without_comments(self, draft: Draft[Edit]) -> Draft[Edit] | None:
        if not draft.body.put_comments:
            return None
        return replace(draft, body=draft.body.without_comments(), second=None, second_text="")

    def landed(self, draft: Draft[Edit], fresh: Fresh) -> bool:
        """Its comment is new on the fresh issue (whatever else a person changed since), or
        else all its tracking values are there. An edit with neither is idempotent."""
        edit, before = draft.body, draft.basis.raw if draft.basis else {}
        carried = edit.texts[0] if edit.put_comments or edit.put is None else None
        if carried is not None and self._new_comment(before, fresh.raw, carried):
            return True
        mapped = [n for n in draft.change.tracking if n in self.lookups.resolved.tracking]
        if not mapped or edit.put is None:
            return False
        have = fresh.ticket.tracking.to_raw()
        want = Tracking.parse({n: draft.change.tracking[n].new for n in mapped}).to_raw()
        return all(have[n] == want[n] for n in mapped)

    def send_second(self, draft: Draft[Edit], sent: Sent) -> SecondComment:
        """Post the note once; after an uncertain answer, only if it did not land."""
        assert draft.second is not None
        path = self.lookups.path(draft.change.ticket) + "/comment"
        before = draft.basis.raw if draft.basis else {}
        rereads = 0
        try:
            for attempt in range(2):
                try:
                    self._request("POST", path, draft.second)
                    return SecondComment(rereads=rereads)
                except MaybeLanded:
                    if attempt:
                        raise
                rereads += 1
                fresh = self.reader.read(draft.change.ticket)
                if self._new_comment(before, fresh, draft.second_text):
                    return SecondComment(rereads=rereads)
        except (AuthError, SetupError):
            raise
        except AdapterError as exc:
            return SecondComment(exc, rereads)
        raise AssertionError("unreachable")  # pragma: no cover

    def _new_comment(self, before: Mapping[str, Any], fresh: Mapping[str, Any], text: str) -> bool:
        """A comment by us with this text that was not there before the write. An issue's
        `comment` field may hold only part of its comments (`total` says so): then the fresh
        list is read in full, and, when `before` was partial too, only comments created after
        its `updated` count as new (an older comment of ours with the same text is not)."""
        old = {str(c.get("id")) for c in comments(before)}
        since = None
        if comments_truncated(before):
            since = parse_time((before.get("fields") or {}).get("updated"))
        return any(str(c.get("id")) not in old for c in self._ours(fresh, text, since))

    def _ours(
        self, raw: Mapping[str, Any], text: str, since: datetime | None
    ) -> list[Mapping[str, Any]]:
        """The issue's comments by us with `text`, created after `since`."""
        listed = comments(raw)
        if comments_truncated(raw):
            listed = search.issue_comments(self.client, str(raw.get("key")))
        me = self.lookups.myself()
        return [
            c
            for c in listed
            if _created_after(c, since)
            and (me is None or user_id(c.get("author")) == me)
            and _same(body_text(c.get("body")), text)
        ]

    def who(self) -> str:
        try:
            return self.me()
        except AuthError:
            raise
        except AdapterError:  # who we are only guards a later resend; the write goes on
            return ""

    def me(self) -> str:
        return self.lookups.myself() or ""

    def normal(self, state: object) -> str:
        """A `state` value as the issue's field reads back (parsed and written again)."""
        if state is None or not str(state).strip():
            return ""
        return Tracking.parse({"state": str(state)}).to_raw()["state"] or ""

    # --- paying what earlier runs owe --------------------------------------------------------

    def peek(self, ticket: str) -> Peek:
        raw = self.reader.read(ticket)
        state = self.normal(self.reader.ticket(raw).tracking.to_raw()["state"])
        return Peek(state, "", raw)

    def owed_landed(self, item: Owed, peek: Peek) -> bool:
        since = datetime.fromtimestamp(item.at - SKEW_SECONDS, tz=UTC)
        return bool(self._ours(peek.raw, item.text, since))

    def send_owed(self, item: Owed, peek: Peek) -> None:
        self._request("POST", self.lookups.path(item.ticket) + "/comment", item.body)


def _created_after(comment: Mapping[str, Any], since: datetime | None) -> bool:
    created = parse_time(comment.get("created"))
    return since is None or created is None or created > since


def _same(a: str, b: str) -> bool:
    """Equal text, whatever whitespace Jira normalised (ADF paragraphs, line breaks)."""
    return a.split() == b.split()


def write_hook(names: Mapping[str, str]) -> ErrorHook:
    """Specific errors for a write: the screen error, a refused option, a comment refused for
    want of Add Comments, the comment limit, uncertain 5xx."""

    def hook(status: int, body: Mapping[str, Any], what: str) -> AdapterError | None:
        errors = body.get("errors") or {}
        if status == 400 and isinstance(errors, Mapping):
            specific = _field_errors(errors, names, what)
            if specific is not None:
                return specific
        if status == 400 and any(COMMENT_REFUSED in str(m) for m in _messages(body, errors)):
            return forbidden(what, "; ".join(_messages(body, errors)), _comment_need(what))
        if status == 413:
            return CommentLimit(f"{what} answered 413: the issue has reached its comment limit")
        if status in (500, 502, 504):  # from Jira or a proxy: the write may have landed
            return MaybeLanded(f"{what} answered {status}")
        return None

    return hook


def _field_errors(
    errors: Mapping[str, Any], names: Mapping[str, str], what: str
) -> AdapterError | None:
    """Fields off the edit screen (SetupError), or an option Jira does not have (Rejected)."""
    off = [fid for fid, msg in errors.items() if SCREEN in str(msg)]
    if off:
        fields = ", ".join(f"{names.get(fid, fid)!r} ({fid})" for fid in off)
        assign = (
            " If the account lacks Assign Issues (ASSIGN_ISSUES) in the issue's project, Jira"
            " refuses the assignee this way too: grant it in Project settings → Permissions."
            if "assignee" in off
            else ""
        )
        return SetupError(
            f"Jira refused to set {fields}: not on the issue's edit screen. Add it in"
            " Project settings → Screens → the Edit screen of the issue type (a field"
            f" created by `escalate setup` is on no screen until you add it).{assign}"
        )
    bad = [(fid, str(msg)) for fid, msg in errors.items() if OPTION_REFUSED.search(str(msg))]
    if bad:
        refused = "; ".join(f"field {names.get(fid, fid)!r} ({fid}): {msg}" for fid, msg in bad)
        return Rejected(
            f"{what} answered 400: {refused}. Fix: add the option to the field's context for"
            " this project (the field's settings → Contexts → Edit options), or change the"
            " policy's value; `escalate doctor` lists every missing option"
        )
    return None


def _messages(body: Mapping[str, Any], errors: Any) -> list[str]:
    found = [str(m) for m in body.get("errorMessages") or []]
    return found + ([str(v) for v in errors.values()] if isinstance(errors, Mapping) else [])


def _comment_need(what: str) -> Need:
    """Add Comments in the issue's project (the comment may ride in an edit: PUT /issue)."""
    path = what.partition(" ")[2].removesuffix("/comment")
    found = need(f"POST {path}/comment")
    assert found is not None
    return found
