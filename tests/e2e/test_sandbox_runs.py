"""The real CLI against the sandbox (the example policy on seeded Zendesk, Jira Cloud and Jira
DC over loopback HTTP, on the sandbox's fake clock): agents editing the tickets being written
(409s and races), one edit that makes an escalation moot, the storm guard, `apply` refusing a
stale plan, and no credential in any output, audit line or plan.

After each (tests/e2e/sandboxes.py): no comment above what one escalation per level writes, no
level skipped or repeated, no agent edit lost, and after a fault-free re-run nothing is due and
a further run changes nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.jira import JiraWorld
from connector.sandbox.zendesk import ZendeskWorld
from emulators.jira import JiraEmulator
from emulators.zendesk import ZendeskEmulator
from tests.e2e.sandboxes import (
    CLOUD,
    DC,
    ZD,
    Box,
    assert_as_control,
    assert_on_course,
    put,
    reached,
    sandbox,
    settle,
)


@pytest.fixture
def box(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Box]:
    with sandbox(tmp_path, capsys) as found:
        yield found


def zendesk_agent(box: Box) -> tuple[int, str]:
    """An agent other than the seeding one: (user id, e-mail)."""
    world = box.sandbox.worlds[ZD]
    assert isinstance(world, ZendeskWorld)
    uid = world.agents[1]
    return uid, str(world.emu.users[uid]["email"])


def jira_agent(box: Box, name: str) -> dict[str, object]:
    world = box.sandbox.worlds[name]
    assert isinstance(world, JiraWorld)
    return dict(world.emu.users[world.agents[1]])


def zendesk_edit(emu: ZendeskEmulator, tid: str, edit: dict[str, object]) -> Callable[[], None]:
    """An agent's update of ticket `tid`, to run just before the connector's lands."""
    return lambda: emu.agent_edit(int(tid), edit)


def jira_edit(emu: JiraEmulator, key: str, **edit: Any) -> Callable[[], None]:
    """A person's edit of issue `key` in the Jira UI."""
    return lambda: emu.edit(key, **edit)


def test_agents_editing_the_tickets_being_written(box: Box) -> None:
    """Zendesk: an agent's update lands just before ours (409 on safe_update, re-read,
    re-evaluate, write once). Jira (no compare-and-set): an edit between our re-read and our
    edit, answered 409 once; and an edit just before our re-read. Tags/labels, status and
    assignee changes all stand next to the escalation."""
    zendesk = box.zendesk()
    uid, email = zendesk_agent(box)
    tagged, assigned = box.pick(ZD, "p1-breach", 2)
    (kept,) = box.pick(ZD, "agent-request", moves=False)  # a note that keeps the owner
    edits: dict[str, dict[str, object]] = {
        tagged: {"additional_tags": ["customer-called"], "status": "pending"},
        assigned: {"assignee_id": uid},
        kept: {"assignee_id": uid, "status": "hold"},
    }
    for tid, edit in edits.items():
        zendesk.before_write(int(tid), zendesk_edit(zendesk, tid, edit))
    raced: dict[str, str] = {}
    early: dict[str, str] = {}
    for name in (CLOUD, DC):
        jira, agent = box.jira(name), jira_agent(box, name)
        (raced[name],) = box.pick(name, "p1-breach")
        (early[name],) = box.pick(name, "agent-request", moves=False)
        race = jira_edit(jira, raced[name], add_labels=["customer-called"], status="On hold")
        jira.before(put(raced[name]), race)
        jira.fail(put(raced[name]), 409)
        assign = {"values": {"Assignee": agent}, "status": "Waiting for customer"}
        jira.conflict(early[name], jira_edit(jira, early[name], **assign))
    result = box.run()
    assert result.code == 0, result.out + result.err[-3000:]
    assert not any(zendesk.hooks.get(int(t)) for t in edits)  # every agent edit happened
    ticket = zendesk.tickets[int(tagged)]
    assert "customer-called" in ticket["tags"] and ticket["status"] == "pending"
    assert zendesk.tickets[int(kept)]["assignee_id"] == uid
    assert zendesk.tickets[int(kept)]["status"] == "hold"
    # The escalation moves the ticket to L2's group (and so unassigns it), decided on the
    # ticket as the agent left it: the handoff note names the agent as the previous owner.
    (note,) = [c for c in box.comments(ZD, assigned) if "Previous owner:" in c]
    assert f"/ {email}\n" in note.replace("\\", "")  # (Markdown escapes taken out)
    for name in (CLOUD, DC):
        jira = box.jira(name)
        fields = jira.issues[raced[name]].fields
        assert "customer-called" in fields["labels"] and fields["status"]["name"] == "On hold"
        fields = jira.issues[early[name]].fields
        assert fields["assignee"] == jira_agent(box, name)
        assert fields["status"]["name"] == "Waiting for customer"
        assert not [f for f in jira.faults if f.times]
    assert_on_course(box)
    settle(box)


