"""The compiled policy: what `load_policy` returns and `evaluate` runs.

Loading validates the YAML's shape (rules.schema), then compiles it here, checking every
cross-reference (levels, calendars, templates, priorities, functions) with the key path and
line. Nothing here does I/O: the caller reads the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.channels import ChannelModel
from rules.clock import AlwaysOn, BusinessCalendar, Calendar, HolidaySource
from rules.conditions import Scope, compile_condition
from rules.facts import Facts, TargetStatus
from rules.gates import Gates
from rules.loader import Located, Path, Problems, load_yaml, unknown_name, validate
from rules.platforms import DEFAULT_PRIORITIES
from rules.schema import (
    ActionsModel,
    CalendarModel,
    Condition,
    DefaultsModel,
    LevelModel,
    Owner,
    PlatformModel,
    PolicyModel,
    RuleModel,
)
from rules.templates import Templates
from rules.tracking import rule_key
from rules.triggers import Node
from rules.units import parse_clock, parse_days

DEFAULT_PLATFORMS = {name: PlatformModel(priorities=p) for name, p in DEFAULT_PRIORITIES.items()}


@dataclass(frozen=True, slots=True)
class TargetSpec:
    name: str
    goal: float
    calendar: Calendar
    pausable: bool
    pause: frozenset[str]

    def window(self, f: Facts) -> tuple[float, float, bool] | None:
        """When the target's clock started and stops (f.now if it runs), and whether it is
        fulfilled; None if it has not started (next response)."""
        t = f.ticket
        end = f.now_ts
        fulfilled = False
        if self.name == "first_response":
            start = t.created_at.timestamp()
            if t.first_response_at is not None:
                end, fulfilled = min(end, t.first_response_at.timestamp()), True
        elif self.name == "next_response":
            if t.awaiting_reply_since is None:
                return None
            start = t.awaiting_reply_since.timestamp()
        else:
            start = t.created_at.timestamp()
            if t.status_category.done:
                end, fulfilled = min(end, f.status_since_ts), True
        return start, end, fulfilled

    def measure(self, f: Facts, sla: SlaPolicy) -> TargetStatus | None:
        """The target's clock at f.now, or None if it has not started (next response)."""
        window = self.window(f)
        if window is None:
            return None
        start, end, fulfilled = window
        paused_spans = f.spans_where(self.pause) if self.pausable else ()
        used = self.calendar.elapsed_ts(start, end, paused_spans)
        # Paused while the status is a pausing one now (not merely until now: at the very
        # instant a pause ends, which a backtest evaluates, the clock runs again).
        _, raw, category = f.timeline[-1]  # the same timeline the pause spans come from
        now_pausing = category in self.pause or raw.lower() in self.pause  # StrEnum: its value
        paused = self.pausable and now_pausing and not fulfilled
        return TargetStatus(
            self.name,
            sla.name,
            self.calendar,
            self.goal,
            used,
            start,
            fulfilled,
            paused,
            paused_spans,
        )


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    name: str
    match: Node | None
    calendar: Calendar
    targets: dict[str, TargetSpec]


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    index: int
    model: LevelModel


@lru_cache(maxsize=4096)
def _key(name: str, level: str | None) -> str:
    """`rule_key`, hashed once per rule and level (a sweep asks for it per matching ticket)."""
    return rule_key(name, level)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    index: int
    model: RuleModel
    when: Node
    unless: Node | None
    on_done: bool = False

    @property
    def actions(self) -> ActionsModel:
        return self.model.then

    def key(self, level: str) -> str:
        return _key(self.name, level if self.model.repeat.per == "level" else None)


