"""Golden policy cases: every `tests/rules/cases/*.yaml` file is one scenario.

Case format (YAML, one mapping per file):

    description: what the case shows, with the hand arithmetic behind every expected value
    policy:      a path relative to the repo root (default: config.example.yaml),
                 or an inline, complete policy mapping
    now:         the evaluation instant (ISO 8601 with an offset, e.g. 2026-11-20T10:00:00Z)
    ticket:      one ticket in the ticket JSON format (rules/ticketio.py, TicketRecord);
                 `tracking.state` may be the raw state text or a mapping
                 {cycle, written_at, awaiting, reopens_seen, solved_seen,
                 fired: {rule: [count, ISO last]}} that the harness encodes with
                 rules.tracking.State (`rule@L2` names a rule that repeats per level)
    expect:      what evaluate_ticket(policy, ticket, now) must produce (keys below)
    then:        optional later steps, each {at: ISO, update: {...}, expect: {...}}. A step
                 evaluates the ticket as it is after the previous step's change landed
                 (rules.apply.apply_change). `update` first patches that ticket in the ticket
                 JSON format: keys replace the top-level ones, except `tracking` (merged key by
                 key) and `add_history` (events appended to the history); a new `status`
                 without `status_category` gets its category derived again.
    then_at + then_expect (+ then_update): shorthand for a one-step `then`.

Expectation keys (each optional; an absent key is not checked):

    change: none | some        whether there is a TicketChange at all
    level: L2                  the level after evaluation (the current one if nothing moved)
    rules: [a, b]              the rules that fired, in policy order ([] for none)
    group / assignee / priority: the new value, or {from: old, to: new} for the exact diff
                               (to: null, e.g. unassigned); null asserts it is not changed
    tags_added / tags_removed: the exact tags (sorted)
    notify: [...]              the exact people notified (sorted)
    fields: {name: value}      custom fields set
    tracking: {field: value}   tracking fields written (value null: the field is cleared);
                               `untouched: [field, ...]` asserts fields the change leaves alone
    state: {awaiting, cycle, solved_seen, fired: {rule: count}}   the `state` field after the
                               change landed (awaiting null: nothing awaits approval)
    note / reply: none         no internal note / no public reply
    note_contains / reply_contains / note_excludes / reply_excludes: substrings of .plain()
    note_data / reply_data: [...]    strings that must each be one whole *data* part of the
                               Rendered comment (ticket text stays data, never markup)
    reasons_contain: [...]     substrings of the joined reasons

Every evaluation (the first and each step) is also checked for idempotency: applying its change
at the same instant and evaluating again must yield no change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import ticketio
from rules.apply import apply_change
from rules.engine import evaluate_ticket
from rules.model import Ticket
from rules.plan import Outcome, TicketChange
from rules.policy import Policy, load_policy
from rules.ticketio import read_tickets
from rules.tracking import Fired, State, format_time, parse_time, rule_key

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES.glob("*.yaml"))
CASE_KEYS = {"description", "policy", "now", "ticket", "expect", "then"}
CASE_KEYS |= {"then_at", "then_expect", "then_update"}
EXPECT_KEYS = {
    "change",
    "level",
    "rules",
    "group",
    "assignee",
    "priority",
    "tags_added",
    "tags_removed",
    "notify",
    "fields",
    "tracking",
    "untouched",
    "state",
    "note",
    "reply",
    "note_contains",
    "reply_contains",
    "note_excludes",
    "reply_excludes",
    "note_data",
    "reply_data",
    "reasons_contain",
}


# --- loading ---------------------------------------------------------------------------------


class CaseLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: instants stay the ISO text the ticket format reads."""


CaseLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def policy_from_path(relative: str) -> Policy:
    path = ROOT / relative
    return load_policy(path.read_text(encoding="utf-8"), relative)


def case_policy(case: dict[str, Any], source: str) -> Policy:
    spec = case.get("policy", "config.example.yaml")
    if isinstance(spec, str):
        return policy_from_path(spec)
    return load_policy(yaml.safe_dump(spec, sort_keys=False), source)


def instant(value: object) -> datetime:
    parsed = parse_time(value if isinstance(value, str) else None)
    assert parsed is not None, f"not an ISO 8601 instant: {value!r}"
    return parsed


def encode_state(spec: dict[str, Any]) -> str:
    """A readable state mapping -> the `state` field text (rule names become their keys)."""
    fired = tuple(
        Fired(_key(name), int(count), instant(last))
        for name, (count, last) in (spec.get("fired") or {}).items()
    )
    written = spec.get("written_at")
    return State(
        cycle=int(spec.get("cycle", 0)),
        written_at=instant(written) if written else None,
        awaiting=spec.get("awaiting"),
        reopens_seen=int(spec.get("reopens_seen", 0)),
        solved_seen=bool(spec.get("solved_seen", False)),
        fired=fired,
    ).encode()