def test_an_edit_that_makes_the_escalation_moot_is_not_written_over(box: Box) -> None:
    """An agent lowers a P1's priority just before we write (Zendesk: the 409 path; Jira: just
    before the re-read): re-evaluated, it needs nothing, and nothing is written."""
    zendesk, moot = box.zendesk(), {ZD: box.pick(ZD, "p1-breach", opened_p1=True)[0]}
    zendesk.before_write(int(moot[ZD]), zendesk_edit(zendesk, moot[ZD], {"priority": "low"}))
    for name in (CLOUD, DC):
        (moot[name],) = box.pick(name, "p1-breach", opened_p1=True)
        jira = box.jira(name)
        jira.conflict(moot[name], jira_edit(jira, moot[name], priority="Low"))
    result = box.run()
    assert result.code == 0, result.out + result.err[-3000:]
    assert_on_course(box, moot=moot.items())
    assert all("unchanged 1," in line for line in result.out.splitlines()), result.out
    assert box.zendesk().tickets[int(moot[ZD])]["priority"] == "low"
    for name in (CLOUD, DC):
        assert box.jira(name).issues[moot[name]].fields["priority"]["name"] == "Low"
    settle(box, moot=moot.items())
    now = reached(box.sandbox)
    for name, ticket in moot.items():  # never escalated, no comment, at any point
        assert now[name][ticket] == box.before[name][ticket]


def writes(box: Box) -> list[str]:
    """The write requests the platforms received (sign-in and searches are not writes)."""
    out = [f"{m} {p}" for m, p in box.zendesk().log if m in ("PUT", "POST") and "oauth" not in p]
    for name in (CLOUD, DC):
        log = box.jira(name).log
        out += [f"{r.method} {r.path}" for r in log if r.method == "PUT" or "/comment" in r.path]
    return out


def test_storm_guard(box: Box) -> None:
    """More changes due than `run.max_changes` (or --max-changes): nothing written on that
    instance, exit 1; exactly as many passes; --force writes whatever the guard says."""
    due = {name: len(box.planned(name)) for name in (ZD, CLOUD, DC)}
    assert len(set(due.values())) == 1 and due[ZD] > 1
    n = due[ZD]
    refused = box.run(max_changes=n - 1)
    assert refused.code == 1, refused.out + refused.err[-3000:]
    lines = refused.out.splitlines()
    assert len(lines) == 3 and all(f"{n} to change; REFUSED: {n} tickets" in li for li in lines)
    assert "more than max_changes = " + str(n - 1) in refused.out
    flag = box.run("--max-changes", str(n - 1))  # the flag wins over the config's 200
    assert flag.code == 1 and flag.out.count("REFUSED") == 3, flag.out
    assert writes(box) == [] and reached(box.sandbox) == box.before
    exact = box.run("--instance", ZD, "--max-changes", str(n))
    assert exact.code == 0 and f"{n} to change, applied {n}," in exact.out, exact.out
    forced = box.run("--force", max_changes=1)
    assert forced.code == 0, forced.out + forced.err[-3000:]
    assert forced.out.count(f"{n} to change, applied {n},") == 2, forced.out  # the two Jiras
    assert_as_control(box)
    settle(box)


