"""The engine's shortcuts change no result: on a seeded sandbox of every platform, as the real
adapters read it, `evaluate` (and `evaluate_due`) equal the plain loop they replaced (every rule
tested, the facts measured afresh after each change), templates render as the stock sandbox
renders them, each ticket's memoised SLA clocks equal clocks measured one by one, and clock
triggers that answer without measuring answer what the measured clock says."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from connector.sandbox import Sandbox
from rules.apply import apply_change
from rules.context import template_context
from rules.due import evaluate_due, next_instant
from rules.engine import current_state, evaluate, reason_text, rule_status
from rules.facts import UNKNOWN, Facts, TargetStatus, ts_to_dt
from rules.gates import Gates
from rules.merge import Firing, bookkeeping_change, merge
from rules.model import Ticket
from rules.plan import Diff, Outcome, Reason, TicketChange, combine, with_tracking
from rules.policy import Policy, load_policy
from rules.profile import profile
from rules.templates import _mark, _split, environment, sample_context
from rules.tracking import Fired, State, fired_after, format_time
from rules.triggers import ClockTrigger, SlaTrigger

Read = dict[str, list[Ticket]]  # each instance's tickets, as the real adapter reads them
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday morning in Berlin


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    at = NOW.timestamp()
    with Sandbox(tmp_path_factory.mktemp("box"), tickets=400, clock=lambda: at) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def read(box: Sandbox) -> Read:
    return {instance: box.tickets(instance) for instance in box.emulators}


@pytest.fixture(scope="module")
def policy(box: Sandbox) -> Policy:
    assert box.policy is not None
    return box.policy


def plain_outcome(policy: Policy, ticket: Ticket, now: datetime) -> Outcome:
    """`evaluate_ticket` as it was: every rule's status, fresh facts after each change."""
    combined: TicketChange | None = None
    fired: list[str] = []
    current = ticket
    facts = before = Facts(policy, current, now)
    for _ in range(len(policy.levels) + 1):
        state, rearmed = current_state(facts)
        firings = [
            Firing(rule, Reason(rule.name, reason_text(rule.when, facts)))
            for rule in policy.rules
            if rule.name not in fired and rule_status(rule, facts, state) == "fired"
        ]
        fired.extend(f.rule.name for f in firings)
        change = merge(facts, state, rearmed, firings)
        if change is None:
            break
        combined = change if combined is None else combine(combined, change)
        current = apply_change(policy, current, change, now)
        facts = Facts(policy, current, now)
    combined = plain_sla_due(facts, ticket, combined)
    if combined is not None:
        combined = replace(combined, about=profile(before), tags_read=ticket.tags)
    return Outcome(ticket.id, ticket.instance, combined, tuple(dict.fromkeys(fired)))


def plain_sla_due(
    final: Facts, original: Ticket, change: TicketChange | None
) -> TicketChange | None:
    """`sla_due` kept current as it was: in every change, and alone for escalated tickets."""
    if change is None and (original.tracking.level is None or final.done):
        return None
    due = final.soonest_due
    new = format_time(ts_to_dt(due)) if due is not None else None
    sla_due = original.tracking.sla_due
    old = format_time(sla_due) if sla_due else None
    diff = Diff(old, new) if new != old else None
    if change is not None:
        return with_tracking(change, "sla_due", diff)
    if diff is None or original.tracking.level is None:
        return None
    state, _ = current_state(final)
    return bookkeeping_change(final, state, diff)


def full(outcome: Outcome) -> tuple[Any, ...]:
    """An outcome with the parts equality leaves out (what reports read)."""
    change = outcome.change
    return outcome, change and change.about, change and change.tags_read


def test_the_sandbox_has_changes_of_every_kind(read: Read, policy: Policy) -> None:
    for tickets in read.values():
        changes = [o.change for o in evaluate(policy, tickets, NOW) if o.change]
        assert len(changes) >= 20
        assert any(c.internal_note for c in changes) and any(c.public_reply for c in changes)
        assert any(c.priority for c in changes) and any(c.level_from != c.level_to for c in changes)