def _key(name: str) -> str:
    """'rule' or 'rule@L2' (a rule that repeats per level) -> the key the state records."""
    rule, _, level = name.partition("@")
    return rule_key(rule, level or None)


def read_ticket(record: dict[str, Any], policy: Policy, source: str) -> Ticket:
    record = dict(record)
    tracking = dict(record.get("tracking") or {})
    if isinstance(tracking.get("state"), dict):
        tracking["state"] = encode_state(tracking["state"])
    if tracking:
        record["tracking"] = tracking
    tickets = read_tickets(yaml_to_json(record), source, policy)
    assert len(tickets) == 1
    return tickets[0]


def yaml_to_json(record: dict[str, Any]) -> str:
    return json.dumps(record)


def to_record(ticket: Ticket) -> dict[str, Any]:
    """A Ticket back to the ticket JSON format (summary figures are re-derived from history)."""
    record = ticketio.to_record(ticket, tracking=True, text=True)
    return record.model_dump(mode="json", exclude_unset=True)


def patch(ticket: Ticket, update: dict[str, Any], policy: Policy, source: str) -> Ticket:
    record = to_record(ticket)
    for key, value in update.items():
        if key == "tracking":
            record["tracking"] = {**record["tracking"], **value}
        elif key == "add_history":
            record["history"] = [*(record.get("history") or []), *value]
        else:
            record[key] = value
            if key == "status" and "status_category" not in update:
                record.pop("status_category")
    return read_ticket(record, policy, source)


# --- checking --------------------------------------------------------------------------------


def level_after(ticket: Ticket, change: TicketChange | None, policy: Policy) -> str:
    if change is not None:
        return change.level_to
    return ticket.tracking.level or policy.levels[0].name


def check(
    expect: dict[str, Any], policy: Policy, ticket: Ticket, outcome: Outcome, now: datetime
) -> None:
    unknown = set(expect) - EXPECT_KEYS
    assert not unknown, f"unknown expectation keys {sorted(unknown)}"
    change = outcome.change
    if "change" in expect:
        want = expect["change"]
        assert want in ("none", "some"), f"change: expected none or some, got {want!r}"
        if want == "none":
            assert change is None, f"expected no change, got {_show(change)}"
        else:
            assert change is not None, "expected a change, got none"
    if "rules" in expect:
        assert list(outcome.fired) == list(expect["rules"])
    if "level" in expect:
        assert level_after(ticket, change, policy) == expect["level"]
    needs_change = EXPECT_KEYS - {"change", "rules", "level", "state", "note", "reply"}
    if set(expect) & needs_change:
        assert change is not None, f"expected a change for {sorted(set(expect) & needs_change)}"
    if change is None:
        if "state" in expect:
            check_state(expect["state"], ticket.tracking.state, policy)
        return
    for name in ("group", "assignee", "priority"):
        if name in expect:
            diff = getattr(change, name)
            if expect[name] is None:
                assert diff is None, f"{name} should not change, got {diff}"
            elif isinstance(expect[name], dict):
                want = (expect[name]["from"], expect[name]["to"])
                assert diff is not None, f"{name} should change: {want}"
                assert (diff.old, diff.new) == want, f"{name}: {diff}"
            else:
                assert diff is not None, f"{name} should change to {expect[name]!r}"
                assert diff.new == expect[name], f"{name}: {diff}"
    if "tags_added" in expect:
        assert sorted(change.add_tags) == sorted(expect["tags_added"])
    if "tags_removed" in expect:
        assert sorted(change.remove_tags) == sorted(expect["tags_removed"])
    if "notify" in expect:
        assert sorted(change.notify) == sorted(expect["notify"])
    for name, value in (expect.get("fields") or {}).items():
        assert name in change.fields, f"custom field {name!r} not set: {change.fields}"
        assert change.fields[name].new == value
    for name, value in (expect.get("tracking") or {}).items():
        assert name in change.tracking, f"tracking field {name!r} not written: {change.tracking}"
        got = change.tracking[name].new
        if value is None:
            assert got is None, f"tracking {name} should be cleared, got {got!r}"
        else:
            assert str(got) == str(value), f"tracking {name}: {got!r} != {value!r}"
    for name in expect.get("untouched") or ():
        assert name not in change.tracking, f"tracking {name} changed: {change.tracking[name]}"
    if "state" in expect:
        landed = apply_change(policy, ticket, change, now)
        check_state(expect["state"], landed.tracking.state, policy)
    for kind in ("note", "reply"):
        rendered = change.internal_note if kind == "note" else change.public_reply
        if expect.get(kind) == "none":
            assert rendered is None, f"expected no {kind}, got {rendered.plain()!r}"
        wanted = [*expect.get(f"{kind}_contains", ()), *expect.get(f"{kind}_excludes", ())]
        wanted += list(expect.get(f"{kind}_data", ()))
        if not wanted:
            continue
        assert rendered is not None, f"expected a {kind}"
        text = rendered.plain()
        for part in expect.get(f"{kind}_contains", ()):
            assert part in text, f"{part!r} not in {kind}:\n{text}"
        for part in expect.get(f"{kind}_excludes", ()):
            assert part not in text, f"{part!r} unexpectedly in {kind}:\n{text}"
        data = [t for is_data, t in rendered.parts if is_data]
        for part in expect.get(f"{kind}_data", ()):
            assert part in data, f"{part!r} is not one data part of the {kind}: {rendered.parts}"
    reasons = "\n".join(str(r) for r in change.reasons)
    for part in expect.get("reasons_contain", ()):
        assert part in reasons, f"{part!r} not in reasons:\n{reasons}"


