"""Platform values -> neutral values, using the policy's per-platform mappings.

Adapters and the ticket-file reader call these so that a ticket's status category and priority
rank mean the same thing on every platform.
"""

from __future__ import annotations

from rules.model import StatusCategory
from rules.policy import Policy


def status_category(
    policy: Policy, platform: str, raw: str, hint: StatusCategory | None = None
) -> StatusCategory:
    """The explicit mapping wins, then a status named like a category, then the platform's hint."""
    mapping = policy.platforms.get(platform)
    if mapping is not None:
        for name, category in mapping.statuses.items():
            if name.lower() == raw.lower():
                return StatusCategory(category)
    try:
        return StatusCategory(raw.lower())
    except ValueError:
        return hint or StatusCategory.OPEN


def priority(policy: Policy, platform: str, raw: str | None) -> tuple[str | None, int | None]:
    """(neutral name, rank) for a platform priority; a neutral name passes through."""
    if raw is None or raw == "":
        return None, None
    if raw in policy.priority_rank:
        return raw, policy.priority_rank[raw]
    mapping = policy.platforms.get(platform)
    if mapping is not None:
        for name, neutral in mapping.priorities.items():
            if name.lower() == raw.lower():
                return neutral, policy.priority_rank.get(neutral)
    return None, None


class Priorities:
    """`priority` of each raw value met on one platform, remembered (a sweep meets few)."""

    def __init__(self, policy: Policy, platform: str) -> None:
        self.policy, self.platform = policy, platform
        self._seen: dict[str | None, tuple[str | None, int | None]] = {}

    def __call__(self, raw: str | None) -> tuple[str | None, int | None]:
        found = self._seen.get(raw)
        if found is None:
            found = self._seen[raw] = priority(self.policy, self.platform, raw)
        return found


def platform_priority(policy: Policy, platform: str, neutral: str) -> str:
    """The platform's name for a neutral priority (the first that maps to it)."""
    mapping = policy.platforms.get(platform)
    if mapping is not None:
        for name, value in mapping.priorities.items():
            if value == neutral:
                return name
    return neutral
