"""The sandbox: seeded platforms the real adapters read over HTTP, a config that loads, a mix
with tickets due and tickets not, secrets kept in 0600 files, and only the right secret works."""

from __future__ import annotations

import base64
import socket
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from adapters.package import Wiring
from adapters.registry import platform
from connector.cli import main
from connector.config import load_config
from connector.report import InstanceRun
from connector.sandbox import INSTANCES, Sandbox, due, snapshot
from connector.sandbox.box import CLIENT_ID, JIRA_EMAIL
from connector.sandbox.cli import sandbox_group
from connector.sandbox.config import example_path
from connector.sandbox.mix import mix
from connector.sandbox.notices import rows as notice_rows
from emulators.server import EmulatorServer
from notify.outbox import Result, Status
from rules.engine import evaluate
from rules.errors import ConfigError
from rules.model import Ticket
from rules.needs import needs
from rules.policy import load_policy

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC).timestamp()  # a Wednesday morning in Berlin
SUNDAY_NIGHT = datetime(2026, 3, 8, 23, 30, tzinfo=UTC).timestamp()
JIRA_STATUSES = {
    "Open": "open",
    "In Progress": "open",
    "Waiting for customer": "pending",
    "On hold": "hold",
    "Done": "solved",  # the past week's, in the scope for close-and-review
}
STATUSES = {
    "zendesk-prod": {
        "new": "new",
        "open": "open",
        "pending": "pending",
        "hold": "hold",
        "solved": "solved",
    },
    "jira-cloud": JIRA_STATUSES,
    "jira-dc": JIRA_STATUSES,
}


def frozen(at: float = NOW) -> Any:
    return lambda: at


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), clock=frozen()) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def fetched(box: Sandbox) -> dict[str, list[Ticket]]:
    """Every instance's tickets, read by the real adapter over HTTP."""
    config = load_config(box.config_path)
    now = datetime.fromtimestamp(NOW, UTC)
    out: dict[str, list[Ticket]] = {}
    for name, settings in config.instances.items():
        wiring = Wiring(frozen(), lambda s: None)
        adapter = platform(settings.platform).build(name, settings, config.policy, wiring)
        try:
            adapter.fields()
            out[name] = list(adapter.fetch(needs(config.policy), now))
        finally:
            adapter.close()
    return out


def test_the_config_is_the_example_policy_pointed_at_the_sandbox(box: Sandbox) -> None:
    config = load_config(box.config_path)
    example = load_policy(example_path().read_text(encoding="utf-8"), "example")
    assert config.policy.hash == example.hash  # every policy key kept as it was
    assert set(config.instances) == set(INSTANCES.values())
    for name, settings in config.instances.items():
        assert settings.url == box.urls[name]
        assert settings.url.startswith("http://127.0.0.1:")
    text = box.config_path.read_text(encoding="utf-8")
    for name, secret in box.secrets.items():
        assert secret not in text
        assert f"file: {box.secret_files[name].resolve()}" in text
    zendesk = config.instances["zendesk-prod"]
    assert zendesk.auth.type == "oauth_client_credentials"  # type: ignore[attr-defined]
    assert zendesk.auth.client_id == CLIENT_ID  # type: ignore[attr-defined]
    assert config.instances["jira-cloud"].auth.email == JIRA_EMAIL  # type: ignore[attr-defined]
    assert config.instances["jira-dc"].group_field == "Support team"  # type: ignore[attr-defined]


def test_secret_files_are_readable_by_their_owner_only(box: Sandbox) -> None:
    for name, path in box.secret_files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == box.secrets[name]
    assert len(set(box.secrets.values())) == len(box.secrets)


