"""What notices cost (notify/): send rate on one channel, and the time they add to a run.

    .venv/bin/python benchmarks/bench_notify.py                 # both parts, 3 repeats
    .venv/bin/python benchmarks/bench_notify.py --notices 400 --latency 0.02 \\
        --concurrency 1 4 8 --escalations 1000 --repeat 3

1. Send rate: `--notices` notices due on one Slack channel whose service (emulators/sink.py, a
   real HTTP server on 127.0.0.1) answers each after `--latency` seconds, sent by
   `Outbox.deliver` at each `--concurrency` (the channel's bound), each notice committed to
   the state store (SQLite) as "sending" before and as "sent" after its request.
2. Added run time: one in-process `escalate run` escalating `--escalations` P1 tickets on an
   in-memory platform, without notices and with one notice per escalation (the same Slack
   channel at `--latency`, concurrency 4), in the same process, alternating. Wall and CPU
   (this process) per run; the medians' difference is what the notices add.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.memory.adapter import MemoryAdapter  # noqa: E402
from adapters.memory.store import Store  # noqa: E402
from connector.cli import main as cli  # noqa: E402
from connector.config import Config  # noqa: E402
from connector.progress import Progress  # noqa: E402
from connector.runner import Runtime  # noqa: E402
from emulators.sink import Sink  # noqa: E402
from notify.channels import open_channel  # noqa: E402
from notify.outbox import Outbox  # noqa: E402
from rules.channels import ChannelModel  # noqa: E402
from state.sqlite import SqliteNotices  # noqa: E402

POLICY = """
levels: [{name: L1, owner: {group: Support L1}}, {name: L2, owner: {group: Support L2}}]
rules:
  - {name: p1-to-l2, when: {priority: P1}, then: {escalate: next, note: handoff}}
templates: {handoff: "Escalated {{ ticket.title }}"}
platforms:
  zendesk:
    fields: {level: Escalation level, escalated_at: Escalated at, rule: Escalation rule,
             count: Escalation count, sla_due: SLA due, state: Escalation state}
"""


def _row(i: int) -> tuple[Any, ...]:
    body = {
        "instance": "bench",
        "url": f"https://acme.zendesk.com/agent/tickets/{i}",
        "level": "L2",
        "rule": "",
        "priority": "P1",
        "title": [[False, "Ticket "], [True, str(i)]],
        "body": [[False, "Escalated "], [True, f"Printer {i} on fire"]],
    }
    now = time.time()
    return (f"n{i:06d}", str(i), "chat", f"level:L2#0.{i}", "trigger", 0.0, "due", 0,
            json.dumps(body), "", now, now)  # fmt: skip


def send_rate(notices: int, latency: float, concurrency: int, tmp: Path) -> dict[str, Any]:
    sink = Sink(delay=latency).start(smtp=False)
    try:
        rows = SqliteNotices(tmp / f"rate-{time.monotonic_ns()}.sqlite3")
        rows.add([_row(i) for i in range(notices)])
        model = ChannelModel.model_validate({"type": "slack", "url": {"env": "BENCH_HOOK"}})
        import os  # noqa: PLC0415

        os.environ["BENCH_HOOK"] = sink.url("/slack/bench")
        channel = open_channel("chat", model, None, 10.0)
        outbox = Outbox(rows, "bench", {"chat": channel}, time.time, concurrency=concurrency)
        started = time.perf_counter()
        results = outbox.deliver()
        wall = time.perf_counter() - started
        assert len(results) == notices and all(r.status.value == "sent" for r in results)
        assert len(sink.posted("/slack/bench")) == notices
        rows.close()
    finally:
        sink.close()
    return {"concurrency": concurrency, "wall": wall, "per_second": notices / wall}


def one_run(escalations: int, sink: Sink | None, tmp: Path) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(dir=tmp))
    doc = yaml.safe_load(POLICY)
    (folder / "secret").write_text("not-used\n")
    auth = {"type": "api_token", "email": "bot@example.com", "token": {"file": "secret"}}
    doc["instances"] = {
        "zd": {"platform": "zendesk", "url": "https://acme.zendesk.com", "auth": auth}
    }
    doc["run"] = {"state_dir": "state", "max_changes": 0}
    if sink is not None:
        (folder / "hook").write_text(sink.url("/slack/run"))
        doc["levels"][1]["notify"] = ["chat"]
        channel = {"type": "slack", "url": {"file": "hook"}}
        doc["notify"] = {"channels": {"chat": channel}, "concurrency": 4}
    path = folder / "escalate.yaml"
    path.write_text(yaml.safe_dump(doc))
    store = Store(time.time)
    for _ in range(escalations):
        store.add(priority="P1")

    def connect(config: Config, name: str) -> MemoryAdapter:
        return MemoryAdapter(name, store, config.policy, sleep=time.sleep)

    runtime = Runtime(time.time, time.sleep, Progress(enabled=False), connect)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cli(["run", "-c", str(path)], runtime=runtime)
    except SystemExit as exc:
        assert not exc.code, exc.code
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def added(escalations: int, latency: float, repeat: int, tmp: Path) -> dict[str, Any]:
    sink = Sink(delay=latency).start(smtp=False)
    without: list[dict[str, float]] = []
    with_: list[dict[str, float]] = []
    try:
        for _ in range(repeat):
            without.append(one_run(escalations, None, tmp))
            before = len(sink.hits)
            with_.append(one_run(escalations, sink, tmp))
            assert len(sink.hits) - before == escalations
    finally:
        sink.close()

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return {
        "escalations": escalations,
        "without": {"wall": med(without, "wall"), "cpu": med(without, "cpu")},
        "with": {"wall": med(with_, "wall"), "cpu": med(with_, "cpu")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        for c in args.concurrency:
            runs = [send_rate(args.notices, args.latency, c, Path(tmp)) for _ in range(args.repeat)]
            rate = statistics.median(r["per_second"] for r in runs)
            bound = c / args.latency
            print(
                f"send rate, {args.notices} notices, {args.latency * 1000:.0f} ms latency,"
                f" concurrency {c}: median {rate:.1f} notices/s ({rate / bound:.0%} of the"
                f" {bound:.0f}/s the latency allows)"
            )
        found = added(args.escalations, args.latency, args.repeat, Path(tmp))
    w, o = found["with"], found["without"]
    print(
        f"run with {args.escalations} escalations: without notices wall {o['wall']:.2f} s,"
        f" CPU {o['cpu']:.2f} s; with one notice each ({args.latency * 1000:.0f} ms,"
        f" concurrency 4) wall {w['wall']:.2f} s, CPU {w['cpu']:.2f} s; added wall"
        f" {w['wall'] - o['wall']:.2f} s ({w['wall'] / o['wall']:.2f}x), added CPU"
        f" {w['cpu'] - o['cpu']:.2f} s ({(w['cpu'] - o['cpu']) / args.escalations * 1000:.2f} ms"
        " per notice)"
    )


if __name__ == "__main__":
    main()
