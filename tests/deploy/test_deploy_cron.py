"""The cron recipe (deploy/cron/escalation-connector, an /etc/cron.d file): a valid cron.d file
whose job needs nothing a fresh host lacks (its output goes to syslog through `logger`, so no
log folder has to exist), and the one docs/operations.md shows."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.recipes import DEPLOY, STATE_DIR, code_blocks, environment

CRON_FILE = DEPLOY / "cron" / "escalation-connector"
#: Each schedule field's range: minute, hour, day of month, month, day of week.
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class Job:
    schedule: tuple[str, ...]
    user: str
    command: str


def parse(text: str) -> tuple[dict[str, str], list[Job]]:
    """The environment lines and the jobs of a cron.d file; any other line fails the test."""
    env: dict[str, str] = {}
    jobs: list[Job] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := ENV_LINE.match(line):
            env[match[1]] = match[2]
            continue
        fields = line.split(None, 6)
        assert len(fields) == 7, f"line {number}: not 5 schedule fields, a user and a command"
        jobs.append(Job(tuple(fields[:5]), fields[5], fields[6]))
    return env, jobs


def valid_field(field: str, low: int, high: int) -> bool:
    for part in field.split(","):
        match = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
        if match is None:
            return False
        numbers = [int(n) for n in match.groups()[1:3] if n is not None]
        if any(not low <= n <= high for n in numbers) or match[4] == "0":
            return False
    return True


def the_file() -> tuple[dict[str, str], list[Job]]:
    return parse(CRON_FILE.read_text(encoding="utf-8"))


def test_it_is_a_file_cron_reads() -> None:
    text = CRON_FILE.read_text(encoding="utf-8")
    # Debian's cron skips files in /etc/cron.d whose names have a dot; a last line without a
    # newline is ignored by some crons.
    assert re.fullmatch(r"[A-Za-z0-9_-]+", CRON_FILE.name)
    assert text.endswith("\n")
    env, jobs = the_file()
    assert len(jobs) == 1
    for field, (low, high) in zip(jobs[0].schedule, RANGES, strict=True):
        assert valid_field(field, low, high), field
    assert jobs[0].schedule == ("*/5", "*", "*", "*", "*")
    assert "%" not in jobs[0].command  # cron turns % into a newline
    assert env["SHELL"] == "/bin/sh"


def test_the_job_needs_nothing_a_fresh_host_lacks() -> None:
    env, (job,) = the_file()
    assert job.user == "escalate"  # created by the docs' useradd, with STATE_DIR as its home
    assert env["ESCALATE_STATE_DIR"] == STATE_DIR
    assert {"/usr/bin", "/bin"} <= set(env["PATH"].split(":"))  # where logger is
    run, _, logger = job.command.partition("|")
    words = shlex.split(run)
    assert words[0].startswith("/") and words[0].endswith("/bin/escalate")
    assert words[1:4] == ["run", "-c", "/etc/escalation-connector/escalate.yaml"]
    assert words[4:] == ["2>&1"]  # no file to append to, so no folder that must exist
    assert shlex.split(logger) == ["logger", "-t", "escalation-connector"]


def test_everything_the_run_prints_reaches_the_logger(tmp_path: Path) -> None:
    """The job's command line as /bin/sh runs it, with this run's `escalate` replaced by one
    that prints to stdout and stderr and fails, and `logger` by one that keeps its input."""
    env, (job,) = the_file()
    real = shlex.split(job.command)[0]
    fake = tmp_path / "escalate"
    fake.write_text('#!/bin/sh\necho summary "$@"\necho \'{"event": "x"}\' >&2\nexit 1\n')
    fake.chmod(0o755)
    logger = tmp_path / "logger"
    logger.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/tag\ncat > {tmp_path}/syslog\n')
    logger.chmod(0o755)
    command = job.command.replace(real, str(fake), 1)
    path = f"{tmp_path}:{env['PATH']}"  # the file's PATH, with the fake logger first
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env=environment(tmp_path, **{**env, "PATH": path}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.stdout == done.stderr == ""  # nothing left for cron to mail
    assert (tmp_path / "tag").read_text() == "-t escalation-connector\n"
    assert (tmp_path / "syslog").read_text() == (
        'summary run -c /etc/escalation-connector/escalate.yaml\n{"event": "x"}\n'
    )


def test_the_docs_show_this_file() -> None:
    (block,) = code_blocks("### cron", "cron")
    lines = [
        line
        for line in CRON_FILE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert block.splitlines() == lines
    (install,) = code_blocks("### cron", "sh")
    assert f"useradd --system --home-dir {STATE_DIR} --create-home" in install
    assert "install -m 0644 deploy/cron/escalation-connector /etc/cron.d/" in install
