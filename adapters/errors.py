"""Platform errors, translated at the adapter edge (`raise Ours(...) from exc`).

The whole tree, with exit codes, is drawn in `connector/errors.py`.
"""

from __future__ import annotations

from rules.errors import EscalationError


class AdapterError(EscalationError):
    """A platform call failed."""


class TransientError(AdapterError):
    """429, 503, other 5xx, timeouts, connection errors: the only errors that are retried."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MaybeLanded(TransientError):
    """A write that may have gone in: it timed out after it was sent, or the platform (or a
    proxy in front of it) answered 5xx. Never re-sent blind: the ticket is re-read first."""


class Unreachable(AdapterError):
    """The platform could not be reached at all: the connection was refused, the host name
    does not resolve, its TLS certificate could not be verified, or the proxy failed. Not
    retried (waiting does not fix these); the message names the host and what to check."""


class AuthError(AdapterError):
    """401: the credentials are wrong or expired; the instance is aborted."""


class PermissionDenied(AdapterError):
    """403: the account may not do this; the message names the endpoint."""


class NotFound(AdapterError):
    """404: the ticket is gone; it is skipped."""


class Rejected(AdapterError):
    """400/422: the platform refused the values; the message names the field."""


class CommentLimit(Rejected):
    """The ticket has as many comments as the platform allows (Jira's 413): the comments are
    dropped, the rest of the change is written."""


class Conflict(AdapterError):
    """409: someone else changed the ticket; it is re-read and re-evaluated once."""


class SetupError(AdapterError):
    """The platform is not set up the way the connector needs (a tracking field is missing or
    not on the edit screen, an endpoint was removed): the instance is aborted, and the message
    says what to change."""


class Gone(SetupError):
    """410: the platform removed the endpoint; the message names it and its replacement."""
