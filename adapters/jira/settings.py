"""A Jira instance's settings (Cloud or Data Center; the flavour comes from serverInfo).

instances:
  support-jira:
    platform: jira
    url: https://acme.atlassian.net          # or https://jira.example.com (Data Center)
    auth: {email: bot@example.com, api_token: {env: JIRA_API_TOKEN}}   # Cloud
    # auth: {personal_access_token: {env: JIRA_PAT}}                  # Data Center
    scope: "project = SUP AND statusCategory != Done"
    group_field: Support team
    users: {alice@example.com: 5b10ac8d82e05b22cc7d4ef5}
    jsm_internal_comments: true
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from adapters.jira import jql
from adapters.secrets import SecretRef
from adapters.settings import InstanceSettings
from rules.basics import Model

DEFAULT_SCOPE = "statusCategory != Done"


class CloudAuth(Model):
    """Jira Cloud: the account's email and an API token, sent over HTTP basic auth."""

    email: str = Field(min_length=3)
    api_token: SecretRef


class DataCenterAuth(Model):
    """Jira Data Center: a personal access token, sent as `Authorization: Bearer`."""

    personal_access_token: SecretRef


class NoteVisibility(Model):
    """Restrict internal notes to a project role or a group (Jira Software has no internal
    comments; JSM projects use `jsm_internal_comments` instead)."""

    type: Literal["role", "group"]
    value: str = Field(min_length=1)


class Settings(InstanceSettings):
    platform: Literal["jira"]
    auth: CloudAuth | DataCenterAuth
    #: The custom field holding the team/group (e.g. "Support team"); needed to reassign groups.
    group_field: str | None = None
    #: Policy names or emails -> accountId (Cloud) or username (Data Center).
    users: dict[str, str] = {}
    #: Post internal notes as JSM internal comments (the sd.public.comment property); in JSM
    #: projects (projectTypeKey service_desk) they always are.
    jsm_internal_comments: bool = False
    note_visibility: NoteVisibility | None = None
    page_size: int = Field(default=100, ge=1, le=1000)

    @property
    def jql(self) -> str:
        return self.scope or DEFAULT_SCOPE

    def done_left_out(self) -> tuple[str, str] | None:
        """An AND-ed clause that keeps Done or resolved issues out (an OR at the top: unsure)."""
        clause = jql.done_left_out(self.jql)
        return None if clause is None else (self.jql, clause)

    def without_done(self) -> dict[str, str] | None:
        """`(<scope>) AND statusCategory != Done`, keeping the scope's ORDER BY last."""
        if self.done_left_out() is not None:
            return None
        where, order = jql.split_order(self.jql)
        narrowed = f"({where}) AND statusCategory != Done" + (f" {order}" if order else "")
        return {"scope": narrowed}