@dataclass(frozen=True)
class Policy:
    source: str
    hash: str
    model: PolicyModel
    priorities: tuple[str, ...]
    priority_rank: dict[str, int]
    levels: tuple[Level, ...]
    level_index: dict[str, int]
    calendars: dict[str, Calendar]
    slas: tuple[SlaPolicy, ...]
    functions: tuple[tuple[str, Node], ...]
    matrix: dict[tuple[str, str], Owner]
    rules: tuple[Rule, ...]
    templates: Templates
    platforms: dict[str, PlatformModel]
    doc: Located | None = None
    #: The notice channels (`notify.channels`), named from levels' and rules' `notify`.
    channels: dict[str, ChannelModel] = field(default_factory=dict)

    @property
    def defaults(self) -> DefaultsModel:
        return self.model.defaults

    @cached_property
    def gates(self) -> Gates:
        """What a ticket's level, priority and solved state decide (rules.gates)."""
        return Gates(self.rules, self.slas)


def load_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse, validate and compile a policy; every problem raises one ConfigError listing all."""
    return compile_policy(load_yaml(text, source))


def compile_policy(doc: Located) -> Policy:
    """Compile a parsed policy; every problem found raises one ConfigError listing them all."""
    model = validate(PolicyModel, doc)
    problems = Problems(doc)
    levels = tuple(Level(lv.name, i, lv) for i, lv in enumerate(model.levels))
    _check_unique(problems, ("levels",), [lv.name for lv in levels], "level")
    _check_unique(problems, ("rules",), [r.name for r in model.rules], "rule")
    _check_unique(problems, ("sla",), [s.name for s in model.sla], "SLA policy")
    _check_unique(problems, ("priorities",), list(model.priorities), "priority", named=False)
    calendars = _compile_calendars(model, problems)
    ranks = {name: i + 1 for i, name in enumerate(model.priorities)}
    scope = Scope(problems, ranks, {lv.name: lv.index for lv in levels}, set(calendars))
    slas = _compile_slas(model, calendars, scope)
    functions, matrix = _compile_functions(model, scope)
    templates = Templates(model.templates, problems)
    rules = _compile_rules(model, templates, scope)
    _check_level_priorities(model, scope)
    platforms = _compile_platforms(model, scope)
    _check_channels(model, scope, calendars, templates)
    problems.raise_if_any()
    return Policy(
        source=doc.source,
        hash=_hash(model),
        model=model,
        priorities=tuple(model.priorities),
        priority_rank=ranks,
        levels=levels,
        level_index=scope.levels,
        calendars=calendars,
        slas=slas,
        functions=functions,
        matrix=matrix,
        rules=rules,
        templates=templates,
        platforms=platforms,
        doc=doc,
        channels=dict(model.notify.channels),
    )


def _check_channels(
    model: PolicyModel, scope: Scope, calendars: dict[str, Calendar], templates: Templates
) -> None:
    """Each channel's calendar, template and bypass_hours name what the policy defines."""
    problems = scope.problems
    for name, channel in model.notify.channels.items():
        path: Path = ("notify", "channels", name)
        if channel.calendar is not None:
            _check_name(problems, (*path, "calendar"), channel.calendar, calendars, "calendar")
        if channel.template is not None:
            names = templates.names
            _check_name(problems, (*path, "template"), channel.template, names, "template")
        known = [*scope.priorities, *scope.levels]
        for i, item in enumerate(channel.bypass_hours):
            _check_name(problems, (*path, "bypass_hours", i), item, known, "priority or level")


def _compile_slas(
    model: PolicyModel, calendars: dict[str, Calendar], scope: Scope
) -> tuple[SlaPolicy, ...]:
    """The SLA policies, in order; one with a problem is left out (the policy fails anyway)."""
    slas = []
    for i, sla in enumerate(model.sla):
        path: Path = ("sla", i)
        cal_name = sla.calendar or model.defaults.calendar
        if not _check_name(scope.problems, (*path, "calendar"), cal_name, calendars, "calendar"):
            continue
        targets = _compile_targets(model, i, cal_name, calendars, scope.problems)
        if sla.match is not None and _uses(sla.match, "sla"):
            scope.problems.add(
                (*path, "match"),
                "an SLA policy's match cannot use an sla trigger (the SLA would depend on itself)",
            )
            continue
        match = compile_condition(sla.match, scope, (*path, "match")) if sla.match else None
        slas.append(SlaPolicy(sla.name, match, calendars[cal_name], targets))
    return tuple(slas)