def check_state(spec: dict[str, Any], state: State, policy: Policy) -> None:
    assert not state.corrupt
    if "awaiting" in spec:
        assert state.awaiting == spec["awaiting"]
    if "cycle" in spec:
        assert state.cycle == spec["cycle"]
    if "solved_seen" in spec:
        assert state.solved_seen == spec["solved_seen"]
    for name, count in (spec.get("fired") or {}).items():
        fired = state.fired_for(_key(name))
        got = fired.count if fired else 0
        assert got == count, f"state records {name} fired {got}x, expected {count}x"


def _show(change: TicketChange | None) -> object:
    return None if change is None else change.to_json()


# --- the cases -------------------------------------------------------------------------------


def steps(case: dict[str, Any]) -> Iterator[tuple[datetime, dict[str, Any], dict[str, Any]]]:
    yield instant(case["now"]), {}, case["expect"]
    later = list(case.get("then") or ())
    if "then_at" in case:
        later.append(
            {"at": case["then_at"], "expect": case["then_expect"], **_upd(case.get("then_update"))}
        )
    for step in later:
        yield instant(step["at"]), step.get("update") or {}, step["expect"]


def _upd(update: dict[str, Any] | None) -> dict[str, Any]:
    return {"update": update} if update else {}


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.load(path.read_text(encoding="utf-8"), Loader=CaseLoader)
    assert isinstance(case, dict), f"{path.name}: a case is a mapping"
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    assert str(case.get("description", "")).strip(), f"{path.name}: describe the case"
    return case


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_golden(path: Path) -> None:
    case = load_case(path)
    source = str(path.relative_to(ROOT))
    policy = case_policy(case, source)
    ticket = read_ticket(case["ticket"], policy, source)
    for number, (now, update, expect) in enumerate(steps(case)):
        if update:
            ticket = patch(ticket, update, policy, source)
        outcome = evaluate_ticket(policy, ticket, now)
        where = "the first evaluation" if number == 0 else f"step {number} at {format_time(now)}"
        try:
            check(expect, policy, ticket, outcome, now)
        except AssertionError as exc:
            raise AssertionError(f"{path.name}, {where}: {exc}") from None
        ticket = apply_change(policy, ticket, outcome.change, now)
        again = evaluate_ticket(policy, ticket, now)
        assert again.change is None, (
            f"{path.name}, {where}: not idempotent: evaluating again after applying the change "
            f"yields {_show(again.change)}"
        )


def test_there_are_golden_cases() -> None:
    assert len(CASE_FILES) >= 20


def test_harness_encodes_state_like_the_engine() -> None:
    """The readable state mapping used by cases encodes to the documented text format."""
    text = encode_state(
        {"cycle": 1, "awaiting": "L3", "fired": {"inform-director": [2, "2026-11-20T12:00:00Z"]}}
    )
    # sha1("inform-director")[:6] = 122022; 2026-11-20T12:00Z is 20,777 days * 1440 + 720
    # = 29,919,600 minutes after the epoch, "hta40" in base 36
    assert text == "v1 c=1 a=L3 f=122022:2:hta40"
    state = State.parse(text)
    assert (state.cycle, state.awaiting) == (1, "L3")
    assert state.fired_for(_key("inform-director")) == Fired(
        "122022", 2, instant("2026-11-20T12:00Z")
    )
