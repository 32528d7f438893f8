"""Lateness of an event-caused escalation in `escalate serve`: an agent asks for a higher
level on a ticket, the emulated platform delivers its signed webhook, and the service writes
the escalation. Measured from the agent's edit (the webhook queued) to the change written on
the emulator, over real HTTP both ways.

    .venv/bin/python benchmarks/bench_serve.py                   # Zendesk, 1k and 10k open
    .venv/bin/python benchmarks/bench_serve.py --platforms zendesk jira-cloud --counts 1000

For each platform and count, a fresh sandbox (seeded, 10% due, every answer delayed by
`--latency`) gets a webhook (Zendesk: and its trigger, as `escalate setup` makes them),
`escalate serve --instance X` starts as a child process with the default `debounce` (1 s) and
`interval` (60 s), and once it is ready (its first full sweep done) `--events` tickets at L1,
one after the other, get an agent's request for L2 (the example policy's `agent-request`
rule). Per event: edit -> written (seconds), and the requests the service sent for it.
Goal (issue 18): under 5 s from delivery to written change.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.sandbox import Sandbox  # noqa: E402
from connector.sandbox.box import INSTANCES  # noqa: E402
from emulators.jira import JiraEmulator  # noqa: E402
from emulators.jira import hooks as jira_hooks  # noqa: E402
from emulators.outbox import Outbox  # noqa: E402
from emulators.zendesk import ZendeskEmulator  # noqa: E402
from emulators.zendesk import hooks as zendesk_hooks  # noqa: E402

WAIT = float(os.environ.get("BENCH_SERVE_WAIT", "120"))  # seconds an event may take at most
READY = 1800.0  # seconds the first full sweep may take (10k tickets: minutes)
SECRET = "bench-webhook-secret"


def hook_up(box: Sandbox, platform: str, url: str) -> None:
    """The webhook (and Zendesk's trigger) `escalate setup` would make, pointing at `url`."""
    instance = INSTANCES[platform]
    emu = box.emulators[instance]
    with box._locks[instance]:
        if isinstance(emu, ZendeskEmulator):
            hook = zendesk_hooks.create_webhook(
                emu,
                {"name": "Escalation connector", "endpoint": url, "http_method": "POST",
                 "request_format": "json", "status": "active",
                 "subscriptions": ["conditional_ticket_events"]},
                emu.me,
            )  # fmt: skip
            trigger = {
                "title": "Escalation connector: tell it of ticket changes",
                "conditions": {
                    "all": [{"field": "current_user", "operator": "is_not", "value": str(emu.me)}],
                    "any": [{"field": "update_type", "operator": "is", "value": "Change"}],
                },
                "actions": [
                    {
                        "field": "notification_webhook",
                        "value": [hook["id"], zendesk_hooks.sample_body()],
                    }
                ],
            }
            zendesk_hooks.create_trigger(emu, {"trigger": trigger}, emu.me)
            (box.directory / "hook.secret").write_text(emu.webhook_secrets[hook["id"]])
        else:
            assert isinstance(emu, JiraEmulator)
            body = {"name": "Escalation connector", "url": url, "secret": SECRET,
                    "events": ["jira:issue_created", "jira:issue_updated"]}  # fmt: skip
            jira_hooks.route(emu, "POST", jira_hooks.BASE, body)
            (box.directory / "hook.secret").write_text(SECRET)


def config(box: Sandbox, platform: str) -> Path:
    doc = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    # No storm guard: the first sweep writes the 10% due at once (as `run --force` would).
    doc["run"] = {**(doc.get("run") or {}), "state_dir": "state", "max_changes": 0}
    doc["serve"] = {"webhooks": {INSTANCES[platform]: {"secret": {"file": "hook.secret"}}}}
    path = box.directory / "serve.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def level(box: Sandbox, platform: str, ticket: str) -> object:
    instance = INSTANCES[platform]
    emu, world = box.emulators[instance], box.worlds[instance]
    with box._locks[instance]:
        if isinstance(emu, ZendeskEmulator):
            return emu.field_value(int(ticket), world.titles["level"])  # type: ignore[attr-defined]
        assert isinstance(emu, JiraEmulator)
        return emu.issues[ticket].fields.get(world.tracking["level"])  # type: ignore[attr-defined]


def ask(box: Sandbox, platform: str, ticket: str) -> None:
    """An agent sets the escalation request field to L2."""
    instance = INSTANCES[platform]
    emu, world = box.emulators[instance], box.worlds[instance]
    with box._locks[instance]:
        if isinstance(emu, ZendeskEmulator):
            field = world.tracking["request"]  # type: ignore[attr-defined]
            emu.agent_edit(int(ticket), {"custom_fields": [{"id": field, "value": "L2"}]})
        else:
            assert isinstance(emu, JiraEmulator)
            emu.edit(ticket, values={world.titles["request"]: "L2"})  # type: ignore[attr-defined]


def escalated(box: Sandbox, platform: str, ticket: str) -> bool:
    return level(box, platform, ticket) not in (None, "", "L1")


def hinted_cycles(url: str) -> float:
    """Cycles the service ran for webhooks so far (any outcome)."""
    text = requests.get(url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "escalation_serve_cycles_total" and sample.labels["reason"] == "webhook"
    )


def candidates(box: Sandbox, platform: str, count: int) -> list[str]:
    """Open tickets with no level yet, that nothing else moves now."""
    out = []
    for ticket in box.tickets(INSTANCES[platform]):
        if (
            ticket.tracking.level is None
            and ticket.status_category in ("new", "open")
            and not ticket.tracking.request
        ):
            out.append(ticket.id)
    return out[: count * 3]  # some the policy will not escalate now: skipped


def until(check: Any, what: str, wait: float = WAIT, every: float = 0.005) -> None:
    deadline = time.monotonic() + wait
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)