def test_evaluation_equals_the_plain_loop(read: Read, policy: Policy) -> None:
    for instance, tickets in read.items():
        ours = [full(o) for o in evaluate(policy, tickets, NOW)]
        plain = [full(plain_outcome(policy, t, NOW)) for t in tickets]
        assert ours == plain, instance


def test_due_evaluation_equals_the_plain_loop(read: Read, policy: Policy) -> None:
    for tickets in read.values():
        for got, ticket in zip(evaluate_due(policy, tickets, NOW), tickets, strict=True):
            plain = plain_outcome(policy, ticket, NOW)
            assert full(got)[1:] == full(plain)[1:]
            later = NOW if plain.change is not None else next_instant(Facts(policy, ticket, NOW))
            assert (got.change, got.fired, got.next_at) == (plain.change, plain.fired, later)


def test_memoised_clocks_equal_clocks_measured_one_by_one(read: Read, policy: Policy) -> None:
    measured = 0
    for tickets in read.values():
        for ticket in tickets:
            facts = Facts(policy, ticket, NOW)
            soonest, targets = facts.soonest_due, facts.targets  # all at once, cached
            sla = facts.sla
            if sla is None:
                assert targets == {} and soonest is None
                continue
            for name, spec in sla.targets.items():
                alone = spec.measure(Facts(policy, ticket, NOW), sla)  # nothing cached
                assert values(targets.get(name)) == values(alone)
                measured += alone is not None
            dues = [t.due for t in targets.values() if t.running and t.due is not None]
            assert soonest == (min(dues) if dues else None)
    assert measured > 1000


def values(status: TargetStatus | None) -> tuple[Any, ...] | None:
    if status is None:
        return None
    public = [name for name in TargetStatus.__slots__ if not name.startswith("_")]
    return (*(getattr(status, name) for name in public), status.due, status.breached_at)


def test_facts_after_a_change_equal_fresh_facts(read: Read, policy: Policy) -> None:
    followed = 0
    for tickets in read.values():
        for ticket in tickets:
            change = evaluate(policy, [ticket], NOW).__next__().change
            if change is None:
                continue
            before = Facts(policy, ticket, NOW)
            before.soonest_due  # noqa: B018 (measured before the change: carried over)
            after = apply_change(policy, ticket, change, NOW)
            carried, fresh = before.follow(after), Facts(policy, after, NOW)
            assert carried.soonest_due == fresh.soonest_due
            assert carried.timeline == fresh.timeline
            assert {k: values(v) for k, v in carried.targets.items()} == {
                k: values(v) for k, v in fresh.targets.items()
            }
            followed += 1
    assert followed >= 60


def stock(env: ImmutableSandboxedEnvironment) -> ImmutableSandboxedEnvironment:
    """The sandbox as jinja ships it, configured as ours."""
    assert type(env) is not ImmutableSandboxedEnvironment  # ours is the faster subclass
    return environment(ImmutableSandboxedEnvironment)


OURS = environment()
STOCK = stock(OURS)
COMPILED: dict[tuple[int, str], Template] = {}


def render_both(source: str, context: dict[str, Any]) -> tuple[str, str]:
    out = []
    for env in (OURS, STOCK):
        template = COMPILED.get((id(env), source))
        if template is None:
            template = COMPILED[(id(env), source)] = env.from_string(source)
        try:
            out.append(template.render(context))
        except TemplateError as exc:
            out.append(f"{type(exc).__name__}: {exc.message}")
    return out[0], out[1]


def test_templates_render_as_the_stock_sandbox(read: Read, policy: Policy) -> None:
    rendered = 0
    for tickets in read.values():
        sources = policy.model.templates
        for ticket in tickets[:60]:
            facts = Facts(policy, ticket, NOW)
            for rule in policy.rules:
                context = template_context(facts, facts.level_index, None, rule, None, ["why"])
                for name, source in sources.items():
                    ours, theirs = render_both(source, context)
                    assert ours == theirs
                    assert policy.templates.render(name, context) == _split(theirs)
                    rendered += 1
    assert rendered > 1000