def test_the_real_adapters_read_every_seeded_ticket_over_http(
    box: Sandbox, fetched: dict[str, list[Ticket]]
) -> None:
    week_ago = NOW - 7 * 86400
    for name, tickets in fetched.items():
        ids = [t.id for t in tickets]
        # Jira's scope keeps done issues for a week: the past month's older ones are out.
        gone = {
            tid
            for tid, spec in zip(box.ticket_ids[name], box.specs, strict=True)
            if name != "zendesk-prod"
            and spec.kind.startswith("past-")
            and spec.steps[-1].at < week_ago
        }
        past = sum(1 for spec in box.specs if spec.kind.startswith("past-"))
        assert box.count == 300 and past == 120 and len(ids) == 300 + past - len(gone)
        assert len(gone) > 20 or name == "zendesk-prod"
        assert sorted(ids) == sorted(set(box.ticket_ids[name]) - gone)
        escalated = [t for t in tickets if t.tracking.level is not None]
        assert escalated and all(t.tracking.state.written_at for t in escalated)
        if name == "zendesk-prod":
            org_tags = {tag for t in tickets if t.organization for tag in t.organization.tags}
            assert org_tags == {"vip", "strategic"}
        else:
            assert {c for t in tickets for c in t.components} == {"Network", "VPN"}
        assert any(t.requester and t.requester.domain == "bigbank.example" for t in tickets)
        assert {"network", "billing"} <= {tag for t in tickets for tag in t.tags}
        assert {t.custom.get("Product area") for t in tickets} >= {"network", "billing"}
        assert any(t.customer_replies >= 3 for t in tickets)
        assert any(t.reopens >= 2 for t in tickets)
        assert any(t.tracking.request for t in tickets)
        assert any(t.custom.get("Escalate to a manager") in (True, "Yes") for t in tickets)
        statuses = {t.status: t.status_category.value for t in tickets}
        assert statuses == STATUSES[name]


def test_doctor_passes_every_check_on_the_sandbox(box: Sandbox) -> None:
    """The example policy on the seeded platforms: fields, options, groups, permissions, and
    approvals recorded in a mapped field with an approver group that has a member."""
    config = load_config(box.config_path)
    for name, settings in config.instances.items():
        adapter = platform(settings.platform).build(
            name, settings, config.policy, Wiring(frozen(), lambda s: None)
        )
        try:
            checks = {c.name: c for c in adapter.check()}
        finally:
            adapter.close()
        assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
        assert "support-managers (2 members)" in checks["approvals"].detail, name


def test_the_approved_tickets_move_on_every_platform(
    box: Sandbox, fetched: dict[str, list[Ticket]]
) -> None:
    """The approver set the field through each platform (audit, changelog): the record names
    them (by e-mail; on Data Center, where an e-mail names no approver, as a member of the
    approver group), so the approval counts."""
    assert box.policy is not None
    now = datetime.fromtimestamp(NOW, UTC)
    for name, tickets in fetched.items():
        kinds = dict(zip(box.ticket_ids[name], (s.kind for s in box.specs), strict=True))
        approved = [t for t in tickets if kinds[t.id] == "approved"]
        assert approved, name
        for outcome in evaluate(box.policy, approved, now):
            assert outcome.change is not None and outcome.change.level_to == "L3", name
            assert any(r.rule == "approval" for r in outcome.change.reasons), name


def test_the_mix_has_due_tickets_and_many_that_need_nothing(
    box: Sandbox, fetched: dict[str, list[Ticket]]
) -> None:
    assert box.policy is not None
    designed = {
        name: {tid for tid, spec in zip(ids, box.specs, strict=True) if spec.due}
        for name, ids in box.ticket_ids.items()
    }
    in_process = due(box)
    for name, tickets in fetched.items():
        outcomes = list(evaluate(box.policy, tickets, datetime.fromtimestamp(NOW, UTC)))
        changed = {o.ticket for o in outcomes if o.change is not None}
        assert not [o for o in outcomes if o.skipped]
        assert 0.05 <= len(changed) / len(tickets) <= 0.30
        assert changed == designed[name]  # due by design, and nothing else
        assert changed == set(in_process[name])  # the in-process view agrees with the adapter
        levels = {o.change.level_to for o in outcomes if o.change is not None}
        assert {"L2", "management"} <= levels


def test_due_tickets_do_not_depend_on_the_weekday(tmp_path: Path) -> None:
    with Sandbox(
        tmp_path, tickets=120, clock=frozen(SUNDAY_NIGHT), platforms=["jira-dc"]
    ) as sandbox:
        designed = {
            tid
            for tid, spec in zip(sandbox.ticket_ids["jira-dc"], sandbox.specs, strict=True)
            if spec.due
        }
        assert set(due(sandbox)["jira-dc"]) == designed
        assert len(designed) == 12


def test_the_same_seed_gives_the_same_tickets(tmp_path: Path) -> None:
    def rows(where: str) -> list[Any]:
        with Sandbox(tmp_path / where, tickets=40, clock=frozen(), platforms=["zendesk"]) as box:
            return snapshot(box)["zendesk-prod"]

    assert rows("a") == rows("b")
    assert mix(40, seed=7, now=NOW) == mix(40, seed=7, now=NOW)
    assert mix(40, seed=7, now=NOW) != mix(40, seed=8, now=NOW)


