"""The sandbox's ticket mix: `count` archetype scripts in fixed proportions, `due_share` of
them due at `now`, plus the past month's solved tickets, deterministic for a seed.
`tests/connector/test_sandbox.py` checks the result with the real adapters and the engine."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from connector.sandbox.archetypes import Maker
from connector.sandbox.script import Spec

#: Share of tickets built to be due at `now` (the benchmark's 10%).
DUE_SHARE = 0.10
DUE_KINDS = {
    "p1-breach": 20,
    "vip": 15,
    "complaints": 12,
    "reopened-twice": 6,
    "customer-field": 6,
    "customer-phrase": 5,
    "agent-request": 10,
    "stale": 14,
    "unacknowledged": 7,
    "approved": 5,
}
QUIET_KINDS = {
    "fresh": 40,
    "waiting": 22,
    "few-replies": 8,
    "reopened-once": 5,
    "escalated-recently": 3,
    "escalated-handled": 10,
    "escalated-active": 3,
    "awaiting-approval": 3,
}
#: The past month's tickets, solved by now (for the report's trend), as a share of `count`,
#: seeded on top of it from a random stream of their own: the tickets open now are the same
#: with or without them.
PAST_SHARE = 0.4
PAST_KINDS = {"past-solved": 30, "past-p1": 8}


def past_count(count: int, past_share: float = PAST_SHARE) -> int:
    """How many of the past month's solved tickets are seeded on top of `count` open ones."""
    return round(count * past_share)


def _share(total: int, weights: dict[str, int]) -> list[str]:
    """`total` kinds in proportion to `weights` (largest remainders), in a stable order."""
    whole = sum(weights.values())
    exact = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    left = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[:left]:
        counts[k] += 1
    return [k for k in weights for _ in range(counts[k])]


def mix(
    count: int,
    *,
    seed: int,
    now: float,
    due_share: float = DUE_SHARE,
    past_share: float = PAST_SHARE,
) -> list[Spec]:
    """`count` ticket specs open now, oldest first, then the past month's (`past_share` of
    `count`, oldest first); the same seed and `now` give the same specs."""
    due = round(count * due_share)
    kinds = _share(due, DUE_KINDS) + _share(count - due, QUIET_KINDS)
    past = _share(past_count(count, past_share), PAST_KINDS)
    return _built(kinds, random.Random(seed), now) + _built(past, random.Random(-seed), now)


def _built(kinds: list[str], rng: random.Random, now: float) -> list[Spec]:
    maker = Maker(rng, now)
    rng.shuffle(kinds)
    specs = []
    for kind in kinds:
        build: Callable[[], Spec] = getattr(maker, kind.replace("-", "_"))
        spec = build()
        specs.append(replace(spec, steps=tuple(sorted(spec.steps, key=lambda s: s.at))))
    specs.sort(key=lambda s: s.created)
    return specs
