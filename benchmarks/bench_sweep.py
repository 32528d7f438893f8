"""Benchmark: the connector's own CPU per ticket of a full sweep (read, parse, map, evaluate).

    .venv/bin/python benchmarks/bench_sweep.py                      # this checkout, 3 repeats
    .venv/bin/python benchmarks/bench_sweep.py --against ../old     # old checkout vs this one
    .venv/bin/python benchmarks/bench_sweep.py --against ../old --same-data  # ... on one sandbox
    .venv/bin/python benchmarks/bench_sweep.py --profile jira-cloud # where the CPU goes

For each platform a sandbox (`connector.sandbox`: seeded Zendesk, Jira Cloud, Jira DC; the
example policy) is seeded with `--tickets` open tickets, and one full sweep (`adapter.fetch`
with the history the policy needs, no history cache, then `rules.engine.evaluate`) is recorded:
every answer the emulator gave, byte for byte. The sweep is then replayed `--repeat` times
from that recording by a transport that only looks the answers up, so the CPU measured
(`time.process_time`) is the connector's alone (requests, our session, JSON parsing, mapping
to `Ticket`, evaluation), not the emulator's. Reported: the median CPU per ticket in µs, of the
read (fetch alone), the sweep and their difference ("evaluate": the rules engine's part). The
configuration is loaded once per replay, before the sweeps are measured: loading it (YAML, the
policy, its templates) is a cost per run, not per ticket, reported apart ("config ms"). Each
measured sweep and read starts from a full collection (not measured): without it, where the
collector's periodic full collections fall (in the sweep, or in the read after it) moved the
"eval" difference by up to 15 µs per ticket from one checkout to the other.

With `--against DIR` (another checkout, say `git worktree add ../old <commit>`), each repeat
runs a child process per checkout, alternating old and new, each seeding the same sandbox
(same seed) and replaying its own recording; the table shows both medians and the median of
the per-repeat ratios new/old. With `--same-data` the other checkout reads this checkout's
sandbox, served over HTTP, instead of its own (`same_data.py`: the sandbox grows with the
project, so per ticket of each one's own is per ticket of different data). `--profile PLATFORM`
prints cProfile's split of one replay: JSON parsing, mapping, evaluation, HTTP (requests,
urllib3, our transport), the rest.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_data import Served, point, serve

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("zendesk", "jira-cloud", "jira-dc")
GROUPS = (  # py-spy file names -> part, first match wins
    ("parse", ("json/", "orjson", "complexjson")),
    ("mapping", ("/mapping.py", "/markup.py", "rules/tracking.py")),
    ("evaluate", ("rules/",)),
    ("http", ("requests/", "urllib3/", "adapters/http.py", "http/", "email/", "zenpy/")),
    ("http", ("jira/client.py", "jira/resilientsession.py")),
)


def child(root: Path, platform: str, tickets: int, seed: int, keep: Path) -> None:
    """In this process, with `root`'s code: seed a sandbox in `keep` and record one sweep
    there (`answers.pickle`, `sweep.json`)."""
    sys.path.insert(0, str(root))
    from connector.sandbox import INSTANCES, Sandbox  # noqa: PLC0415
    from emulators.transport import InProcess  # noqa: PLC0415

    instance = INSTANCES[platform]
    box = Sandbox(keep, tickets=tickets, seed=seed, platforms=[platform])
    with box:
        at = box.clock()
        recorder = Recorder(InProcess(box.emulators[instance], box._locks[instance]))
        count = sweep(box.config_path, instance, at, recorder)
    with (keep / "answers.pickle").open("wb") as out:
        pickle.dump(recorder.answers, out)
    meta = {"instance": instance, "at": at, "tickets": count, "requests": len(recorder.answers)}
    (keep / "sweep.json").write_text(json.dumps(meta))


def replay(root: Path, keep: Path, repeat: int) -> dict[str, Any]:
    """Replay the sweep recorded in `keep` `repeat` times; the CPU seconds of each."""
    sys.path.insert(0, str(root))
    meta = json.loads((keep / "sweep.json").read_text())
    with (keep / "answers.pickle").open("rb") as got:
        answers = pickle.load(got)
    from connector.config import load_config  # noqa: PLC0415

    cpu, read, config = [], [], []
    for _ in range(repeat):  # once per run, not per ticket: measured apart
        start = time.process_time()
        loaded = load_config(keep / "escalate.yaml")
        config.append(time.process_time() - start)
    args = loaded, meta["instance"], meta["at"]
    sweep(*args, Replay(answers))  # warm-up
    for _ in range(repeat):
        gc.collect()  # each from a clean collector: not paying for the last one's garbage
        start = time.process_time()
        assert sweep(*args, Replay(answers)) == meta["tickets"]
        cpu.append(time.process_time() - start)
        gc.collect()
        start = time.process_time()
        assert sweep(*args, Replay(answers), rules=False) == meta["tickets"]
        read.append(time.process_time() - start)
    import rules  # noqa: PLC0415

    assert Path(rules.__file__).parents[1] == root.resolve(), "the other checkout's code"
    return meta | {"cpu": cpu, "read": read, "config": config}


def sweep(config: Any, instance: str, at: float, under: Any, *, rules: bool = True) -> int:
    """One full sweep, fetch and (with `rules`) evaluation, over `under`: the number of
    tickets. `config`: the loaded configuration, or the path of its file."""
    from connector.config import load_config  # noqa: PLC0415
    from connector.sandbox.catalog import instant  # noqa: PLC0415
    from connector.sandbox.connection import connect  # noqa: PLC0415
    from rules.engine import evaluate  # noqa: PLC0415
    from rules.needs import needs  # noqa: PLC0415

    config = load_config(config) if isinstance(config, Path) else config
    now, policy = instant(at), config.policy
    adapter = connect(config, instance, under, lambda: at)
    try:
        tickets = adapter.fetch(needs(policy), now)
        return sum(1 for _ in (evaluate(policy, tickets, now) if rules else tickets))
    finally:
        adapter.close()


Key = tuple[str, str, bytes]
Answer = tuple[int, dict[str, str], bytes]


def key(request: requests.PreparedRequest) -> Key:
    body = request.body.encode() if isinstance(request.body, str) else request.body or b""
    return str(request.method), str(request.url), body


class Recorder(BaseAdapter):
    """Passes each request on, and keeps its answer."""

    def __init__(self, under: BaseAdapter) -> None:
        super().__init__()
        self.under, self.answers = under, dict[Key, Answer]()

    def send(self, request: requests.PreparedRequest, *a: Any, **kw: Any) -> requests.Response:
        response = self.under.send(request, *a, **kw)
        self.answers[key(request)] = response.status_code, dict(response.headers), response.content
        return response

    def close(self) -> None:
        return None


class Replay(BaseAdapter):
    """Answers each request as it was answered when recorded."""

    def __init__(self, answers: dict[Key, Answer]) -> None:
        super().__init__()
        self.answers = answers

    def send(self, request: requests.PreparedRequest, *a: Any, **kw: Any) -> requests.Response:
        status, headers, content = self.answers[key(request)]
        response = requests.Response()
        response.status_code, response._content = status, content
        response.headers = CaseInsensitiveDict(headers)
        response.url, response.request, response.encoding = str(request.url), request, "utf-8"
        return response

    def close(self) -> None:
        return None


def split(samples: Path) -> dict[str, float]:
    """py-spy's raw stacks: the share of samples in each part (the first part a stack has a
    frame of, in GROUPS order), in %."""
    counts = dict.fromkeys([g for g, _ in GROUPS] + ["other"], 0)
    for line in samples.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if "sweep (" not in stack and "_worker (concurrent" not in stack:
            continue  # start-up: imports, the config, the recording
        group = next((g for g, parts in GROUPS if any(p in stack for p in parts)), "other")
        counts[group] += int(n)
    total = sum(counts.values()) or 1
    return {g: round(100 * c / total, 1) for g, c in counts.items()}


def spawn(
    root: Path, platform: str, args: argparse.Namespace, served: Served | None = None, at: float = 0
) -> dict[str, Any]:
    """Seed and record with `root`'s code in one child, replay in another. With `served`
    (`--same-data`), the recording is then made again on the served sandbox, at `at`."""
    with tempfile.TemporaryDirectory() as tmp:
        keep = Path(tmp)
        run(root, "--record", keep, "--platforms", platform, *_seeding(args))
        if served is not None:
            point(keep, served)
            run(root, "--rerecord", keep, "--at", at)
        out = run(root, "--replay", keep, "--repeat", "3")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def rerecord(root: Path, keep: Path, at: float) -> None:
    """In this process, with `root`'s code: record the sweep of `keep`'s instance again, over
    HTTP on the platform its configuration now names (`same_data.point`)."""
    sys.path.insert(0, str(root))
    from requests.adapters import HTTPAdapter  # noqa: PLC0415

    meta = json.loads((keep / "sweep.json").read_text())
    recorder = Recorder(HTTPAdapter())
    count = sweep(keep / "escalate.yaml", meta["instance"], at, recorder)
    with (keep / "answers.pickle").open("wb") as out:
        pickle.dump(recorder.answers, out)
    meta |= {"at": at, "tickets": count, "requests": len(recorder.answers)}
    (keep / "sweep.json").write_text(json.dumps(meta))


def run(root: Path, *args: object) -> str:
    cmd = [sys.executable, __file__, "--root", str(root), *map(str, args)]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root).stdout


def _seeding(args: argparse.Namespace) -> list[str]:
    return ["--tickets", str(args.tickets), "--seed", str(args.seed)]


def profile(platform: str, args: argparse.Namespace) -> None:
    """Where one replayed sweep's CPU goes, sampled by py-spy (all threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        keep = Path(tmp)
        run(ROOT, "--record", keep, "--platforms", platform, *_seeding(args))
        samples = keep / "samples.txt"
        spy = Path(sys.executable).parent / "py-spy"
        cmd = [str(spy), "record", "-r", "500", "-f", "raw", "-o", str(samples), "--"]
        cmd += [sys.executable, __file__, "--root", str(ROOT), "--replay", str(keep)]
        subprocess.run([*cmd, "--repeat", str(args.repeat)], check=True, capture_output=True)
        print(f"{platform}: share of CPU samples by part, %: {split(samples)}")


