"""What the project ships: every top-level package in the code is one setuptools installs, and
the container image copies each of them before it installs (a package left out imports in the
source tree and fails in the image)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_packages() -> set[str]:
    """Top-level folders of the product with an __init__.py (not tests, benchmarks, deploy)."""
    skip = {"tests", "benchmarks", "deploy", "docs"}
    return {
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in skip and not p.parent.name.startswith(".")
    }


def test_setuptools_installs_every_package() -> None:
    found = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = found["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {name.rstrip("*") for name in include} == code_packages()


def test_the_image_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    assert copied == code_packages()
