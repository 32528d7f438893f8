"""`escalate setup` on Zendesk: what it would create (read-only), then exactly that.

- Each missing tracking field, and each missing policy field unless left out, with
  `POST /api/v2/ticket_fields` (types: `fields.create_body`, `fields.policy_body`); an answer
  lost to a timeout or a 5xx: the fields are listed again, the field never created twice.
- The "Escalated tickets" view (`queue.view_body`), whose conditions name the level and
  SLA-due fields by id: the id of a field made in the same run is a placeholder in the
  preview (`adapters.setup.pending_id`), filled in once Zendesk has answered.
- An existing tracking field is adopted as it is, after a look at the 100 most recently updated
  tickets (one search, `sort_by=updated_at`): a value in it on one of them that does not carry
  the connector's `state` (for `state` itself: a value not in the connector's format) means
  another tool may own it. Zendesk's search documents no query for "this field has any value"
  (`custom_field_<id>:<value>` takes a value), so older tickets are not looked at.

Creating fields and views needs an admin: an agent's 403 is reported with the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.errors import AdapterError, AuthError, MaybeLanded, PermissionDenied
from adapters.results import FieldStatus, Queue
from adapters.setup import (
    CHECKED,
    Adoption,
    Done,
    Plan,
    Request,
    Step,
    fill,
    needed_by,
    ours,
    pending_id,
    role,
    send_steps,
    unfixable,
)
from adapters.zendesk import queue
from adapters.zendesk.fields import create_body, policy_body, resolve
from adapters.zendesk.lookups import Lookups
from adapters.zendesk.mapping import as_int
from rules.fielduse import value_kind

Json = dict[str, Any]
FIELDS = "/api/v2/ticket_fields"


def plan(look: Lookups, *, policy_fields: bool = True, whole: bool = True) -> Plan:
    """What setup would send, and what it finds; sends nothing. `whole=False`: the fields
    only, without looking at what the existing ones hold."""
    out = Plan(look.instance, "zendesk")
    statuses, _ = resolve(look.client.ticket_fields(), look.titles, look.custom)
    ids: dict[str, int | str] = {
        s.name: fid
        for s in statuses
        if s.kind == "tracking" and not s.problem and (fid := as_int(s.id)) is not None
    }
    for status in statuses:
        body = _create_body(look, status, policy_fields)
        if body is not None:
            out.steps.append(_field_step(look, status, body))
            if status.kind == "tracking":
                ids[status.name] = pending_id(status.title)
        elif status.problem == "missing" and status.kind == "policy":
            out.skipped.append((status, needed_by(look.policy, status.name)))
        elif status.problem:
            out.problems.append(unfixable(look.policy, look.instance, status))
        else:
            out.adopted.append(Adoption(status))
    if whole:
        out.adopted = _in_use(look, out.adopted)
        _queue_step(look, out, ids)
    return out


def _create_body(look: Lookups, status: FieldStatus, policy_fields: bool) -> Json | None:
    if status.problem != "missing" or not status.title:
        return None
    if status.kind == "tracking":
        return create_body(status.name, status.title)
    if not policy_fields:
        return None
    kind = value_kind(look.policy, status.name)
    return policy_body(status.name, kind, needed_by(look.policy, status.name))


def _field_step(look: Lookups, status: FieldStatus, body: Json) -> Step:
    kind = str(body["ticket_field"]["type"])
    request = Request("POST", FIELDS, body)
    return Step("field", status.title, role(look.policy, status), kind, request, status.name)


def _in_use(look: Lookups, adopted: list[Adoption]) -> list[Adoption]:
    """Each adopted tracking field with the recent tickets where it holds a value the
    connector did not write: the ticket carries no connector `state` (for `state` itself: a
    value not in the connector's format)."""
    checked = {
        str(a.status.id): a.status.name
        for a in adopted
        if a.status.kind == "tracking" and a.status.name in CHECKED
    }
    if not checked:
        return adopted
    try:
        tickets = look.client.recent_tickets()
    except AuthError:
        raise
    except AdapterError as exc:
        why = f"could not check whether tickets hold values in it: {exc}"
        return [Adoption(a.status, why) if str(a.status.id) in checked else a for a in adopted]
    state = next((fid for fid, name in checked.items() if name == "state"), None)
    holding: dict[str, list[str]] = {}
    for ticket in tickets:
        values = {str(c.get("id")): c.get("value") for c in ticket.get("custom_fields") or []}
        if state is not None and ours(values.get(state)):
            continue
        for fid in checked:
            if values.get(fid) not in (None, "", False, []):
                holding.setdefault(fid, []).append(f"#{ticket.get('id')}")
    return [
        Adoption(a.status, _holding(holding[str(a.status.id)], len(tickets)))
        if str(a.status.id) in holding
        else a
        for a in adopted
    ]


def _holding(where: list[str], looked: int) -> str:
    return (
        f"{len(where)} of the {looked} most recently updated tickets hold a value in it the"
        f" connector did not write (e.g. {', '.join(where[:3])})"
    )


def _queue_step(look: Lookups, out: Plan, ids: Mapping[str, int | str]) -> None:
    first = look.policy.levels[0].name
    shows = queue.definition(look.titles, first)
    try:
        view = queue.find(look)
    except AuthError:
        raise
    except AdapterError as exc:
        problem = queue.problem_for("GET", exc, shows)
        out.queue = Queue("view", queue.TITLE, None, definition=shows, problem=problem)
        out.problems.append(f"view {queue.TITLE!r}: {problem}")
        return
    if view is not None:
        out.queue = queue.found(look, view)
        return
    level = ids.get("level")
    if level is None:
        problem = f"it waits for the tracking field {look.titles.get('level', 'level')!r}"
        out.queue = Queue("view", queue.TITLE, None, definition=shows, problem=problem)
        out.problems.append(f"view {queue.TITLE!r}: {problem}")
        return
    body = queue.view_body(level, first, ids.get("sla_due"))
    needs = tuple(look.titles[n] for n in ("level", "sla_due") if isinstance(ids.get(n), str))
    out.queue = Queue("view", queue.TITLE, None, definition=shows)
    request = Request("POST", "/api/v2/views", body)
    out.steps.append(Step("view", queue.TITLE, "escalation queue", shows, request, needs=needs))


def apply(look: Lookups, plan: Plan) -> list[Done]:
    """Send the plan's requests, exactly and in order (created ids fill the placeholders)."""

    def send(step: Step, made: Mapping[str, Any]) -> Done:
        sent = Request(step.request.method, step.request.path, fill(step.request.body, made))
        make = _make_field if step.what == "field" else _make_view
        return make(look, step, sent)

    try:
        return send_steps(plan, send, int)
    finally:
        look.forget_catalog()  # what was created (or may have been) is read back


def _make_field(look: Lookups, step: Step, sent: Request) -> Done:
    try:
        answer = look.client.post(sent.path, sent.body)
        fid = as_int((answer.get("ticket_field") or {}).get("id"))
    except MaybeLanded as exc:
        fid = _listed(look, step.title)
        if fid is None:
            return Done(step, None, sent, problem=str(exc))
    except AuthError:
        raise
    except PermissionDenied as exc:  # its message names the role the account lacks
        by_hand = f" Or create it by hand (a {step.summary} field, Admin Center > Objects and"
        return Done(step, None, sent, problem=f"{exc}{by_hand} rules > Fields).")
    except AdapterError as exc:
        return Done(step, None, sent, problem=str(exc))
    if fid is None:
        return Done(step, None, sent, problem="Zendesk answered without the field's id")
    return Done(step, str(fid), sent)


def _listed(look: Lookups, title: str) -> int | None:
    found = [f for f in look.client.ticket_fields() if f.get("title") == title]
    return as_int(found[0].get("id")) if len(found) == 1 else None


def _make_view(look: Lookups, step: Step, sent: Request) -> Done:
    try:
        answer = look.client.post(sent.path, sent.body)
        view = answer.get("view") or {}
    except MaybeLanded as exc:
        again = queue.find(look)
        if again is None:
            return Done(step, None, sent, problem=str(exc))
        view = again
    except AuthError:
        raise
    except AdapterError as exc:
        return Done(step, None, sent, problem=queue.problem_for("POST", exc, step.summary))
    made = queue.found(look, view)
    return Done(step, made.id, sent, url=made.url)


def create_fields(look: Lookups) -> list[FieldStatus]:
    """`Adapter.fields(create=True)`: the missing tracking fields, then resolve."""
    done = apply(look, plan(look, policy_fields=False, whole=False))
    return look.fields(created=[d.step.title for d in done if d.id])