@pytest.mark.parametrize(
    "source",
    [
        "{{ ticket.title }} {{ ticket.items }} {{ ticket.keys() | list | length }}",
        "{{ ticket.get('title') }} {{ ticket['title'] }} {{ level.owner.group }}",
        "{{ ticket.titel }}",  # a missing key: the same error
        "{{ ticket.__class__ }}",
        "{{ ticket.update({'title': 'x'}) }}",  # the sandbox refuses, as before
        "{{ odd.items }} {{ odd.copy }} {{ odd.x }}",
        "{% for k, v in odd.items() %}{{ k }}={{ v }};{% endfor %}",
        "{{ ticket.tags.append }}",
    ],
)
def test_attribute_lookups_match_the_stock_sandbox(source: str) -> None:
    context = sample_context()
    context["odd"] = {"items": "a key named items", "copy": 2, "x": "\x07bell"}
    ours, theirs = render_both(source, context)
    assert ours == theirs


def test_printed_values_lose_control_characters_only() -> None:
    for text in ["plain", "tab\there", "line\nbreak", "\x00\x1f\x7f", "é\u2028ü", ""]:
        assert _mark(text) == f"\x1e{''.join(c for c in text if not _control(c))}\x1f"


def _control(c: str) -> bool:
    return (ord(c) < 32 and c not in "\t\n\r") or c == "\x7f"


GATED = """
version: 1
priorities: [P1, P2, P3]
levels: [{name: L1}, {name: L2}]
rules:
  - name: leading
    when: {level: L1, priority: P1, age: {over: 1h}}
    then: {escalate: L2}
  - name: trailing
    when: {all: [{age: {over: 1h}}, {level: L2}]}
    then: {note: n}
  - name: off
    enabled: false
    when: {age: {over: 1m}}
    then: {escalate: L2}
  - name: review
    when: {status: [solved], level: L2}
    then: {add_tags: [review]}
templates: {n: "note"}
"""


def test_gates_leave_out_only_rules_their_leading_ranks_rule_out() -> None:
    policy = load_policy(GATED)
    gates = Gates(policy.rules, policy.slas)
    names = {
        key: [r.name for r, _ in gates.open(*key)]
        for key in [(0, 1, False), (0, 2, False), (1, 1, False), (1, 1, True), (0, 4, True)]
    }
    assert names == {
        (0, 1, False): ["leading", "trailing"],  # review's leading level test rules out L1
        (0, 2, False): ["trailing"],  # a priority test leading the rule
        (1, 1, False): ["trailing", "review"],  # the level test after the clock is not leading
        (1, 1, True): ["review"],  # solved: only a rule naming a solved status
        (0, 4, True): [],
    }

    rests = {rule.name: rest for rule, rest in gates.open(0, 1, False)}
    assert isinstance(rests["leading"], ClockTrigger)  # level and priority passed: the age left
    assert rests["trailing"] is policy.rules[1].when  # nothing leads: all of it


SLA_TRIGGERS = [
    SlaTrigger(target, used, remaining)
    for target in ("resolution", "first_response", "next_response", "any")
    for used, remaining in [(1.0, None), (50.0, None), (80.0, None), (None, None), (None, 1800.0)]
]
CLOCK_TRIGGERS = [
    ClockTrigger(kind, over, mode)
    for kind in ("age", "idle", "in_status", "at_level")
    for over in (0.0, 60.0, 3600.0, 4 * 3600.0, 3 * 86400.0)
    for mode in ("business", "calendar")
]


