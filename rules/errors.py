"""The root of the project's error tree (the whole tree is drawn in `connector/errors.py`).

It lives here because `rules/` is the bottom layer: adapters and the connector derive from it.
"""

from __future__ import annotations


class EscalationError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(EscalationError):
    """A user-fixable problem in the configuration, policy or an input file (exit code 2)."""
