"""Credentials: read from the environment or a file named in the config, masked everywhere.

A config never holds a secret itself, only where to find it:

    auth:
      token: {env: ZENDESK_API_TOKEN}      # or {file: /run/secrets/zendesk-token}

Every value read here is registered, and `mask(text)` replaces it with `****` in any text
(log lines, error messages, plans, audit records). `Secret` itself never prints its value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from rules.errors import ConfigError

_KNOWN: set[str] = set()
MASK = "****"


class Secret:
    """A credential; `str()`/`repr()` show only where it came from."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__


def register(value: str) -> None:
    """Mask `value` from now on (tokens obtained at run time, such as OAuth access tokens)."""
    if len(value) >= 4:
        _KNOWN.add(value)


def mask(text: str) -> str:
    for value in sorted(_KNOWN, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_all(value: Any) -> Any:
    """`value` (JSON-like) with every string masked, before serialising: JSON escapes would
    hide a secret containing a quote or a backslash from `mask` on the serialised text."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_all(v) for v in value]
    return value


class SecretRef(BaseModel):
    """Where a secret lives: exactly one of `env` or `file`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, value: object) -> object:
        # Raised as a value error so the message never echoes what was written.
        if not isinstance(value, dict):
            raise ValueError(
                "a secret is never written in the config; give where to read it:"
                " {env: VARIABLE} or {file: PATH}"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: VARIABLE or file: PATH")
        return self

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def resolve(self, what: str) -> Secret:
        """The secret, or a ConfigError that names where it was expected (never its value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{what}: environment variable {self.env} is not set or empty")
            return Secret(value.strip(), f"env:{self.env}")
        assert self.file is not None
        try:
            value = Path(self.file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read {self.file}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"{what}: {self.file} is empty")
        return Secret(value, f"file:{self.file}")