def _compile_targets(
    model: PolicyModel, i: int, cal_name: str, calendars: dict[str, Calendar], problems: Problems
) -> dict[str, TargetSpec]:
    """SLA `i`'s targets, each on its own calendar or the SLA's (24x7 in calendar time)."""
    sla, path = model.sla[i], ("sla", i, "targets")
    pause = frozenset(s.lower() for s in sla.pause) | {"solved", "closed"}
    targets: dict[str, TargetSpec] = {}
    for tname, target in sla.targets.items():
        tcal = target.calendar or cal_name
        mode = target.time or sla.time or model.defaults.time
        _check_name(problems, (*path, tname, "calendar"), tcal, calendars, "calendar")
        calendar = calendars.get(tcal, calendars["24x7"]) if mode == "business" else AlwaysOn()
        targets[tname] = TargetSpec(tname, target.within, calendar, target.pausable, pause)
    return targets


def _compile_functions(
    model: PolicyModel, scope: Scope
) -> tuple[tuple[tuple[str, Node], ...], dict[tuple[str, str], Owner]]:
    """The functions' match conditions, and the matrix: (function, level) -> owner."""
    functions = tuple(
        (name, compile_condition(fn.match, scope, ("functions", name, "match")))
        for name, fn in model.functions.items()
    )
    matrix = {}
    for fname, row in model.matrix.items():
        if fname not in model.functions:
            _unknown(scope.problems, ("matrix", fname), "function", fname, model.functions)
        for lname, owner in row.items():
            _check_name(scope.problems, ("matrix", fname, lname), lname, scope.levels, "level")
            matrix[(fname, lname)] = owner
    return functions, matrix


def _compile_rules(model: PolicyModel, templates: Templates, scope: Scope) -> tuple[Rule, ...]:
    """The rules in policy order; a rule acts on solved tickets only if it names such a status."""
    done = {"solved", "closed"} | {
        raw.lower()
        for platform in model.platforms.values()
        for raw, category in platform.statuses.items()
        if category in ("solved", "closed")
    }
    rules = []
    for i, rule in enumerate(model.rules):
        path = ("rules", i)
        when = compile_condition(rule.when, scope, (*path, "when"))
        unless = compile_condition(rule.unless, scope, (*path, "unless")) if rule.unless else None
        _check_actions(rule.then, (*path, "then"), scope, templates)
        rules.append(Rule(rule.name, i, rule, when, unless, _names_done(rule.when, done)))
    return tuple(rules)


def _check_level_priorities(model: PolicyModel, scope: Scope) -> None:
    for i, lv in enumerate(model.levels):
        if lv.priority_at_least is not None:
            path = ("levels", i, "priority_at_least")
            _check_name(scope.problems, path, lv.priority_at_least, scope.priorities, "priority")


def _compile_platforms(model: PolicyModel, scope: Scope) -> dict[str, PlatformModel]:
    """The built-in platforms, overridden by the configured ones."""
    platforms: dict[str, PlatformModel] = dict(DEFAULT_PLATFORMS)
    for pname, platform in model.platforms.items():
        # configuring fields alone keeps the built-in priorities
        default = {"priorities": DEFAULT_PLATFORMS[pname].priorities}
        platforms[pname] = platform if platform.priorities else platform.model_copy(update=default)
        for raw, neutral in platform.priorities.items():
            path = ("platforms", pname, "priorities", raw)
            _check_name(scope.problems, path, neutral, scope.priorities, "priority")
    return platforms


