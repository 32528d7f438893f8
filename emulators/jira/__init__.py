"""A stateful in-process Jira, Cloud or Data Center, answering like the REST API does.

`JiraEmulator.handle(Request) -> (status, headers, body)` (`emulators.http`) is pure
code: no sockets, no `responses`, and time comes from the injected `clock`. Bind it to
`responses` (tests) or to `emulators.server.EmulatorServer` (end-to-end runs).

What it models (payload shapes from the API reference and the OpenAPI examples):
- serverInfo (`deploymentType` Cloud or Server), myself, field (GET/POST), status, user (exact
  lookup) and user/search (answered, and logged, so tests can prove it is never called);
- Cloud: `search/jql` (GET/POST, `nextPageToken`/`isLast`, no total) and 410 on the old
  `/search`; `changelog/bulkfetch`; API v3 comment bodies in ADF, v2 in wiki text;
- Data Center: `/rest/api/2/search` (`startAt`/`maxResults`/`total`, `expand=changelog`),
  404 on `search/jql` and on API v3;
- issues (by key or id): GET (fields, expand=changelog), PUT (fields + update verbs, the
  edit-screen check and its 400, priorities allowed per project, option values, users by
  accountId or name), PUT assignee, editmeta, comments (GET, POST with the JSM
  `sd.public.comment` property or `visibility`, the per-issue comment limit: 413), a
  changelog entry per edit (with its author; Data Center items carry no `fieldId`), and the
  paginated `issue/{key}/changelog` (Cloud only: Data Center answers 404);
- groups and their members (`group/member`, 50 a page, 404 for no such group);
- a small JQL subset (see `jql`): clauses joined by AND with parentheses, system fields and
  custom fields by name (`is [not] EMPTY`; text fields only `~`/`!~`, as Jira's text searcher),
  `ORDER BY key|created|<custom field> ASC|DESC`;
- saved filters (POST /filter; Cloud `filter/search`, Data Center `filter/favourite`),
  `priority` (and Cloud's `priority/search`);
- the connector account's permissions: a `permissions` set a test can shrink, and `denied`
  per project. `mypermissions` reports them (Cloud requires `permissions=`; Data Center
  ignores it and answers every key), and the writes refuse as Jira does (`writes`): editmeta
  lists no field without Edit Issues and no assignee without Assign Issues, an edit setting
  them is a 400 "not on the appropriate screen", a comment without Add Comments a 400; the
  assignee endpoint and field creation (without Administer Jira) answer 403;
- select lists (`add_field(kind="select", options=...)`): editmeta lists their options as
  `allowedValues`, and a value that is not one is refused with 400 "Option value 'X' is not
  valid";
- credentials: any Basic (Cloud) / Bearer (Data Center) header by default; with `api_tokens`
  (e-mail -> token) or `pats` set, anything else answers 401 as Jira does;
- rate limits (off unless `rate_limit` is set, requests a minute of the emulator clock): Cloud
  answers carry `X-RateLimit-NearLimit: true` under 20% left (the full set with a 429, when
  `enforce_rate_limit`), Data Center ones `X-RateLimit-Limit/-Remaining/...` every time;
  `spend_rate_limit(n)` stands for other clients' requests.

Fault injection (`fail`, `timeout_after_landing`, `timeout_before_landing`, `before`,
`conflict`): a given answer for the next N requests matching a predicate (any status, headers
and body, a Retry-After in seconds or as an HTTP date), "apply the write then raise
`EmulatedTimeout`" (the binding turns it into a read timeout), "lose the request, then time out",
and "run a person's edit just before the next matching request lands".

Modules: `site` (the state, what people do in the UI, the JSON Jira shows of it), `api` (faults,
`handle`, routing, read endpoints), `writes` (edit, comment, create field), `filters` (saved
filters, permissions), `access` (credentials, rate-limit headers), `jql` (the JQL subset),
`wire` (constants, records, JSON helpers).
"""

from emulators.http import EmulatedTimeout
from emulators.jira.api import JiraEmulator
from emulators.jira.wire import SCREEN_ERROR, Call, Fault, Issue, adf_text, is_adf

__all__ = [
    "SCREEN_ERROR",
    "Call",
    "EmulatedTimeout",
    "Fault",
    "Issue",
    "JiraEmulator",
    "adf_text",
    "is_adf",
]
