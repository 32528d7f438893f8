"""`escalate setup` with config.example.yaml on fresh emulated instances (Zendesk, Jira Cloud,
Jira Data Center: no custom field at all), through the real CLI over HTTP: what it shows is
what it sends, it creates and reports the tracking and the policy's fields, and the run after
it escalates (the closure rule sees solved tickets). Then: a missing policy field switches off
only what reads it, named; an existing tracking field that holds values is adopted only after
a warning."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.setup import fill
from connector.config import read_text
from connector.sandbox import catalog
from connector.sandbox.config import example_path, example_scopes, instance_settings, with_instances
from connector.sandbox.jira import EXTRA_STATUSES, GROUP_FIELD, PROJECTS
from emulators.http import Answer, Request
from emulators.jira import JiraEmulator
from emulators.server import EmulatorServer
from emulators.zendesk import ZendeskEmulator
from rules.policy import load_policy
from tests.adapters.fakes import FakeTime
from tests.connector.platforms import NOW, Result, invoke

HOUR = 3600.0
SECRET = "fresh-secret-2b7c"
KINDS = ("zendesk", "jira-cloud", "jira-dc")
TRACKING = (
    "Escalation level",
    "Escalated at",
    "Escalation rule",
    "Escalation count",
    "SLA due",
    "Escalation state",
    "Escalation request",
    "Escalation approved by",
    "Escalation outcome",
)
POLICY_FIELDS = ("Escalate to a manager", "Product area")


class Recorder:
    """Serves an emulator and keeps every request it answered (bodies included)."""

    def __init__(self, emulator: ZendeskEmulator | JiraEmulator) -> None:
        self.emulator, self.requests = emulator, list[Request]()

    def handle(self, request: Request) -> Answer:
        self.requests.append(request)
        return self.emulator.handle(request)

    def posted(self, *paths: str) -> list[tuple[str, Any]]:
        return [
            (r.path, json.loads(r.body or b"null"))
            for r in self.requests
            if r.method == "POST" and r.path.endswith(paths)
        ]


@dataclass
class Fresh:
    kind: str
    emulator: ZendeskEmulator | JiraEmulator
    recorder: Recorder
    url: str
    tmp: Path
    capsys: pytest.CaptureFixture[str]
    time: FakeTime
    instance: str = field(init=False)

    def __post_init__(self) -> None:
        self.instance = {"zendesk": "zendesk-prod"}.get(self.kind, self.kind)

    @property
    def zendesk(self) -> ZendeskEmulator:
        assert isinstance(self.emulator, ZendeskEmulator)
        return self.emulator

    @property
    def jira(self) -> JiraEmulator:
        assert isinstance(self.emulator, JiraEmulator)
        return self.emulator

    def config(self) -> Path:
        """config.example.yaml, its instances replaced by this one (as the sandbox does)."""
        text = read_text(example_path())
        secret = self.tmp / "secret"
        secret.write_text(SECRET)
        settings = instance_settings(
            self.kind,
            self.url,
            secret,
            example_scopes(text),
            email="bot@example.com",
            client="escalation-connector",
        )
        path = self.tmp / "escalate.yaml"
        path.write_text(with_instances(text, {self.instance: settings}), encoding="utf-8")
        return path

    def invoke(self, *args: str | Path) -> Result:
        return invoke(self.capsys, self.time, *args)


def fresh_emulator(kind: str, time: FakeTime) -> ZendeskEmulator | JiraEmulator:
    """An instance with no custom field: the groups, projects and statuses an admin has."""
    policy = load_policy(read_text(example_path()))
    instance = {"zendesk": "zendesk-prod"}.get(kind, kind)
    if kind == "zendesk":
        zd = ZendeskEmulator(clock=time.clock, fields=(), groups=catalog.groups(policy, instance))
        zd.clients["escalation-connector"] = (SECRET, zd.me)
        return zd
    jira = JiraEmulator(flavour="cloud" if kind == "jira-cloud" else "dc", clock=time.clock)
    jira.statuses.update(EXTRA_STATUSES)
    for key in PROJECTS:
        jira.add_project(key, kind="service_desk")
    if jira.cloud:
        jira.api_tokens["bot@example.com"] = SECRET
    else:
        jira.pats.add(SECRET)
    return jira


@pytest.fixture(params=KINDS)
def f(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Fresh]:
    time = FakeTime(NOW)
    emulator = fresh_emulator(request.param, time)
    recorder = Recorder(emulator)
    with EmulatorServer(recorder) as url:
        yield Fresh(request.param, emulator, recorder, url, tmp_path, capsys, time)


def previewed(out: str) -> list[tuple[str, str, Any]]:
    """The requests a preview shows, in order: (method, path, body)."""
    found = []
    for line in out.splitlines():
        m = re.fullmatch(r" {17}(POST) (\S+) (\{.*\})", line)
        if m:
            found.append((m.group(1), m.group(2), json.loads(m.group(3))))
    return found


def created(out: str, instance: str) -> dict[str, str]:
    """Field title -> id, from setup's report."""
    pattern = rf"^{re.escape(instance)}: created field '([^']+)' \(([^)]+)\)"
    return dict(re.findall(pattern, out, re.MULTILINE))