def _hash(model: PolicyModel) -> str:
    """What the policy says, runtime settings aside: a plan records which policy made it."""
    data = model.model_dump(mode="json", exclude={"instances", "run", "state", "serve"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _uses(cond: Condition, key: str) -> bool:
    """Does the condition tree use the trigger `key` anywhere?"""
    if getattr(cond, key) is not None:
        return True
    children = [*(cond.all or ()), *(cond.any or ()), *([cond.not_] if cond.not_ else [])]
    return any(_uses(c, key) for c in children)


def _names_done(cond: Condition, done: set[str]) -> bool:
    """Does a trigger name a solved/closed status? Only such rules act on solved tickets."""
    if cond.status and any(s.lower() in done for s in cond.status):
        return True
    if cond.in_status and any(s.lower() in done for s in cond.in_status.status or ()):
        return True
    return any(_names_done(c, done) for c in (*(cond.all or ()), *(cond.any or ())))


def _compile_calendars(model: PolicyModel, problems: Problems) -> dict[str, Calendar]:
    """The built-in 24x7 calendar and every configured one that builds; the default exists."""
    calendars: dict[str, Calendar] = {"24x7": AlwaysOn()}
    for name, cal in model.calendars.items():
        built = _compile_calendar(name, cal, problems)
        if built is not None:
            calendars[name] = built
    _check_name(problems, ("defaults", "calendar"), model.defaults.calendar, calendars, "calendar")
    return calendars


def _compile_calendar(name: str, cal: CalendarModel, problems: Problems) -> Calendar | None:
    path: Path = ("calendars", name)
    week: dict[int, list[tuple[time, time | None]]] = {d: [] for d in range(7)}
    for days, shifts in cal.hours.items():
        try:
            numbers, parsed = parse_days(days), [_parse_shift(shift) for shift in shifts]
        except ValueError as exc:
            problems.add((*path, "hours", days), str(exc))
            return None
        for day in numbers:
            week[day].extend(parsed)
    try:
        ZoneInfo(cal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(
            (*path, "timezone"),
            f"unknown time zone {cal.timezone!r} (expected an IANA name such as Europe/Berlin)",
        )
        return None
    try:
        source = HolidaySource(
            country=cal.holidays.country,
            subdiv=cal.holidays.subdivision,
            dates=cal.holidays.dates,
            names=cal.holidays.names,
        )
    except ValueError as exc:
        problems.add((*path, "holidays"), str(exc))
        return None
    try:
        return BusinessCalendar(name, cal.timezone, week, source)
    except ValueError as exc:
        problems.add((*path, "hours"), str(exc))
        return None


def _parse_shift(shift: str) -> tuple[time, time | None]:
    """'09:00-17:00' -> (09:00, 17:00); an end of 24:00 is None."""
    start_text, sep, end_text = shift.partition("-")
    if not sep:
        raise ValueError(f"expected a shift such as 09:00-17:00, got {shift!r}")
    try:
        start, end = parse_clock(start_text), parse_clock(end_text)
    except ValueError:
        raise ValueError(f"expected a shift such as 09:00-17:00, got {shift!r}") from None
    if start is None:
        raise ValueError(f"a shift cannot start at 24:00 ({shift!r})")
    return start, end


def _check_actions(then: ActionsModel, path: Path, scope: Scope, templates: Templates) -> None:
    problems, levels, ranks = scope.problems, scope.levels, scope.priorities
    special = {"next", "requested"}
    if then.escalate and then.escalate not in special:
        _check_name(problems, (*path, "escalate"), then.escalate, [*levels, *special], "level")
    if then.de_escalate:
        _check_name(problems, (*path, "de_escalate"), then.de_escalate, levels, "level")
    if then.priority:
        for key in ("set", "at_least"):
            value = getattr(then.priority, key)
            if value is not None:
                _check_name(problems, (*path, "priority", key), value, ranks, "priority")
    for key in ("note", "reply"):
        name = getattr(then, key)
        if name is not None:
            _check_name(problems, (*path, key), name, templates.names, "template")


def _check_name(problems: Problems, path: Path, name: str, known: Any, kind: str) -> bool:
    if name in known:
        return True
    _unknown(problems, path, kind, name, known)
    return False


def _unknown(problems: Problems, path: Path, kind: str, name: str, known: Any) -> None:
    problems.add(path, unknown_name(kind, name, [str(k) for k in known]))


def _check_unique(
    problems: Problems, path: Path, names: list[str], kind: str, *, named: bool = True
) -> None:
    """Each item of a list is named once (`named`: by its `name` key, else by itself)."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            at: Path = (*path, i, "name") if named else (*path, i)
            problems.add(at, f"duplicate {kind} name {name!r}")
        seen.add(name)
