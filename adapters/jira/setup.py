"""`escalate setup` on Jira: what it would create (read-only), then exactly that.

- Each missing tracking field: a single-line text field (`textfield`, searched with
  `textsearcher`), `count` a number (`float`, `numberrange`); a missing group field: text
  holding the team's name (`fields.create_body`, `fields.group_body`).
- Each missing policy field, unless left out: a number field where the policy writes only
  numbers, else text (`fields.policy_body`).
- Jira's API puts a new field on no screen: each must then be added to the Edit screen of
  each project (`fields.CREATED` says so).
- The "Escalated tickets" filter (`queue`), its JQL built from the fields as they will be.
- An existing tracking field is adopted as it is, after one search for an issue that holds a
  value in it the connector did not write: `cf[<n>] is not EMPTY AND cf[<state>] is EMPTY` (no
  connector `state` on the issue), and for `state` itself, values not in the connector's
  format among the first 50 issues that have one. Another tool may own such a field.

Every field is created with `POST /rest/api/{2,3}/field` (`{name, description, type,
searcherKey}`, the searcher the type documents); a create whose answer was lost is looked up by
name, never sent twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.errors import AdapterError, AuthError, MaybeLanded, PermissionDenied
from adapters.jira import queue, search
from adapters.jira.fields import (
    SCREENS,
    Field,
    create_body,
    group_body,
    planned,
    policy_body,
    text_of,
    type_name,
)
from adapters.jira.jql import quoted
from adapters.jira.lookups import Lookups
from adapters.results import FieldStatus, Queue
from adapters.setup import (
    CHECKED,
    Adoption,
    Done,
    Plan,
    Request,
    Step,
    needed_by,
    ours,
    role,
    send_steps,
    unfixable,
)
from rules.fielduse import value_kind

Json = dict[str, Any]
CUSTOM = "customfield_"
SAMPLE = 50  # issues whose `state` is looked at, when the state field itself is checked


def plan(look: Lookups, *, policy_fields: bool = True, whole: bool = True) -> Plan:
    """What setup would send, and what it finds; sends nothing but reads and searches.
    `whole=False`: the fields only, without checking what the existing ones hold."""
    out = Plan(look.instance, "jira")
    statuses, _ = look.resolve(look.catalog())
    made: dict[str, Field] = {}
    for status in statuses:
        body = _create_body(look, status, policy_fields)
        if body is not None:
            out.steps.append(_field_step(look, status, body))
            made[status.title] = planned(body)
        elif status.problem == "missing" and status.kind == "policy":
            out.skipped.append((status, needed_by(look.policy, status.name)))
        elif status.problem:
            out.problems.append(unfixable(look.policy, look.instance, status))
        else:
            out.adopted.append(Adoption(status))
    if whole:
        state = next((a.status.id for a in out.adopted if a.status.name == "state"), None)
        out.adopted = [Adoption(a.status, _in_use(look, a.status, state)) for a in out.adopted]
        _queue_step(look, out, made)
    return out


def _create_body(look: Lookups, status: FieldStatus, policy_fields: bool) -> Json | None:
    if status.problem != "missing" or not status.title:
        return None
    if status.kind == "tracking":
        return create_body(status.name, status.title)
    if status.kind == "group":
        return group_body(status.title)
    if not policy_fields:
        return None
    kind = value_kind(look.policy, status.name)
    return policy_body(status.name, kind, needed_by(look.policy, status.name))


def _field_step(look: Lookups, status: FieldStatus, body: Json) -> Step:
    request = Request("POST", f"{look.client.api}/field", body)
    return Step(
        "field", status.title, role(look.policy, status), type_name(body), request, status.name
    )


def _in_use(look: Lookups, status: FieldStatus, state: str | None) -> str:
    """Where an existing tracking field holds a value the connector did not write: on an
    issue without the connector's `state` (`state`: that field's id, when it exists), or, for
    `state` itself, a value not in the connector's format ("" when nowhere)."""
    fid = str(status.id or "")
    if status.kind != "tracking" or status.name not in CHECKED or not fid.startswith(CUSTOM):
        return ""
    jql = f"{clause(fid)} is not EMPTY"
    if state is not None and state != fid:
        jql += f" AND {clause(state)} is EMPTY"
    try:
        size = SAMPLE if fid == state else 1
        page = next(search.search(look.client, jql, ["key", fid], size), [])
    except AuthError:
        raise
    except AdapterError as exc:
        return f"could not check whether issues hold values in it: {exc}"
    if fid == state:
        page = [i for i in page if not ours(text_of((i.get("fields") or {}).get(fid)))]
    if not page:
        return ""
    return f"issue {page[0].get('key')} (and maybe more) holds a value the connector did not write"


def clause(fid: str) -> str:
    """A custom field in JQL by id: `cf[10050]`."""
    return f"cf[{fid.removeprefix(CUSTOM)}]"


def _queue_step(look: Lookups, out: Plan, made: Mapping[str, Field]) -> None:
    try:
        shows = queue.jql(look, made)
        found = queue.find(look)
        if found is not None:
            out.queue = queue.found(look, found, shows)
            return
        body = queue.filter_body(look, shows)
    except AuthError:
        raise
    except AdapterError as exc:
        out.queue = Queue("filter", queue.TITLE, None, problem=str(exc))
        out.problems.append(f"filter {queue.TITLE!r}: {exc}")
        return
    out.queue = Queue("filter", queue.TITLE, None, definition=shows)
    request = Request("POST", f"{look.client.api}/filter", body)
    named = tuple(t for t in made if quoted(t) in shows)
    out.steps.append(Step("filter", queue.TITLE, "escalation queue", shows, request, needs=named))


def apply(look: Lookups, plan: Plan) -> list[Done]:
    """Send the plan's requests, exactly and in order; what became of each."""

    def send(step: Step, made: Mapping[str, Any]) -> Done:
        return _make_field(look, step) if step.what == "field" else _make_filter(look, step)

    return send_steps(plan, send)


def _make_field(look: Lookups, step: Step) -> Done:
    sent = step.request
    try:
        made = look.client.post(sent.path, sent.body, may_repeat=False)
    except MaybeLanded as exc:
        found, _ = look.refresh_catalog().lookup(step.title)
        if found is None:
            return Done(step, None, sent, problem=str(exc))
    except AuthError:
        raise
    except PermissionDenied:
        problem = (
            f"{sent.method} {sent.path} answered 403: only Jira administrators may create"
            " fields. Fix: run `escalate setup` with an administrator's account, or create it"
            f" by hand (a {step.summary} field, Settings → Work items → Fields)"
        )
        return Done(step, None, sent, problem=problem)
    except AdapterError as exc:
        return Done(step, None, sent, problem=str(exc))
    else:
        found = Field.from_json(made)
        look.catalog().add(found)
    return Done(step, found.id, sent, note=SCREENS)


def _make_filter(look: Lookups, step: Step) -> Done:
    made = queue.send(look, step.request.body)
    if not made.created:
        return Done(step, None, step.request, problem=made.problem)
    return Done(step, made.id, step.request, note=made.problem, url=made.url)


def create_fields(look: Lookups) -> list[FieldStatus]:
    """`Adapter.fields(create=True)`: the missing tracking (and group) fields, then resolve."""
    done = apply(look, plan(look, policy_fields=False, whole=False))
    return look.fields(created=[d.step.title for d in done if d.id])
