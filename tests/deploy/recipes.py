"""Shared by the deploy recipe tests: where the recipes are, what the docs show of them, and an
`escalate` command that runs this checkout's code (the recipes call `escalate` by name)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OPERATIONS = ROOT / "docs" / "operations.md"
#: The state directory every recipe uses (the Dockerfile's ESCALATE_STATE_DIR, systemd's
#: StateDirectory, the cron user's home).
STATE_DIR = "/var/lib/escalation-connector"


def section(heading: str) -> str:
    """The text of docs/operations.md under `heading` (e.g. "### cron"), up to the next heading
    of the same or a higher level (lines inside code fences are never headings)."""
    depth = len(heading.split(" ", 1)[0])
    lines = OPERATIONS.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(heading + "\n")
    fenced = False
    for end in range(start + 1, len(lines)):
        fenced ^= lines[end].startswith("```")
        marks = len(lines[end]) - len(lines[end].lstrip("#"))
        if not fenced and 0 < marks <= depth and lines[end][marks : marks + 1] == " ":
            return "".join(lines[start:end])
    return "".join(lines[start:])


def code_blocks(heading: str, lang: str) -> list[str]:
    """The fenced code blocks of language `lang` in that section, in order."""
    pattern = re.compile(rf"^```{re.escape(lang)}\n(.*?)^```", re.MULTILINE | re.DOTALL)
    return pattern.findall(section(heading))


def escalate_command(folder: Path) -> Path:
    """An executable `escalate` in `folder` that runs this checkout with this interpreter."""
    path = folder / "escalate"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m connector.cli "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def environment(path_first: Path, **extra: str) -> dict[str, str]:
    """This process's environment with `path_first` first on PATH and this checkout importable."""
    env = dict(os.environ)
    env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    env.update(extra)
    return env
