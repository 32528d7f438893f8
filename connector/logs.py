"""Logging: structlog to stderr, JSON lines unless stderr is a terminal, secrets masked.

Only the CLI calls `configure`; library code just asks `structlog.get_logger(...)`. Every event
passes `mask_secrets` last before rendering, so a secret that reaches a log call by accident
(in an error message, a URL, a header) is printed as `****`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from adapters.secrets import mask


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask(value)
        elif value is not None and not isinstance(value, int | float | bool):
            event[key] = mask(str(value))
    return event


def configure(
    *, json: bool | None = None, quiet: bool = False, stream: TextIO | None = None
) -> None:
    """JSON when `json` (default: when `stream` is not a terminal); info level (warnings on a
    terminal, where the progress line says the rest), warnings with `quiet`."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if as_json and not quiet else logging.WARNING
        ),
        # sys.stderr as it is when a line is logged, unless a stream was given: a test harness
        # or a daemon may swap it after logging was configured.
        logger_factory=lambda *_: structlog.PrintLogger(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
