"""A stateful Zendesk Support API, in process: tickets, fields, users, groups, comments, audits,
metric sets, update_many jobs and OAuth tokens, answering like the real API (shapes from the
published OpenAPI document and the API reference), with faults on demand.

    zd = ZendeskEmulator(clock=fake.clock)
    tid = zd.add_ticket(subject="Printer on fire", priority="urgent", group="Support L1")
    status, headers, body = zd.handle(Request("GET", "/api/v2/tickets/1.json", headers=auth))

What it enforces, as Zendesk does: authentication (API token, OAuth bearer, client-credentials
tokens that expire), `safe_update` (409 UpdateConflict when `updated_stamp` is not the ticket's
`updated_at`; any `safe_update` value, `false` included, counts as on), `tags` replacing the
tag list, `additional_tags`/`remove_tags` editing it in `update_many` items but silently ignored
on a single update (documented for update_many only; unknown attributes get a 200), one
comment per update with `public` defaulting to true, 422 RecordInvalid naming the custom field,
404 RecordNotFound, at most 100 tickets per `update_many` job and per `show_many`, 1,000 per
search export page, `type:` refused in the export query, and the plain search's 1,000-result cap.
`updated_at` has one-second resolution and always moves forward on a change, so `safe_update`
works with a frozen test clock.

Jobs: an `update_many` job is applied when submitted and reports "completed" from its
`job_polls`-th poll on (default 1); `job_statuses/{id}` and `job_statuses/show_many?ids=` (ids
it does not know are left out) each count as one poll of every job they name.

Roles (`roles`): end users may call only `users/me` and `ticket_fields` (403 `Forbidden`
elsewhere), creating a ticket field needs an admin (or a custom role that may manage ticket
fields), updating tickets is refused to light agents and to custom roles without
`ticket_editing` (an assumption: the reference does not say how); `GET /custom_roles` lists the
roles made with `roles.add_custom_role` and given with `roles.assign_role`.

Drop-downs (`add_field(title, "tagger" | "multiselect", options=["Name", "Name=tag"])`) list
`custom_field_options`; an update that sets a value which is not one of their tags answers 200
and leaves the field as it was, as Zendesk is reported to (node-zendesk#132, zenpy#420).

Also: views (list; create validated as Create View documents it, 403 for a shared view made by
a non-admin), `users/search?query=email:<address>` (exact), and the rate-limit headers of every
answer (`X-Rate-Limit`/`X-Rate-Limit-Remaining` and `ratelimit-*`): `rate_limit` requests a
minute (default 700), counted over the last 60 s of the emulator clock; `spend_rate_limit(n)`
stands for other clients' requests; `enforce_rate_limit = True` answers 429 past the limit.

Faults: `strip_sideloads = True` answers `show_many` without the metric sets asked for (a proxy or
plan that strips sideloads); `fail(method, path_regex, status, times, headers, body, when,
after_landing)` answers a status (with `after_landing`, after applying the request: a gateway error
on a write that went in); `timeout_after_landing(method, path_regex)` applies the request and then
raises `EmulatedTimeout` (the `responses` binding turns it into `requests.ReadTimeout`; an HTTP
server should drop the connection), `timeout_before_landing` raises it without applying;
`before_write(ticket_id, fn)` runs `fn` just before the next write to that ticket lands (a human
edit racing the connector).

Modules: `account` (the state, and applying one ticket update), `updates` (the rules of one
update: ignored keys, tags, comment, audit events, refusals), `search` (export and plain
search), `views`, `roles` (who may call what), `api` (sign-in, routing, jobs, faults, rate
limit), `wire` (answers, errors, pagination).
"""

from emulators.http import EmulatedTimeout
from emulators.zendesk.account import CONTRACT_FIELDS, Account
from emulators.zendesk.api import Fault, ZendeskEmulator

__all__ = ["CONTRACT_FIELDS", "Account", "EmulatedTimeout", "Fault", "ZendeskEmulator"]