def test_triggers_that_skip_measuring_agree_with_the_measured_clocks(
    read: Read, policy: Policy
) -> None:
    """A clock trigger that answers from the time passed alone (too little for it to hold)
    answers what the measured clock says."""
    held = skipped = 0
    for tickets in read.values():
        for ticket in tickets:
            for sla in SLA_TRIGGERS:
                facts = Facts(policy, ticket, NOW)
                got = sla.test(facts)
                skipped += sla.target != "any" and sla.target not in facts._targets
                measured = Facts(policy, ticket, NOW)  # every target measured, then tested
                rows = [t for t in measured.targets.values() if not t.fulfilled]
                rows = rows if sla.target == "any" else [t for t in rows if t.target == sla.target]
                assert got == any(t.used >= sla._needed(t) for t in rows)
                held += got
            for clock in CLOCK_TRIGGERS:
                facts = Facts(policy, ticket, NOW)
                elapsed = clock._elapsed(facts)
                assert clock.test(facts) == (elapsed is not None and elapsed >= clock.over)
    assert held > 500 and skipped > 1000


def test_times_are_formatted_as_strftime_formats_them() -> None:
    for value in [
        NOW,
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(1000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    ]:
        assert format_time(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SLAS = """
version: 1
priorities: [P1, P2, P3]
levels: [{name: L1}, {name: L2}]
sla:
  - {name: p1, match: {priority: P1}, targets: {resolution: 1h}}
  - {name: vip, match: {priority: P2, label: {eq: vip}}, targets: {resolution: 2h}}
  - {name: rest, targets: {resolution: 8h}}
rules: []
"""


def test_the_ranks_decide_the_sla_policy_only_when_its_matches_test_nothing_else() -> None:
    policy = load_policy(SLAS)
    gates = Gates(policy.rules, policy.slas)
    assert gates._first_sla(0, 1) is policy.slas[0]
    assert gates._first_sla(0, 2) is UNKNOWN  # the label decides: the match is tested
    assert gates._first_sla(0, 3) is UNKNOWN  # vip comes before rest: its match is tested


def test_firing_records_and_cleared_requests_as_before() -> None:
    at = NOW
    old = (Fired("a", 2, at), Fired("b", 1, at))
    assert fired_after(old, "a", at) == (Fired("b", 1, at), Fired("a", 3, at))
    assert fired_after(old, "c", at) == (*old, Fired("c", 1, at))
    asked = State(awaiting="L3", asked_at=at, asked_by="abc", reminded_at=at, timeout_noted=True)
    for state in (State(fired=old), asked, replace(asked, awaiting=None), State(awaiting="")):
        cleared = replace(
            state,
            awaiting=None,
            asked_at=None,
            asked_by=None,
            reminded_at=None,
            timeout_noted=False,
        )
        assert state.without_request() == cleared


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        (Diff, ("a", None), {}),
        (Reason, ("rule", "why"), {}),
        (Outcome, ("1", "zendesk-prod", None), {}),
        (Outcome, ("2", "jira-dc", None, ("r",), "odd", NOW), {}),
        (
            TicketChange,
            (),
            {"instance": "i", "ticket": "1", "platform": "jira", "url": "u"}
            | {"ticket_updated_at": NOW, "level_from": "L1", "level_to": "L2"}
            | {"tracking": {"level": Diff(None, "L2")}, "tags_read": frozenset({"x"})},
        ),
    ],
)
def test_outcomes_built_as_the_dataclass_builds_them(
    cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    plain = object.__new__(cls)
    cls.__dataclass_init__(plain, *args, **kwargs)  # the dataclass's own, kept by fast_init
    fast = cls(*args, **kwargs)
    names = [f.name for f in dataclasses.fields(cls)]
    assert [getattr(fast, n) for n in names] == [getattr(plain, n) for n in names]
    assert fast == plain
    assert TicketChange(**TICKET).fields is not TicketChange(**TICKET).fields  # a dict each


TICKET: dict[str, Any] = {"instance": "i", "ticket": "1", "platform": "jira", "url": "u"} | {
    "ticket_updated_at": NOW,
    "level_from": "L1",
    "level_to": "L1",
}