def per_ticket(result: dict[str, Any], what: str) -> float:
    """The median CPU µs per ticket of `what`: read, cpu (the sweep) or evaluate (each
    measured sweep minus the read measured after it: the rules engine's part)."""
    if what == "evaluate":
        parts = [c - r for c, r in zip(result["cpu"], result["read"], strict=True)]
        return statistics.median(parts) / result["tickets"] * 1e6
    return statistics.median(result[what]) / result["tickets"] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--platforms", nargs="+", default=list(PLATFORMS), choices=PLATFORMS)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--profile", action="store_true", help="py-spy split of the CPU")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--same-data", action="store_true", help="--against reads this checkout's sandbox"
    )
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rerecord", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record is not None:
        (platform,) = args.platforms
        child(args.root, platform, args.tickets, args.seed, args.record)
        return
    if args.rerecord is not None:
        rerecord(args.root, args.rerecord, args.at)
        return
    if args.replay is not None:
        print(json.dumps(replay(args.root, args.replay, args.repeat)))
        return
    if args.profile:
        for platform in args.platforms:
            profile(platform, args)
        return
    head = f"{'platform':<11} {'tickets':>7} {'requests':>8}"
    for what in ("read", "sweep", "eval"):  # eval: the sweep minus the read
        head += f" {'new ' + what:>10}" + (
            f" {'old ' + what:>10} {'new/old':>7}" if args.against else ""
        )
    print(head + f" {'config ms':>9}   (CPU µs per ticket, medians; config: per run)")
    for platform in args.platforms:
        with ExitStack() as stack:
            served = None
            if args.against and args.same_data:
                where = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                served = stack.enter_context(serve(ROOT, platform, args.tickets, args.seed, where))
            runs = measure(platform, args, served)
        print(row(platform, runs, args), flush=True)


