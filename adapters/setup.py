"""What `escalate setup` sends, as data, so that what it shows is what it sends.

An adapter's `setup_plan()` reads the instance (nothing is written) and returns a `Plan`: the
fields it found and would adopt as they are, with any sign that another tool already fills
them; and the `Step`s to take, each holding the exact request it will send. `setup_apply(plan)`
then sends exactly those requests, in order. The only thing not known before sending is the id
of a field the plan creates: a later request that needs it (a Zendesk view's conditions) holds
the placeholder `pending_id(title)`, shown as such in the preview and replaced by `fill` with
the id the platform gave the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.results import FieldStatus, Queue
from rules.fielduse import names, users_of
from rules.policy import Policy
from rules.tracking import State

Json = dict[str, Any]
#: The tracking fields only the connector should fill: values in one of them on a ticket that
#: does not carry the connector's `state` suggest that another tool owns the field. (Agents
#: fill `request` and `approved_by` by design: those are not checked.)
CHECKED = ("level", "escalated_at", "rule", "count", "sla_due", "state", "outcome")


def ours(state: object) -> bool:
    """Whether `state` (a `state` field's value) is one the connector wrote."""
    parsed = State.parse(str(state)) if state not in (None, "") else None
    return parsed is not None and not parsed.corrupt and parsed.written_at is not None


def needed_by(policy: Policy, field: str) -> str:
    """The parts of the policy that need `field`: they are off while it is missing."""
    return names(users_of(policy, field)) or "no enabled rule"


def role(policy: Policy, status: FieldStatus) -> str:
    """What a field is for, as setup shows it."""
    if status.kind == "policy":
        return f"policy field, read by {needed_by(policy, status.name)}"
    if status.kind == "group":
        return "group field (the owning team)"
    return f"tracking field {status.name}"


def unfixable(policy: Policy, instance: str, status: FieldStatus) -> str:
    """An unusable field that setup cannot fix, and (a policy field) what stays off."""
    what = f"{role(policy, status)} {status.title!r}" if status.title else role(policy, status)
    text = f"{what}: {status.problem}"
    if status.kind == "policy":
        text += f"; until it is fixed, off on {instance}: {needed_by(policy, status.name)}"
    return text


def pending_id(title: str) -> str:
    """The placeholder for the id of the field `title`, which the plan creates first."""
    return f"<id of {title}>"


def fill(value: Any, ids: Mapping[str, Any]) -> Any:
    """`value` with each placeholder of a created field replaced by its id: a string that is
    exactly a placeholder becomes the id itself (a number on Zendesk), one that contains it
    gets the id's text."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, str):
        for title, made in ids.items():
            token = pending_id(title)
            if value == token:
                return made
            value = value.replace(token, str(made))
    return value


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Json

    def show(self) -> str:
        return f"{self.method} {self.path} {json.dumps(self.body, ensure_ascii=False)}"


@dataclass(frozen=True)
class Step:
    """One thing setup creates, and the request that creates it."""

    what: str  # "field", "filter" or "view"
    title: str
    role: str  # "tracking field level", "policy field read by rule 'x'", "escalation queue"
    summary: str  # the field's type, the filter's JQL, the view's conditions
    request: Request
    name: str = ""  # a field's logical name (tracking) or policy field name
    #: Titles of fields the plan creates that this request names: it is not sent unless they
    #: were made (their ids fill its placeholders).
    needs: tuple[str, ...] = ()


def blocked(step: Step, made: Mapping[str, Any]) -> str:
    """Why `step` cannot be sent ("" when it can): a field it needs was not created."""
    lost = [t for t in step.needs if t not in made]
    if not lost:
        return ""
    return "not sent: it needs " + ", ".join(f"field {t!r}" for t in lost) + ", not created"


def send_steps(
    plan: Plan, send: Callable[[Step, Mapping[str, Any]], Done], ids: Callable[[str], Any] = str
) -> list[Done]:
    """Send a plan's requests, exactly and in order, each once the fields it needs were made:
    `send(step, made)` with the ids made so far (field title -> `ids(id)`, the platform's id
    type); what became of each."""
    done: list[Done] = []
    made: dict[str, Any] = {}
    for step in plan.steps:
        if why := blocked(step, made):
            done.append(Done(step, None, problem=why))
            continue
        result = send(step, made)
        if result.id is not None and step.what == "field":
            made[step.title] = ids(result.id)
        done.append(result)
    return done


@dataclass(frozen=True)
class Adoption:
    """An existing field setup maps as it is (it never changes it)."""

    status: FieldStatus
    #: "" when no ticket holds a value in it, else where values were found: another tool may
    #: own the field, and the connector would read its values as its own.
    in_use: str = ""


@dataclass
class Plan:
    instance: str
    platform: str
    steps: list[Step] = field(default_factory=list)
    adopted: list[Adoption] = field(default_factory=list)
    #: Policy fields left uncreated on request, each with the parts of the policy it turns off.
    skipped: list[tuple[FieldStatus, str]] = field(default_factory=list)
    #: What setup cannot fix, one sentence each with the fix.
    problems: list[str] = field(default_factory=list)
    #: The queue as found (`id` None: a step creates it, unless `problem` says why not).
    queue: Queue | None = None

    @property
    def in_use(self) -> list[Adoption]:
        return [a for a in self.adopted if a.in_use]


@dataclass(frozen=True)
class Done:
    """What became of one step: the id made, the request as sent, or why it was not."""

    step: Step
    id: str | None
    sent: Request | None = None
    problem: str = ""
    note: str = ""  # e.g. Jira: add the new field to the edit screens
    url: str | None = None