def test_apply_refuses_a_stale_plan(box: Box) -> None:
    """A plan, then an agent's edit on one ticket per instance, then `apply`: those tickets
    are refused and reported, every other change of the plan is applied; a later run escalates
    the refused ones."""
    plan = box.dir / "plan.json"
    made = box.invoke("plan", "-c", box.config(), "--out", plan)
    assert made.code == 0, made.out + made.err[-3000:]
    document = json.loads(plan.read_text(encoding="utf-8"))
    planned = {name: len(box.planned(name)) for name in (ZD, CLOUD, DC)}
    assert len(document["changes"]) == sum(planned.values())
    assert writes(box) == []
    box.time.sleep(120)  # the agents work on
    stale = {ZD: box.pick(ZD, "vip")[0], CLOUD: box.pick(CLOUD, "vip")[0]}
    stale[DC] = box.pick(DC, "complaints")[0]
    box.zendesk().agent_edit(int(stale[ZD]), {"additional_tags": ["customer-called"]})
    for name in (CLOUD, DC):
        box.jira(name).edit(stale[name], add_labels=["customer-called"])
    applied = box.invoke("apply", plan)
    assert applied.code == 1, applied.out + applied.err[-3000:]  # 1: some changes not made
    for name, ticket in stale.items():
        assert f"{name} {ticket}: refused, updated since the plan was made" in applied.out
        n = planned[name]
        assert f"{n} to change, applied {n - 1}, unchanged 1, failed 0, stale 1" in applied.out
    now = reached(box.sandbox)
    for name, ticket in stale.items():
        assert now[name][ticket] == box.before[name][ticket]
    assert_on_course(box)
    settle(box)  # the run after it escalates the refused tickets, once


def test_no_credential_in_outputs_audit_log_or_plan(box: Box) -> None:
    """Plans (stdout and file), run output, JSON logs and the audit log never hold a secret or
    an access token, even where a platform's error message quotes one back."""
    secrets = box.sandbox.secrets
    plan = box.dir / "plan.json"
    shown = box.invoke("plan", "-c", box.config(), "--format", "json")
    saved = box.invoke("plan", "-c", box.config(), "--out", plan)
    assert shown.code == 0 and saved.code == 0, shown.err[-3000:] + saved.err[-3000:]
    assert json.loads(shown.out)["changes"] and plan.exists()
    zendesk, (tid, *_) = box.zendesk(), box.planned(ZD)
    echo = f"client_secret={secrets[ZD]} refused"
    zendesk.fail("POST", r"/oauth/tokens$", 503, body={"error": "Unavailable", "description": echo})
    zendesk.fail(
        "PUT", rf"/tickets/{tid}$", 422, body={"error": "RecordInvalid", "description": echo}
    )
    for name in (CLOUD, DC):
        key = next(iter(box.planned(name)))
        quoted = {"errorMessages": [f"token {secrets[name]} may not edit {key}"], "errors": {}}
        box.jira(name).fail(put(key), 400, body=quoted)
        box.jira(name).fail(lambda r: "/search" in r.path, 502, body=quoted)
    result = box.run()
    assert result.code == 1, result.out + result.err[-3000:]  # the refused ones failed
    assert result.out.count("failed 1,") == 3, result.out
    assert zendesk.bearer  # an access token was issued (and is looked for)
    wrong = "sbx_not-the-right-token-5e1"
    box.sandbox.secret_files[DC].write_text(wrong, encoding="utf-8")
    refused = box.invoke("run", "-c", box.config(), "--instance", DC)
    assert refused.code == 2, refused.out + refused.err[-3000:]
    assert "401" in refused.out + refused.err
    box.sandbox.secret_files[DC].write_text(secrets[DC], encoding="utf-8")
    audit = (box.state / "audit.jsonl").read_text(encoding="utf-8")
    assert "client_secret=**** refused" in audit  # the quoted secret was recorded, masked
    box.assert_no_secret(plan.read_text(encoding="utf-8"))
    assert not [text for text in box.outputs if wrong in text]
    settle(box)