def measure(
    platform: str, args: argparse.Namespace, served: Served | None
) -> dict[str, list[dict[str, Any]]]:
    """`--repeat` runs of each checkout, alternating, so that both see the same machine."""
    runs: dict[str, list[dict[str, Any]]] = {"new": [], "old": []}
    for _ in range(args.repeat):
        runs["new"].append(spawn(ROOT, platform, args))
        if args.against:
            at = runs["new"][-1]["at"]
            runs["old"].append(spawn(args.against.resolve(), platform, args, served, at))
    return runs


def row(platform: str, runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    got = runs["new"][-1]
    line = f"{platform:<11} {got['tickets']:>7} {got['requests']:>8}"
    for what in ("read", "cpu", "evaluate"):
        new = [per_ticket(r, what) for r in runs["new"]]
        line += f" {statistics.median(new):>10.0f}"
        if args.against:
            old = [per_ticket(r, what) for r in runs["old"]]
            ratios = [n / o for n, o in zip(new, old, strict=True)]
            line += f" {statistics.median(old):>10.0f} {statistics.median(ratios):>7.2f}"
    loads = [statistics.median(r["config"]) * 1e3 for r in runs["new"]]
    return line + f" {statistics.median(loads):>9.0f}"


if __name__ == "__main__":
    main()