def field_ids(f: Fresh) -> dict[str, str]:
    if f.kind == "zendesk":
        return {str(d["title"]): str(fid) for fid, d in f.zendesk.fields.items()}
    return {str(d["name"]): str(d["id"]) for d in f.jira.fields if d.get("custom")}


def seed(f: Fresh) -> tuple[str, str]:
    """An open P1 at L1 and a ticket solved at L2 (escalated by hand), now."""
    if f.kind == "zendesk":
        p1 = f.zendesk.add_ticket(priority="urgent", group="Support L1", subject="Site down")
        solved = f.zendesk.add_ticket(
            status="solved", group="Support L2 Specialists", fields={"Escalation level": "L2"}
        )
        return str(p1), str(solved)
    p1 = f.jira.create_issue("SUP", priority="Highest", summary="Site down")
    solved = f.jira.create_issue("SUP", status="Done", values={"Escalation level": "L2"})
    return p1, solved


def add_to_screens(f: Fresh, ids: dict[str, str]) -> None:
    """What setup tells a Jira admin to do by hand: put the new fields on the edit screens."""
    for editable in f.jira.screens.values():
        editable.update(ids.values())


def test_setup_shows_exactly_what_it_sends_and_the_run_after_it_escalates(f: Fresh) -> None:
    config = f.config()
    shown = f.invoke("setup", "-c", config)
    assert shown.code == 2 and "re-run with --yes" in shown.err
    assert not field_ids(f), "nothing is created without a yes"
    preview = previewed(shown.out)
    wanted = [*TRACKING, *POLICY_FIELDS] + ([GROUP_FIELD] if f.kind != "zendesk" else [])
    for title in wanted:
        assert re.search(rf"^  create field   '{title}' \(", shown.out, re.MULTILINE), title
    assert "(policy field, read by rule 'customer-asks'): " in shown.out
    assert "(policy field, read by function 'network'): " in shown.out

    made = f.invoke("setup", "-c", config, "--yes")
    assert made.code == 0, made.out + made.err
    ids = created(made.out, f.instance)
    assert sorted(ids) == sorted(wanted) and ids == {t: field_ids(f)[t] for t in wanted}
    queue = "view" if f.kind == "zendesk" else "filter"
    assert f"{f.instance}: created {queue} 'Escalated tickets': " in made.out

    # What was sent is what was shown, request by request, the new ids filled in.
    paths = ("/ticket_fields", "/views") if f.kind == "zendesk" else ("/field", "/filter")
    sent = f.recorder.posted(*paths)
    by_title = {t: int(i) if f.kind == "zendesk" else i for t, i in ids.items()}
    assert sent == [(path, fill(body, by_title)) for _, path, body in preview]
    assert previewed(made.out) == preview  # the same plan again, before the yes

    if f.kind != "zendesk":
        add_to_screens(f, ids)
    p1, solved = seed(f)
    f.time.now += 3 * HOUR
    run = f.invoke("run", "-c", config)
    assert run.code == 0, run.out + run.err
    assert "warning" not in run.out
    assert level(f, p1) == "L2"  # p1-unresolved-1h
    assert "post-incident-review" in tags(f, solved)  # close-and-review saw the solved ticket
    assert value(f, solved, "Escalation outcome")
    again = f.invoke("setup", "-c", config)
    assert again.code == 0 and again.out.endswith("nothing to create\n")


