"""The CLI starts fast because commands are imported when they run: `--help` and `--version`
load no command and no pydantic, `validate` loads no platform client library (BENCHMARKS.md
has the start-up times), and the help `escalate --help` lists is each command's own."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
LOADED = """
import json, sys
from connector.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded(*args: str) -> tuple[int, set[str]]:
    """Run `escalate ARGS` in a fresh interpreter: its exit code and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["code"], {m.split(".")[0] for m in found["modules"]} | set(found["modules"])


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_help_and_version_load_no_command(flag: str) -> None:
    code, modules = loaded(flag)
    assert code == 0
    assert not {"pydantic", "structlog", "requests", "zenpy", "jira"} & modules
    assert not {m for m in modules if m.startswith(("connector.commands", "adapters.jira"))}


def test_validate_loads_no_platform_client_library() -> None:
    code, modules = loaded("validate", "-c", str(ROOT / "config.example.yaml"))
    assert code == 0
    assert "connector.commands.offline" in modules
    assert not {"zenpy", "jira", "requests", "tenacity", "urllib3"} & modules


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    module, attribute, short = COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    assert command.name == name
    assert command.get_short_help_str(limit=200) == short
