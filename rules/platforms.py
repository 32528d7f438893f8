"""The platforms a policy can map to, in one place: their names (policy `platforms:` keys, a
ticket's `platform`, an instance's `platform`) and the priorities each has out of the box."""

from __future__ import annotations

from typing import Literal, get_args

PlatformName = Literal["jira", "zendesk"]
PLATFORMS: tuple[str, ...] = get_args(PlatformName)

#: Each platform's own priority names -> the neutral ones, when the policy maps none.
DEFAULT_PRIORITIES: dict[str, dict[str, str]] = {
    "zendesk": {"urgent": "P1", "high": "P2", "normal": "P3", "low": "P4"},
    "jira": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"},
}