def measure(platform: str, count: int, events: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp, contextlib.ExitStack() as stack:
        box = stack.enter_context(
            Sandbox(Path(tmp), tickets=count, latency=latency, platforms=[platform], due_share=0.10)
        )
        instance = INSTANCES[platform]
        path = config(box, platform)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
        env["PYTHONPATH"] = str(ROOT)
        cmd = [sys.executable, "-m", "connector.cli", "serve", "-c", str(path),
               "--instance", instance, "--listen", "127.0.0.1:0"]  # fmt: skip
        (box.directory / "hook.secret").write_text("placeholder")
        err = (box.directory / "serve.err").open("w")
        child = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=tmp
        )
        stack.callback(lambda: (child.terminate(), child.wait(60)))
        assert child.stdout is not None
        url = child.stdout.readline().removeprefix("serving on ").strip()
        kind = "zendesk" if platform == "zendesk" else "jira"
        hook_up(box, platform, f"{url}/webhooks/{kind}/{instance}")
        started = time.perf_counter()
        until(
            lambda: requests.get(url + "/readyz", timeout=5).status_code == 200, "ready", READY, 0.5
        )
        first = time.perf_counter() - started
        outbox = Outbox().start()
        stack.callback(outbox.close)
        box.emulators[instance].outbox = outbox  # type: ignore[union-attr]
        picked = candidates(box, platform, events)
        log = box.emulators[instance].log  # type: ignore[union-attr]
        late, sent, skipped = [], [], 0
        kinds: collections.Counter[str] = collections.Counter()  # the last event's requests
        try:
            for ticket in picked:
                if len(late) >= events:
                    break
                before, cycles = len(log), hinted_cycles(url)
                t0 = time.perf_counter()
                ask(box, platform, ticket)

                def done(t: str = ticket, n: float = cycles) -> bool:
                    return escalated(box, platform, t) or hinted_cycles(url) > n

                until(done, f"ticket {ticket}")
                if not escalated(box, platform, ticket):
                    skipped += 1  # its cycle ran and the policy does not escalate it now
                    continue
                late.append(time.perf_counter() - t0)
                sent.append(len(log) - before)
                kinds = collections.Counter(_kind(call) for call in log[before:])
                outbox.drain()
        except TimeoutError:  # the service's last lines: its temporary directory goes
            print((box.directory / "serve.err").read_text()[-6000:], file=sys.stderr)
            raise
        child.send_signal(15)
        code = child.wait(60)
    return {
        "platform": platform,
        "open": count,
        "events": len(late),
        "skipped": skipped,
        "first_sweep_s": round(first, 2),
        "lateness_median_s": round(statistics.median(late), 2),
        "lateness_max_s": round(max(late), 2),
        "requests_per_event_median": statistics.median(sent),
        "last_event_requests": dict(kinds.most_common()),
        "exit": code,
    }


def _kind(call: object) -> str:
    """A request as `METHOD /path`, ids as N (Zendesk's log: tuples; Jira's: calls)."""
    text = " ".join(call) if isinstance(call, tuple) else f"{call.method} {call.path}"  # type: ignore[attr-defined]
    return re.sub(r"\d+", "N", text.split("?")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", nargs="+", default=["zendesk"], choices=sorted(INSTANCES))
    parser.add_argument("--counts", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for platform in args.platforms:
        for count in args.counts:
            row = measure(platform, count, args.events, args.latency)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps({"load": os.getloadavg(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
