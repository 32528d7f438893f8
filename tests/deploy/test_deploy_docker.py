"""The Docker recipes: the documented `docker run` keeps the state in a named volume where the
image keeps it, and deploy/docker/compose.yaml (PostgreSQL plus the connector running the demo
against the sandbox) is a valid Compose file whose services, volumes and files exist.

No Docker engine runs here, so the compose file is checked against the Compose
Specification's JSON schema (compose-spec.json beside this file: compose-spec/compose-spec,
schema/compose-spec.json at commit 170098ba07d9, Apache-2.0, compose-spec.LICENSE), and the
script its connector runs (demo.sh) is run here against the real sandbox.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import psycopg
import pytest
import yaml

from tests.deploy.recipes import (
    DEPLOY,
    ROOT,
    STATE_DIR,
    code_blocks,
    environment,
    escalate_command,
)

COMPOSE = DEPLOY / "docker" / "compose.yaml"
DEMO = DEPLOY / "docker" / "demo.sh"
SCHEMA = Path(__file__).with_name("compose-spec.json")
IMAGE_TAG = re.compile(r"[\w./-]+:(?P<tag>\w[\w.-]*)")


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_compose_file_is_valid_for_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert [e.message for e in validator.iter_errors(compose())] == []
    broken = compose()
    broken["services"]["connector"]["depends_onn"] = broken["services"]["connector"].pop(
        "depends_on"
    )
    assert any("depends_onn" in e.message for e in validator.iter_errors(broken))


def test_the_connector_starts_once_postgres_is_healthy() -> None:
    services = compose()["services"]
    postgres, connector = services["postgres"], services["connector"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert connector["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    tags = {name: IMAGE_TAG.fullmatch(s["image"]) for name, s in services.items()}
    assert all(t and t["tag"] != "latest" for t in tags.values()), tags
    assert re.fullmatch(r"\d+\.\d+-\w+", tags["postgres"]["tag"])  # a release, not 17 or latest


def test_every_volume_and_file_it_names_exists() -> None:
    data = compose()
    here = COMPOSE.parent
    build = data["services"]["connector"]["build"]
    assert (here / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    for service in data["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (here / source).is_file(), volume
            else:
                assert source in data["volumes"], volume
    entry = data["services"]["connector"]["entrypoint"]
    assert entry == ["sh", "/demo/demo.sh"]
    assert "./demo.sh:/demo/demo.sh:ro" in data["services"]["connector"]["volumes"]


def test_the_connector_reaches_the_postgres_service() -> None:
    services = compose()["services"]
    server, client = services["postgres"]["environment"], services["connector"]["environment"]
    url = urlsplit(client["ESCALATE_STATE_URL"])
    assert url.scheme == "postgresql" and url.password is None
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == server["POSTGRES_USER"] and url.path == "/" + server["POSTGRES_DB"]
    assert client["ESCALATE_STATE_PASSWORD"] == server["POSTGRES_PASSWORD"]


def run_demo(tmp_path: Path, bin_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = environment(
        bin_dir,
        SANDBOX_DIR=str(tmp_path / "sandbox"),
        ESCALATE_STATE_DIR=str(tmp_path / "state"),
        **extra,
    )
    if "ESCALATE_STATE_URL" not in extra:
        env.pop("ESCALATE_STATE_URL", None)
    return subprocess.run(
        ["sh", str(DEMO)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_demo_adds_the_state_section_then_plans_and_runs_twice(tmp_path: Path) -> None:
    """demo.sh with a stand-in `escalate`: its sandbox writes a config and says it is up."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "escalate"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = sandbox ]; then\n'
        '    printf "version: 1\\n" > "$4/escalate.yaml"\n'
        '    echo "Ctrl-C stops the sandbox."\n'
        "    exec sleep 60\n"
        "fi\n"
        f'echo "$*" >> {calls}\n'
    )
    fake.chmod(0o755)
    url = "postgresql://escalate@postgres:5432/escalate"
    done = run_demo(tmp_path, bin_dir, ESCALATE_STATE_URL=url)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "sandbox" / "escalate.yaml"
    assert yaml.safe_load(config.read_text()) == {
        "version": 1,
        "state": {"url": url, "password": {"env": "ESCALATE_STATE_PASSWORD"}},
    }
    assert calls.read_text().splitlines() == [
        f"plan -c {config} --format json --out {tmp_path}/sandbox/plan.json",
        f"run -c {config}",
        f"run -c {config}",
    ]


@pytest.mark.parametrize("database", [False, True], ids=["state-directory", "postgresql"])
def test_the_demo_runs_against_the_sandbox(
    tmp_path: Path, database: bool, request: pytest.FixtureRequest
) -> None:
    """The real thing: the sandbox in the background, plan, a run that escalates, a second
    run that has nothing left to do; without `state:`, and with a real PostgreSQL server as
    compose's connector sees it (ESCALATE_STATE_URL and ESCALATE_STATE_PASSWORD)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    escalate_command(bin_dir)
    extra = {"SANDBOX_TICKETS": "20"}
    if database:
        server = request.getfixturevalue("pg_server")
        extra |= {"ESCALATE_STATE_URL": server.url, "ESCALATE_STATE_PASSWORD": server.password}
    done = run_demo(tmp_path, bin_dir, **extra)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = done.stdout.split("$ escalate ")
    assert [s.split("\n", 1)[0] for s in steps[1:]] == [
        "plan",
        "run",
        "run    # again: nothing left to change",
    ]
    first, second = steps[2].splitlines()[1:], steps[3].splitlines()[1:]
    assert len(first) == len(second) == 3  # zendesk-prod, jira-cloud, jira-dc
    assert all(re.search(r"applied [1-9]\d*, unchanged 0, failed 0", line) for line in first)
    assert all("0 to change, applied 0" in line for line in second)
    if database:  # the lock, journal, cache and audit lines were the database's
        with psycopg.connect(server.url, password=server.password) as conn:
            runs = conn.execute(
                "SELECT count(DISTINCT run) FROM escalate_audit WHERE instance = 'jira-dc'"
            ).fetchone()
        assert runs is not None and runs[0] >= 2


def test_the_documented_docker_run_keeps_the_state_in_a_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"ESCALATE_STATE_DIR={STATE_DIR}" in dockerfile
    assert f'VOLUME ["{STATE_DIR}"]' in dockerfile
    assert f"--uid 10001 --home-dir {STATE_DIR} --create-home escalate" in dockerfile
    build, _ = code_blocks("### Docker", "sh")
    assert f"-v escalate-state:{STATE_DIR}" in build
    assert "--rm" in build and "run -c /config/escalate.yaml" in build
    (command,) = code_blocks("### Docker", "sh")[1:]
    assert "docker compose -f deploy/docker/compose.yaml up" in command


def test_the_demo_script_is_plain_sh() -> None:
    done = subprocess.run(["sh", "-n", str(DEMO)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
