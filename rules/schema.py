"""The policy file's schema: pydantic models that validate the YAML's shape.

Cross-references (a rule naming an unknown level, template or calendar) are checked in
`rules.policy` when the validated model is compiled; both report errors with the key path.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from rules.basics import Model, Name, NameList, StrList, _listify, _scalar_text
from rules.channels import NotifyModel
from rules.platforms import PlatformName
from rules.tracking import TRACKING_FIELDS
from rules.units import parse_duration, parse_percent

Duration = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=str | float)]
Percent = Annotated[float, BeforeValidator(parse_percent, json_schema_input_type=str | float)]
TimeMode = Literal["business", "calendar"]
Target = Literal["first_response", "next_response", "resolution"]


def _given(value: object, what: str) -> object:
    """A key given with no value (`status:` or `status: null`) is a mistake, not "no trigger"."""
    if value is None:
        raise ValueError(f"expected a value for {what}, got null (give one or leave the key out)")
    return value


# --- calendars -------------------------------------------------------------------------------


class HolidaysModel(Model):
    country: str | None = None
    subdivision: str | None = None
    dates: list[date] = []
    names: dict[date, str] = {}


class CalendarModel(Model):
    timezone: str
    hours: dict[str, Annotated[list[str], BeforeValidator(_listify)]]
    holidays: HolidaysModel = HolidaysModel()


# --- conditions (triggers and guards) ----------------------------------------------------------


class MatchSpec(Model):
    """How one value is compared: eq, in, regex or empty (exactly one)."""

    eq: str | None = None
    in_: StrList | None = Field(default=None, alias="in")
    regex: str | None = None
    empty: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: object) -> object:
        if isinstance(value, str | int | float):
            return {"eq": _scalar_text(value)}
        if isinstance(value, list):
            return {"in": value}
        if isinstance(value, dict) and "eq" in value:
            return {**value, "eq": _scalar_text(value["eq"])}
        return value

    @model_validator(mode="after")
    def _one(self) -> MatchSpec:
        chosen = [k for k in ("eq", "in_", "regex", "empty") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("expected exactly one of eq, in, regex or empty")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.regex!r}: {exc}") from None
        return self


class RankSpec(Model):
    """A comparison on an ordered scale (priorities or levels)."""

    in_: StrList | None = Field(default=None, alias="in")
    at_least: str | None = None
    at_most: str | None = None
    below: str | None = None
    above: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: object) -> object:
        if isinstance(value, str | list):
            return {"in": value}
        return value

    @model_validator(mode="after")
    def _some(self) -> RankSpec:
        if all(getattr(self, k) is None for k in ("in_", "at_least", "at_most", "below", "above")):
            raise ValueError("expected one of in, at_least, at_most, below or above")
        return self


class CountSpec(Model):
    at_least: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: object) -> object:
        return (
            {"at_least": value} if isinstance(value, int) and not isinstance(value, bool) else value
        )


class ClockSpec(Model):
    """Options shared by the time-based triggers."""

    over: Duration
    time: TimeMode | None = None
    calendar: str | None = None


class InStatusSpec(ClockSpec):
    status: StrList | None = None


class SlaSpec(Model):
    target: Target | Literal["any"] = "any"
    used: Percent | None = None
    remaining: Duration | None = None
    breached: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> SlaSpec:
        chosen = [k for k in ("used", "remaining", "breached") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("expected exactly one of used, remaining or breached")
        return self


class CustomerRequestSpec(Model):
    field: str | None = None
    phrases: StrList = []

    @model_validator(mode="after")
    def _some(self) -> CustomerRequestSpec:
        if not self.field and not self.phrases:
            raise ValueError("expected a field, phrases, or both")
        return self


class Condition(Model):
    """A trigger or guard. Several keys in one mapping must all hold."""

    all: list[Condition] | None = Field(default=None, min_length=1)
    any: list[Condition] | None = Field(default=None, min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    sla: SlaSpec | None = None
    age: ClockSpec | None = None
    idle: ClockSpec | None = None
    in_status: InStatusSpec | None = None
    unacknowledged: ClockSpec | None = None
    at_level: ClockSpec | None = None
    status: StrList | None = None
    priority: RankSpec | None = None
    level: RankSpec | None = None
    type: MatchSpec | None = None
    group: MatchSpec | None = None
    assignee: MatchSpec | None = None
    component: MatchSpec | None = None
    label: MatchSpec | None = Field(default=None, validation_alias=AliasChoices("label", "tag"))
    organization: MatchSpec | None = None
    organization_tag: StrList | None = None
    requester_domain: StrList | None = None
    custom: dict[str, MatchSpec] | None = None
    customer_replies: CountSpec | None = None
    reopens: CountSpec | None = None
    requested: bool | str | None = None
    approved: bool | None = None
    awaiting_approval: bool | None = None
    customer_request: CustomerRequestSpec | None = None
    assigned: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _given(value, "a trigger")

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("expected at least one trigger, or all/any/not")
        return self


# --- owners, levels, the matrix ----------------------------------------------------------------


class OwnerBase(Model):
    group: str | None = None
    assignee: str | None = None


class Owner(OwnerBase):
    """Who owns a ticket at a level; `instances` overrides it per connected instance."""

    instances: dict[str, OwnerBase] = {}


class ApprovalTimeoutModel(Model):
    """What happens when no one approves within `after` (calendar time from the request)."""

    after: Duration
    then: Literal["enter", "notify"] = "notify"


class ApprovalModel(Model):
    approvers: NameList = []
    groups: NameList = []
    #: Anyone the platform records may approve (must be said: an empty list is a mistake).
    anyone: bool = False
    notify: StrList = []
    remind_every: Duration | None = None
    timeout: ApprovalTimeoutModel | None = None

    @model_validator(mode="after")
    def _positive(self) -> ApprovalModel:
        if not (self.approvers or self.groups or self.anyone):
            raise ValueError(
                "an approval needs `approvers`, `groups`, or `anyone: true` (anyone who can edit"
                " the ticket approves); an empty list is not taken to mean anyone"
            )
        if self.remind_every is not None and self.remind_every <= 0:
            raise ValueError("remind_every must be longer than 0")
        if self.timeout is not None and self.timeout.after <= 0:
            raise ValueError("timeout.after must be longer than 0")
        return self


class LevelModel(Model):
    #: At most 40 characters: a pending level's name is kept in the 255-character state field.
    name: Annotated[Name, Field(max_length=40)]
    description: str = ""
    owner: Owner | None = None
    approval: ApprovalModel | None = None
    notify: StrList = []
    priority_at_least: str | None = None


class FunctionModel(Model):
    description: str = ""
    match: Condition


# --- rules and actions -------------------------------------------------------------------------


class PrioritySpec(Model):
    set: str | None = None
    raise_: int | None = Field(default=None, alias="raise", ge=1)
    at_least: str | None = None

    @model_validator(mode="after")
    def _one(self) -> PrioritySpec:
        if sum(getattr(self, k) is not None for k in ("set", "raise_", "at_least")) != 1:
            raise ValueError("expected exactly one of set, raise or at_least")
        return self


class ActionsModel(Model):
    escalate: str | None = None
    de_escalate: str | None = None
    assign: Owner | None = None
    priority: PrioritySpec | None = None
    add_tags: StrList = []
    remove_tags: StrList = []
    set_fields: dict[str, Any] = {}
    note: str | None = None
    reply: str | None = None
    notify: StrList = []
    record_outcome: bool = False

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _given(value, "an action")

    @model_validator(mode="after")
    def _some(self) -> ActionsModel:
        if not self.model_fields_set:
            raise ValueError("expected at least one action")
        return self


class RepeatModel(Model):
    per: Literal["cycle", "level"] = "cycle"
    every: Duration | None = None
    max: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _every(self) -> RepeatModel:
        if self.max > 1 and self.every is None:
            raise ValueError("a rule that repeats (max > 1) needs every: the time between firings")
        return self


class RuleModel(Model):
    name: Name
    description: str = ""
    enabled: bool = True
    when: Condition
    unless: Condition | None = None
    repeat: RepeatModel = RepeatModel()
    then: ActionsModel


# --- SLA ---------------------------------------------------------------------------------------


class TargetModel(Model):
    within: Duration
    time: TimeMode | None = None
    calendar: str | None = None
    pausable: bool = True

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: object) -> object:
        return {"within": value} if isinstance(value, str | int | float) else value


class SlaModel(Model):
    name: Name
    match: Condition | None = None
    calendar: str | None = None
    time: TimeMode | None = None
    pause: StrList = ["pending", "hold"]
    targets: dict[Target, TargetModel]


# --- platforms and the whole policy ------------------------------------------------------------


class PlatformModel(Model):
    fields: dict[str, str] = {}
    priorities: dict[str, str] = {}
    statuses: dict[str, Literal["new", "open", "pending", "hold", "solved", "closed"]] = {}

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key not in TRACKING_FIELDS:
                raise ValueError(
                    f"unknown tracking field {key!r} (expected one of {', '.join(TRACKING_FIELDS)})"
                )
        return value


class DefaultsModel(Model):
    calendar: str = "24x7"
    time: TimeMode = "business"
    own_write_grace: Duration = 300.0


class PolicyModel(Model):
    version: Literal[1] = 1
    priorities: StrList = ["P1", "P2", "P3", "P4"]
    defaults: DefaultsModel = DefaultsModel()
    calendars: dict[Name, CalendarModel] = {}
    sla: list[SlaModel] = []
    levels: list[LevelModel]
    functions: dict[Name, FunctionModel] = {}
    matrix: dict[str, dict[str, Owner]] = {}
    rules: list[RuleModel] = []
    templates: dict[Name, str] = {}
    notify: NotifyModel = NotifyModel()
    platforms: dict[PlatformName, PlatformModel] = {}
    instances: dict[str, Any] = {}
    run: dict[str, Any] = {}  # the connector's settings, checked by connector/config.py
    state: dict[str, Any] = {}  # where state is kept, checked by connector/config.py
    serve: dict[str, Any] = {}  # `escalate serve`, checked by connector/config.py

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[LevelModel]) -> list[LevelModel]:
        if not value:
            raise ValueError("expected at least one level")
        return value
