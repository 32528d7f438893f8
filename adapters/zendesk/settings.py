"""A Zendesk instance's settings: where it is, how to sign in, what to read, how to write.

OAuth comes first: Zendesk stops accepting API tokens on 2027-04-30 (new ones from 2026-10-27),
so `oauth_client_credentials` is the recommended sign-in for a scheduled connector.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from adapters.secrets import SecretRef
from adapters.settings import InstanceSettings
from rules.basics import Model

DEFAULT_SCOPE = "type:ticket status<solved"
#: Zendesk's statuses in its own order (`status<solved` is new, open, pending and hold).
STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")
_DONE = {STATUS_ORDER.index("solved"), STATUS_ORDER.index("closed")}
#: One search term: `key:value` (a quoted value may hold spaces), a "quoted phrase" or a word.
TERM = re.compile(r'-?\w+(?:<=|>=|:|<|>)(?:"[^"]*"|\S+)|"[^"]*"|\S+')
_STATUS_TERM = re.compile(r"^(-?)status(:|<=|>=|<|>)(\w+)$", re.IGNORECASE)


class ClientCredentialsAuth(Model):
    """OAuth client credentials: the connector gets (and renews) its own access tokens."""

    type: Literal["oauth_client_credentials"]
    client_id: str = Field(min_length=1)
    client_secret: SecretRef
    scope: str = Field(default="read write", description="Space-separated OAuth scopes.")
    expires_in: int | None = Field(
        default=None, ge=300, le=172_800, description="Requested token lifetime in seconds."
    )


class OAuthTokenAuth(Model):
    """An OAuth access token obtained elsewhere (it is not renewed: a 401 aborts the run)."""

    type: Literal["oauth_token"]
    token: SecretRef


class ApiTokenAuth(Model):
    """An agent's e-mail and API token (Zendesk retires API tokens on 2027-04-30)."""

    type: Literal["api_token"]
    email: str = Field(min_length=3)
    token: SecretRef


Auth = Annotated[ClientCredentialsAuth | OAuthTokenAuth | ApiTokenAuth, Field(discriminator="type")]


class Settings(InstanceSettings):
    platform: Literal["zendesk"]
    scope: str = Field(
        default=DEFAULT_SCOPE,
        description="Zendesk search query for candidate tickets (type:ticket is implied).",
    )
    auth: Auth
    batch_threshold: int = Field(
        default=50,
        ge=0,
        description="Write through update_many when a run has more changes (0: always).",
    )
    page_size: int = Field(default=1000, ge=1, le=1000, description="Search export page size.")
    users: dict[str, int] = Field(
        default={}, description="Agent name or e-mail -> user id, for assignments."
    )
    history_concurrency: int = Field(  # at most 10: the connections requests keeps per host
        default=4,
        ge=1,
        le=10,
        description="Per-ticket history reads (audits) in flight at once, within the budget.",
    )
    history_cache: bool = Field(
        default=True,
        description=(
            "Keep ticket histories in <state_dir>/cache between runs, so a run reads the"
            " audits of the tickets updated since the last one only."
        ),
    )
    jobs_in_flight: int = Field(
        default=10,
        ge=1,
        le=30,
        description=(
            "update_many jobs submitted and not yet finished at once (Zendesk allows 30 queued"
            " or running jobs per account, shared with its other integrations)."
        ),
    )
    job_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description=(
            "Longest wait between polls of update_many jobs: the first poll comes after 0.5 s"
            " (or this, if shorter), then the wait doubles up to this."
        ),
    )
    job_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Give up waiting for an update_many job after this."
    )

    def statuses_in_scope(self) -> frozenset[str] | None:
        """The statuses the scope reads, when it says nothing but which statuses (AND-ed
        `status` terms, and `type:ticket`), so a ticket read by id can be placed in or out of
        it here; None when the scope says more (tags, groups...) or is unsure (an OR)."""
        kind = ("type:ticket", 'type:"ticket"')
        terms = [t for t in TERM.findall(self.scope) if t.lower() not in kind]
        if not terms or "OR" in terms:
            return None
        ranks = set(range(len(STATUS_ORDER)))
        for term in terms:
            found = _STATUS_TERM.match(term)
            if found is None or found.group(3).lower() not in STATUS_ORDER:
                return None
            negated, op, bound = found.group(1), found.group(2), found.group(3).lower()
            limit = STATUS_ORDER.index(bound)
            ranks = {r for r in ranks if _compare(r, op, limit) != bool(negated)}
        return frozenset(STATUS_ORDER[r] for r in ranks)

    def without_done(self) -> dict[str, str] | None:
        """The scope and `status<solved`, when its terms are all AND-ed (no OR) and none of them
        leaves solved and closed tickets out already."""
        if self.done_left_out() is not None or "OR" in TERM.findall(self.scope):
            return None
        return {"scope": f"{self.scope} status<solved"}

    def done_left_out(self) -> tuple[str, str] | None:
        """The `status` terms that keep solved and closed tickets out (search terms all hold)."""
        if "OR" in TERM.findall(self.scope):  # not a plain list of AND-ed terms: unsure
            return None
        left_out: set[int] = set()
        terms = []
        for term in TERM.findall(self.scope):
            found = _STATUS_TERM.match(term)
            if found is None or found.group(3).lower() not in STATUS_ORDER:
                continue
            negated, op, bound = found.group(1), found.group(2), found.group(3).lower()
            if not negated and op == ":" and bound in ("solved", "closed"):
                return None  # it asks for them by name (Zendesk may OR repeated status terms)
            out = {r for r in _DONE if _compare(r, op, STATUS_ORDER.index(bound)) == bool(negated)}
            if out:
                left_out |= out
                terms.append(term)
        return (self.scope, " ".join(terms)) if left_out == _DONE else None


def _compare(rank: int, op: str, bound: int) -> bool:
    """Does a status of `rank` satisfy `status<op><bound>`?"""
    if op == ":":
        return rank == bound
    return {"<": rank < bound, "<=": rank <= bound, ">": rank > bound, ">=": rank >= bound}[op]