def test_without_the_policy_fields_only_what_reads_them_is_off(f: Fresh) -> None:
    config = f.config()
    made = f.invoke("setup", "-c", config, "--yes", "--no-policy-fields")
    assert made.code == 0, made.out + made.err
    assert sorted(created(made.out, f.instance)) == sorted(
        [*TRACKING] + ([GROUP_FIELD] if f.kind != "zendesk" else [])
    )
    assert (
        f"{f.instance}: left out policy field 'Escalate to a manager': off until it exists:"
        " rule 'customer-asks'"
    ) in made.out
    if f.kind != "zendesk":
        add_to_screens(f, field_ids(f))
    p1, _ = seed(f)
    f.time.now += 3 * HOUR
    run = f.invoke("run", "-c", config)
    assert run.code == 0, run.out + run.err
    assert (
        "  warning: policy field 'Escalate to a manager' (missing): off here: rule"
        " 'customer-asks'; policy field 'Product area' (missing): off here: function 'network'."
    ) in run.out
    assert level(f, p1) == "L2"  # the rest of the policy runs
    doctor = f.invoke("doctor", "-c", config)
    assert "FAIL fields: policy field 'Escalate to a manager' (missing)" in doctor.out


def test_a_tracking_field_that_already_holds_values_is_adopted_after_a_warning(
    f: Fresh,
) -> None:
    config = f.config()
    if f.kind == "zendesk":
        f.zendesk.add_field("Escalation level", "text")
        tid = f.zendesk.add_ticket(fields={"Escalation level": "Tier 2"})
        where = (
            "1 of the 1 most recently updated tickets hold a value in it the connector did not"
            f" write (e.g. #{tid})"
        )
    else:
        f.jira.add_field("Escalation level", "text")
        key = f.jira.create_issue("SUP", values={"Escalation level": "Tier 2"})
        where = f"issue {key} (and maybe more) holds a value the connector did not write"
    made = f.invoke("setup", "-c", config, "--yes")
    shown = made.out
    assert "  adopt field    'Escalation level' (" in shown
    assert f"tracking): WARNING {where}; another tool may own this field" in shown
    assert made.code == 0, made.out + made.err
    assert re.search(
        rf"^{f.instance}: adopted field 'Escalation level' \([^)]+\), which already holds values$",
        made.out,
        re.MULTILINE,
    )
    asked = f.invoke("setup", "-c", config)  # everything exists now, but the warning stays
    assert asked.code == 2 and "re-run with --yes" in asked.err


# --- what the tickets show ------------------------------------------------------------------


def value(f: Fresh, ticket: str, title: str) -> object:
    if f.kind == "zendesk":
        return f.zendesk.field_value(int(ticket), title)
    return f.jira.issues[ticket].fields.get(f.jira.field_id(title))


def level(f: Fresh, ticket: str) -> object:
    return value(f, ticket, "Escalation level")


def tags(f: Fresh, ticket: str) -> list[str]:
    if f.kind == "zendesk":
        return list(f.zendesk.tickets[int(ticket)]["tags"])
    return list(f.jira.issues[ticket].fields["labels"])
