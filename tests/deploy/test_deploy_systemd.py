"""The systemd recipe (deploy/systemd/): the settings the docs promise, read from the unit files
(a dynamic user, so none to create; the state directory; an optional environment file; the
sandboxing), and systemd's own checks where systemd-analyze is installed: `verify` (unknown
keys, bad values, a missing unit) and `security`'s exposure score.

systemd-analyze is Debian's systemd package; CI has it (ESCALATE_REQUIRE_PARTS=1 fails without
it). Where it is installed but cannot verify even a trivial unit (some containers), those two
tests skip and say why."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.recipes import DEPLOY, STATE_DIR

UNITS = DEPLOY / "systemd"
SERVICE = UNITS / "escalation-connector.service"
TIMER = UNITS / "escalation-connector.timer"
#: `systemd-analyze security` rates the service at most this ("OK" ends at 3.9).
MAX_EXPOSURE = 2.0

Unit = dict[str, dict[str, list[str]]]


def parse(path: Path) -> Unit:
    """Sections, each key with every value it is given, in order (keys may repeat)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: keep settings on one line"
        if match := re.fullmatch(r"\[(\w+)\]", line):
            section = unit.setdefault(match[1], {})
            continue
        key, equals, value = line.partition("=")
        assert section is not None and equals, f"{path.name}:{number}: not KEY=VALUE"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}: {values}"
    return values[0]


def test_the_service_needs_no_user_and_no_file_to_exist() -> None:
    service = parse(SERVICE)
    assert one(service, "Service", "Type") == "oneshot"
    assert one(service, "Service", "DynamicUser") == "yes"
    assert "User" not in service["Service"] and "Group" not in service["Service"]
    state = one(service, "Service", "StateDirectory")
    assert f"/var/lib/{state}" == STATE_DIR
    assert f"ESCALATE_STATE_DIR={STATE_DIR}" in service["Service"]["Environment"]
    files = service["Service"]["EnvironmentFile"]
    assert files == ["-/etc/escalation-connector/env"]  # "-": a missing file is no error
    command = one(service, "Service", "ExecStart").split()
    assert command[0].startswith("/") and command[1:] == [
        "run",
        "-c",
        "/etc/escalation-connector/escalate.yaml",
    ]


def test_the_service_is_sandboxed() -> None:
    service = parse(SERVICE)["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }.items():
        assert service.get(key) == [value], key


def test_the_timer_starts_the_service_every_5_minutes() -> None:
    timer = parse(TIMER)
    assert SERVICE.stem == TIMER.stem  # a timer starts the service of its own name
    assert one(timer, "Timer", "OnCalendar") == "*:0/5"
    assert "Unit" not in timer["Timer"]
    assert one(timer, "Install", "WantedBy") == "timers.target"


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("ESCALATE_REQUIRE_PARTS") == "1":  # CI installs it and requires it
            pytest.fail("ESCALATE_REQUIRE_PARTS=1 but no systemd-analyze on PATH")
        pytest.skip("no systemd-analyze on PATH (Debian's systemd package)")
    return tool


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [analyze(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def installed_copy(folder: Path) -> list[Path]:
    """The units in `folder`, with ExecStart's program (on an installed host:
    /opt/escalation-connector/.venv/bin/escalate) replaced by an executable that exists here:
    verify checks that it does. A trivial pair of units first: if systemd-analyze cannot
    verify those here, skip with its answer."""
    control = folder / "control"
    control.mkdir()
    (control / "probe.service").write_text(
        "[Unit]\nWants=network-online.target\nAfter=network-online.target\n"
        "[Service]\nType=oneshot\nExecStart=/bin/true\n"
    )
    (control / "probe.timer").write_text(
        "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n"
    )
    probe = run("verify", "--man=no", *(str(p) for p in sorted(control.iterdir())))
    if probe.returncode != 0 or probe.stdout or probe.stderr:
        pytest.skip(f"systemd-analyze cannot verify units here: {probe.stderr or probe.stdout}")
    program = one(parse(SERVICE), "Service", "ExecStart").split()[0]
    stand_in = folder / "escalate"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copies = []
    for unit in (SERVICE, TIMER):
        copy = folder / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(program, str(stand_in)))
        copies.append(copy)
    return copies


def test_systemd_analyze_verifies_both_units(tmp_path: Path) -> None:
    copies = installed_copy(tmp_path)
    done = run("verify", "--man=no", *(str(p) for p in copies))
    # verify exits 0 on an unknown key or a bad value, but says so: any output is a finding.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_systemd_analyze_rates_the_sandbox_ok(tmp_path: Path) -> None:
    service, _ = installed_copy(tmp_path)
    done = run("security", "--offline=yes", str(service))
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    if found is None:
        pytest.skip(f"systemd-analyze security --offline is not available here: {done.stderr}")
    assert float(found[1]) <= MAX_EXPOSURE, done.stdout
