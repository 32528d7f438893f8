"""A stateful in-process Jira, Cloud or Data Center, answering like the REST API does.

`JiraEmulator.handle(method, path, query, headers, body) -> (status, headers, body)` is pure
code: no sockets, no `responses`, and time comes from the injected `clock`. Bind it to
`responses` (tests) or to `adapters.emulators.server.EmulatorServer` (end-to-end runs).

What it models (payload shapes from the API reference and the OpenAPI examples):
- serverInfo (`deploymentType` Cloud or Server), myself, field (GET/POST), status, user (exact
  lookup) and user/search (answered, and logged, so tests can prove it is never called);
- Cloud: `search/jql` (GET/POST, `nextPageToken`/`isLast`, no total) and 410 on the old
  `/search`; `changelog/bulkfetch`; API v3 comment bodies in ADF, v2 in wiki text;
- Data Center: `/rest/api/2/search` (`startAt`/`maxResults`/`total`, `expand=changelog`),
  404 on `search/jql` and on API v3;
- issues: GET (fields, expand=changelog), PUT (fields + update verbs, the edit-screen check and
  its 400, priorities allowed per project, option values, users by accountId or name),
  editmeta, comments (GET, POST with the JSM `sd.public.comment` property or `visibility`, the
  per-issue comment limit: 413), a changelog entry per edit;
- a small JQL subset: `field op value` clauses joined by AND (statusCategory, status, project,
  priority, labels, key; `=`, `!=`, `in`, `not in`), `ORDER BY key|created ASC|DESC`.

Fault injection (`fail`, `timeout_after_landing`, `timeout_before_landing`, `before`,
`conflict`): a given answer for the next N requests matching a predicate (any status, headers
and body, a Retry-After in seconds or as an HTTP date), "apply the write then raise
`LandedTimeout`" (the binding turns it into a read timeout), "lose the request, then time out",
and "run a person's edit just before the next matching request lands".

Modules: `site` (the state, what people do in the UI, the JSON Jira shows of it), `api` (faults,
`handle`, routing, read endpoints), `writes` (edit, comment, create field), `jql` (the JQL
subset), `wire` (constants, records, JSON helpers).
"""

from adapters.emulators.jira.api import JiraEmulator
from adapters.emulators.jira.wire import (
    SCREEN_ERROR,
    Fault,
    Issue,
    LandedTimeout,
    Request,
    adf_text,
    is_adf,
)

__all__ = [
    "SCREEN_ERROR",
    "Fault",
    "Issue",
    "JiraEmulator",
    "LandedTimeout",
    "Request",
    "adf_text",
    "is_adf",
]
