"""Logging: JSON lines off a terminal, secrets masked in every value, levels by mode."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from adapters.secrets import register
from connector.logs import configure


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_every_secret_masked() -> None:
    register("tok-3f9a0c1d")
    out = io.StringIO()
    configure(json=True, stream=out)
    log = structlog.get_logger("test")
    log.warning(
        "write_failed",
        instance="zd",
        message="PUT /tickets/1 answered 401 for Bearer tok-3f9a0c1d",
        detail={"header": "Authorization: Bearer tok-3f9a0c1d"},
        count=3,
    )
    (record,) = lines(out)
    assert record["event"] == "write_failed" and record["level"] == "warning"
    assert record["message"] == "PUT /tickets/1 answered 401 for Bearer ****"
    assert "tok-3f9a0c1d" not in out.getvalue()
    assert record["count"] == 3  # numbers stay numbers


def test_info_is_logged_as_json_but_not_on_a_terminal_or_when_quiet() -> None:
    out = io.StringIO()
    configure(json=True, stream=out)
    structlog.get_logger("test").info("instance_evaluated", fetched=3)
    assert [r["event"] for r in lines(out)] == ["instance_evaluated"]
    for kwargs in ({"json": False}, {"json": True, "quiet": True}):
        quiet = io.StringIO()
        configure(stream=quiet, **kwargs)  # type: ignore[arg-type]
        structlog.get_logger("test").info("instance_evaluated", fetched=3)
        structlog.get_logger("test").warning("storm_guard", changes=9)
        text = quiet.getvalue()
        assert "instance_evaluated" not in text and "storm_guard" in text