def test_snapshot_shows_queues_and_the_connectors_comments(box: Sandbox) -> None:
    snap = snapshot(box)
    assert set(snap) == set(INSTANCES.values())
    for name, rows in snap.items():
        assert len(rows) == len(box.specs) == 300 + 120  # the past month's too
        assert [r.ticket for r in rows] == sorted(
            box.ticket_ids[name], key=lambda k: (k.split("-")[0], int(k.split("-")[-1]))
        )
        escalated = [r for r in rows if r.level]
        assert all(r.notes >= 1 for r in escalated)
        assert any(r.replies >= 1 for r in escalated)
        kinds = dict(zip(box.ticket_ids[name], (s.kind for s in box.specs), strict=True))
        noted = {kinds[r.ticket] for r in rows if not r.level and r.notes}
        assert noted == {"awaiting-approval", "approved"}  # L3 waits for its approver
        assert {r.group for r in rows} >= {"Support L1", "Support Management"}
        assert all(r.sla_due is None for r in rows if not r.notes)  # never written to
    jira_l2 = {r.group for r in snap["jira-cloud"] if r.level == "L2"}
    assert "support-l2" in jira_l2 and "Support L2 Specialists" not in jira_l2
    assert "Support L2 Specialists" in {r.group for r in snap["jira-dc"] if r.level == "L2"}
    assert {r.priority for r in snap["zendesk-prod"]} <= {"urgent", "high", "normal", "low"}


def test_only_the_right_secret_is_accepted(box: Sandbox) -> None:
    zd, cloud, dc = (box.urls[n] for n in ("zendesk-prod", "jira-cloud", "jira-dc"))

    def token(secret: str) -> requests.Response:
        body = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
        return requests.post(f"{zd}/oauth/tokens", json=body | {"client_secret": secret}, timeout=5)

    assert token("wrong").status_code == 401
    good = token(box.secrets["zendesk-prod"])
    assert good.status_code == 201
    bearer = {"Authorization": f"Bearer {good.json()['access_token']}"}
    assert requests.get(f"{zd}/api/v2/users/me.json", headers=bearer, timeout=5).ok

    def basic(secret: str) -> dict[str, str]:
        return {
            "Authorization": "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{secret}".encode()).decode()
        }

    myself = f"{cloud}/rest/api/3/myself"
    assert requests.get(myself, headers=basic("wrong"), timeout=5).status_code == 401
    assert requests.get(myself, headers=basic(box.secrets["jira-cloud"]), timeout=5).ok
    myself = f"{dc}/rest/api/2/myself"
    wrong = {"Authorization": "Bearer wrong"}
    assert requests.get(myself, headers=wrong, timeout=5).status_code == 401
    right = {"Authorization": f"Bearer {box.secrets['jira-dc']}"}
    assert requests.get(myself, headers=right, timeout=5).ok


class _Echo:
    def handle(self, *args: object) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"{}"


def test_latency_delays_each_answer_outside_the_emulator_lock() -> None:
    """Two requests must be in their delay at the same time: a barrier stands in for the
    sleep, and it only opens when both are waiting (it would time out under the lock)."""
    barrier = threading.Barrier(2, timeout=5)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        barrier.wait()

    server = EmulatorServer(_Echo(), latency=0.02, sleep=sleep)
    with server as url:
        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(requests.get(url, timeout=5).status_code)
            )
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200, 200]
    assert waited == [0.02, 0.02]


