"""`escalate setup` creates the webhooks `escalate serve` listens to, `escalate doctor` checks
them, and the platforms' own deliveries through them drive serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.secrets import mask
from connector.serve.service import listen
from emulators.outbox import Outbox
from tests.connector.platforms import Platforms, platforms
from tests.connector.serving import JIRA_HOOK_SECRET, served, with_serve
from tests.connector.test_run import jira_level


@pytest.fixture(params=["cloud", "dc"])
def p(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Platforms]:
    with platforms(tmp_path, capsys, flavour=request.param) as found:
        box = Outbox().start()
        found.zendesk.outbox = found.jira.outbox = box
        yield found
        box.close()


def test_setup_creates_the_webhooks_once_doctor_checks_them_and_they_drive_serve(
    p: Platforms,
) -> None:
    sock = listen(("127.0.0.1", 0))
    host, port = sock.getsockname()[:2]
    public = f"http://{host}:{port}"
    config = with_serve(p.config(), p.tmp, public_url=public, debounce="1s", interval="1h")
    made = p.invoke("setup", "-c", config, "--yes")
    assert made.code == 0, made.out + made.err
    hook_url = f"{public}/webhooks/zendesk/zendesk"
    assert 'POST /api/v2/webhooks {"webhook": {"name": "Escalation connector"' in made.out
    assert "<signing secret: serve.webhooks.INSTANCE.secret>" in made.out  # never the secret
    assert JIRA_HOOK_SECRET not in made.out + made.err
    [hook] = p.zendesk.webhooks.values()
    assert hook["endpoint"] == hook_url and hook["status"] == "active"
    [trigger] = p.zendesk.triggers.values()
    assert trigger["actions"][0]["value"][0] == hook["id"]
    secret_file = p.tmp / "zendesk-hook.secret"
    assert secret_file.read_text().strip() == p.zendesk.webhook_secrets[hook["id"]]
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert mask(f"x{secret_file.read_text().strip()}x") == "x****x"  # read back: masked
    [jira_hook] = p.jira.webhooks.values()
    assert jira_hook["url"] == f"{public}/webhooks/jira/jira"
    assert jira_hook["secret"] == JIRA_HOOK_SECRET
    assert (
        jira_hook["filters"]["issue-related-events-section"]
        == "project = SUP AND statusCategory != Done"
    )

    again = p.invoke("setup", "-c", config, "--yes")
    assert "nothing to create" in again.out, again.out
    assert (
        len(p.zendesk.webhooks) == 1 and len(p.zendesk.triggers) == 1 and len(p.jira.webhooks) == 1
    )

    checked = p.invoke("doctor", "-c", config)
    assert "ok   webhook: 'Escalation connector'" in checked.out, checked.out
    assert "ok   webhook secret: the configured secret is the webhook's" in checked.out
    assert (
        "ok   webhook trigger: trigger 'Escalation connector: tell it of ticket changes' calls it"
        in checked.out
    )

    # The platforms now tell serve of changes by themselves.
    with served(config, p.time, sock=sock) as s:
        s.step()
        tid = p.zendesk.add_ticket(priority="normal", group="Support L1")
        key = p.jira.create_issue("SUP", priority="Medium")
        p.zendesk.agent_edit(tid, {"priority": "urgent"})
        p.jira.edit(key, priority="Highest")
        assert p.zendesk.outbox is not None and p.zendesk.outbox.drain()
        assert {status for _, status, _ in p.zendesk.outbox.sent} == {202}
        p.time.now += 1
        s.step()
        assert p.zendesk.field_value(tid, "Escalation level") == "L2"
        assert jira_level(p, key) == "L2"

    hook["status"] = "inactive"
    secret_file.write_text("not-the-sécret\n")  # not ASCII: still a plain mismatch
    p.jira.webhooks.clear()
    broken = p.invoke("doctor", "-c", config)
    assert broken.code == 1
    assert "FAIL webhook: 'Escalation connector'" in broken.out and "inactive" in broken.out
    assert "FAIL webhook secret: the configured secret is not the webhook's" in broken.out
    assert (
        f"FAIL webhook: none sends to {public}/webhooks/jira/jira: run escalate setup" in broken.out
    )


def test_setup_without_a_public_url_says_how_to_get_webhooks(p: Platforms) -> None:
    config = with_serve(p.config(), p.tmp)
    made = p.invoke("setup", "-c", config, "--yes")
    assert "cannot fix     no webhook: set serve.public_url" in made.out
    assert p.zendesk.webhooks == {} and p.jira.webhooks == {}