class Preempt(logging.Handler):
    """A thread switch the scheduler may make in any run (it did in about one suite run in ten
    before this test forced it). The first writer thread to log zenpy's "Cleaning objects"
    (handling an update's answer, between two reads of the shared `_dirty_object`) is held
    until another thread has set `_dirty_object` (logged "Setting dirty object") and its
    update reached the platform; that update's answer waits until the held thread has moved
    on (its own next "Setting dirty object")."""

    def __init__(self, emu: ZendeskEmulator) -> None:
        super().__init__(logging.DEBUG)
        self.emu, self.held, self.first = emu, 0, threading.Lock()
        self.dirtied, self.released, self.moved_on = (threading.Event() for _ in range(3))

    def watch(self, tid: int) -> None:
        """Call `arrived` whenever an update of ticket `tid` reaches the platform."""

        def hook() -> None:
            self.watch(tid)
            self.arrived()

        self.emu.before_write(tid, hook)

    def handle(self, record: logging.LogRecord) -> bool:
        """Without the handler's lock, which would hold the other threads' logging too."""
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        message, me = record.getMessage(), threading.get_ident()
        if message.startswith("Cleaning objects"):
            with self.first:
                if self.held:
                    return
                self.held = me
            self.released.wait(5)  # (in vain if a lock serialised the updates)
        elif message.startswith("Setting dirty object") and self.held:
            (self.moved_on if me == self.held else self.dirtied).set()

    def arrived(self) -> None:
        if self.dirtied.is_set() and not self.released.is_set():
            self.released.set()
            self.moved_on.wait(5)


def test_concurrent_zendesk_updates_do_not_crash_each_other(box: Box) -> None:
    """zenpy keeps per-call state on its API objects (`TicketApi._dirty_object`, set by each
    update and cleared when its answer is handled). With one client shared by the writer
    threads, a thread held inside `_clean_dirty_objects` while another updates iterated the
    other thread's Ticket ("TypeError: 'Ticket' object is not iterable") after its own update
    had landed: reported as an internal error (exit 3), and the reply it owed never sent. The
    adapter now gives each thread its own zenpy client (adapters/zendesk/client.py)."""
    preempt, zenpy_log = Preempt(box.zendesk()), logging.getLogger("zenpy.lib.api")
    for tid in box.planned(ZD):
        preempt.watch(int(tid))
    level, propagate = zenpy_log.level, zenpy_log.propagate
    zenpy_log.addHandler(preempt)
    zenpy_log.setLevel(logging.DEBUG)
    zenpy_log.propagate = False  # zenpy's debug lines stay out of pytest's report
    try:
        result = box.run("--instance", ZD, concurrency=2)  # the held thread and one other
    finally:
        zenpy_log.removeHandler(preempt)
        zenpy_log.setLevel(level)
        zenpy_log.propagate = propagate
    crashed = [line for line in result.err.splitlines() if "internal error" in line]
    assert not crashed and result.code == 0, crashed


def test_the_next_run_reads_the_history_of_the_tickets_updated_since_only(box: Box) -> None:
    """Zendesk serves comments per ticket: with the history cache in the state dir, a run
    reads the audits of the tickets written or edited since the last run, not of all of them."""
    emu = box.zendesk()

    def audits_since(start: int) -> set[str]:
        return {p.split("/")[4] for m, p in emu.log[start:] if p.endswith("/audits")}

    assert box.run("--instance", ZD).code == 0
    first = audits_since(0)
    written = {
        str(r["ticket"])
        for r in box.audit()
        if r["event"] == "write" and r["instance"] == ZD and r["status"] == "applied"
    }
    assert written and len(first) > len(written)
    box.time.now += 300  # the next cron run
    edited = sorted(first - written)[0]
    uid, _ = zendesk_agent(box)
    emu.agent_edit(int(edited), {"comment": {"body": "on it", "public": False}}, author=uid)
    start = len(emu.log)
    assert box.run("--instance", ZD).code == 0
    again = audits_since(start)
    assert edited in again and again <= written | {edited}
    assert len(again) <= len(written) + 1 < len(first)