def test_serve_prints_how_to_use_the_sandbox_and_no_secret(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()  # return as soon as the sandbox is up
    result = CliRunner().invoke(
        sandbox_group,
        ["serve", "--dir", str(tmp_path), "--tickets", "10", "--seed", "3"],
        obj={"stop": stop},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert str(tmp_path / "escalate.yaml") in out
    for name in INSTANCES.values():
        assert f"{name}" in out
        path = next(p for p in tmp_path.iterdir() if p.name.startswith(name))
        assert f"$(cat {path})" in out
        assert path.read_text() not in out
    assert out.count("curl -s") >= 3
    assert "http://127.0.0.1:" in out
    # --tickets counts the open ones; the past month's solved ones come on top, and are said
    assert out.startswith("Sandbox: 14 tickets per platform, 10 open and 4 solved over the past")


def test_each_sandbox_has_its_own_state_directory(tmp_path: Path) -> None:
    """Under --dir: two sandboxes (and a real config, which leaves run.state_dir to the
    default) never share a lock, journal, history cache or audit log."""
    configs = []
    for name in ("one", "two"):
        with Sandbox(tmp_path / name, tickets=10, platforms=("zendesk",), clock=frozen()) as sb:
            configs.append(load_config(sb.config_path))
    assert [c.state_dir for c in configs] == [
        tmp_path / "one" / "state",
        tmp_path / "two" / "state",
    ]
    assert [c.audit_log for c in configs] == [
        p / "audit.jsonl" for p in (c.state_dir for c in configs)
    ]
    text = (tmp_path / "one" / "escalate.yaml").read_text()
    assert text.count("state_dir:") == 1  # the example's commented-out line replaced


def test_a_plan_on_the_sandbox_keeps_its_audit_log_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default state directory (what a real config without run.state_dir uses) stays
    untouched."""
    default = tmp_path / "default-state"
    monkeypatch.setenv("ESCALATE_STATE_DIR", str(default))
    with Sandbox(tmp_path / "box", tickets=10, platforms=("zendesk",), clock=frozen()) as sb:
        with pytest.raises(SystemExit) as info:
            main(["plan", "-c", str(sb.config_path), "--format", "json"])
        assert info.value.code == 0
    assert (tmp_path / "box" / "state" / "audit.jsonl").is_file()
    assert not default.exists()


def _free_base() -> int:
    """A base port with the two after it free as well (bound, then released)."""
    for _ in range(50):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        if base + 2 > 65535:
            continue
        held = []
        try:
            for port in range(base, base + 3):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no three free ports in a row")


def test_a_base_port_gives_the_same_urls_at_every_start(tmp_path: Path) -> None:
    base = _free_base()
    urls = []
    for _ in range(2):  # a restart, in the same directory
        with Sandbox(tmp_path, tickets=10, port=base, clock=frozen()) as sb:
            urls.append(dict(sb.urls))
            config = load_config(sb.config_path)
            assert {n: s.url for n, s in config.instances.items()} == sb.urls
    assert (
        urls[0]
        == urls[1]
        == {
            "zendesk-prod": f"http://127.0.0.1:{base}",
            "jira-cloud": f"http://127.0.0.1:{base + 1}",
            "jira-dc": f"http://127.0.0.1:{base + 2}",
        }
    )


def test_a_port_in_use_is_said_with_the_fix(tmp_path: Path) -> None:
    base = _free_base()
    taken = socket.socket()
    taken.bind(("127.0.0.1", base + 1))
    taken.listen()
    try:
        with pytest.raises(ConfigError) as info, Sandbox(tmp_path, tickets=10, port=base):
            pass
    finally:
        taken.close()
    message = str(info.value)
    assert message.startswith(f"cannot serve jira-cloud on 127.0.0.1:{base + 1}: ")
    assert f"ports {base} to {base + 2}: choose another --port" in message
    with Sandbox(tmp_path, tickets=10, port=base, platforms=("zendesk",)) as sb:  # all released
        assert sb.urls == {"zendesk-prod": f"http://127.0.0.1:{base}"}


def test_serve_port_and_state_are_printed(tmp_path: Path) -> None:
    base = _free_base()
    stop = threading.Event()
    stop.set()
    result = CliRunner().invoke(
        sandbox_group,
        ["serve", "--dir", str(tmp_path), "--tickets", "10", "--port", str(base)],
        obj={"stop": stop},
    )
    assert result.exit_code == 0, result.output
    assert f"  zendesk-prod  http://127.0.0.1:{base}\n" in result.output
    assert f"  jira-dc       http://127.0.0.1:{base + 2}\n" in result.output
    assert f"State:        {tmp_path / 'state'}  (locks, journal, audit log" in result.output


def test_the_demo_lists_notices_by_time_then_ticket_number() -> None:
    """Not in the order concurrent sends happened to finish: SUP-9 before SUP-10."""
    run = InstanceRun("jira-cloud", "jira")
    for ticket, at in (("SUP-10", 60.0), ("SUP-9", 60.0), ("NET-2", 0.0), ("SUP-10", 0.0)):
        run.notices.append(
            Result("id", ticket, "team-chat", "level:L2#0.1", "trigger", Status.SENT, 1, "", at)
        )
    assert [(r[1], r[3][-9:]) for r in notice_rows([run])] == [
        ("NET-2", "00:00 UTC"),
        ("SUP-10", "00:00 UTC"),
        ("SUP-9", "00:01 UTC"),
        ("SUP-10", "00:01 UTC"),
    ]
