"""Fuzzing `escalate validate` with mutated copies of config.example.yaml (a fixed seed: the same
cases every run). Every case goes through the real CLI entry (`connector.cli.main`; a few through
a real `python -m connector.cli` process) and must end in exit 2 with an `error:` naming the file,
or exit 0 with the file's `valid` line, and never a traceback or another exit code.

Each case says what to expect, decided by how it was made:
- 2, decided: a NUL byte, a control character or bytes that are not UTF-8 inserted anywhere (the
  example is ASCII, so the message's line and column are known too); another encoding; a value
  replaced by one no key of the example accepts (`WRONG`); numbers or null at keys whose type
  refuses them (`NUMBER_REFUSED`, `NULL_REFUSED`); a key of a schema model renamed (an unknown
  key); a key written twice; a required key deleted.
- 0, decided: a UTF-8 byte order mark, CRLF line ends, a key renamed in a map of platform values
  (priorities, statuses) or of custom fields: names nothing refers to.
- not decided: random byte edits, and any value anywhere. Exit 2 is fine; exit 0 only if the file
  genuinely parses (PyYAML's own safe_load reads the same data as the connector's loader). Edits
  that leave PyYAML's data exactly as the example's must pass, unless they added a duplicate key
  (which PyYAML silently resolves).
"""

from __future__ import annotations

import copy
import os
import random
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from adapters.registry import settings_model
from connector.cli import main
from connector.config import RunSettings
from rules.loader import load_yaml
from rules.schema import PolicyModel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.yaml").read_bytes()
DATA = yaml.safe_load(EXAMPLE)
SEED = 16

#: Values no key of the example accepts: a list holding a mapping with an unknown key, and a
#: mapping with an unknown key holding such a list (a custom-field map takes any key, and its
#: value must then be a match: a list of mappings is none).
WRONG: list[Any] = [[{"zz_unknown": 1}], {"zz_unknown": [{"zz": 1}]}]
#: Keys (wherever they are in the example) whose type refuses a number: text, a fixed word, a
#: mapping or a list of mappings; `priorities` at the top becomes ["12345"], which the rules'
#: P1 then misses.
NUMBER_REFUSED = {
    "timezone", "url", "platform", "scope", "group", "description", "when", "then", "targets",
    "hours", "holidays", "owner", "approval", "repeat", "escalate", "note", "reply", "time",
    "calendar", "defaults", "calendars", "functions", "matrix", "templates", "platforms",
    "instances", "run", "auth", "budget", "levels", "rules", "sla", "fields", "statuses",
    "email", "client_id", "client_secret", "api_token", "level", "priority", "age",
    "unacknowledged", "idle", "at_level", "record_outcome", "jsm_internal_comments", "per",
    "any", "custom", "customer_request", "priority_at_least", "group_field", "version",
    "priorities", "dates", "country", "subdivision",
}  # fmt: skip
#: Keys whose value may not be null: required, or a trigger, an action or a list or mapping.
NULL_REFUSED = {
    "timezone", "hours", "url", "platform", "auth", "targets", "levels", "when", "then",
    "name", "description", "escalate", "note", "reply", "notify", "add_tags",
    "record_outcome", "level", "age", "status", "any", "requested", "unacknowledged", "idle",
    "at_level", "customer_replies", "reopens", "customer_request", "organization_tag",
    "requester_domain", "component", "label", "custom", "rules", "templates", "platforms",
    "calendars", "functions", "matrix", "defaults", "instances", "run", "version",
    "priorities", "pause", "holidays", "dates", "statuses", "budget", "client_secret",
    "client_id", "api_token", "email", "jsm_internal_comments", "max_changes", "concurrency",
    "repeat", "per", "max", "over", "first_response", "next_response", "resolution",
}  # fmt: skip
#: Maps whose keys are platform values or custom field names: renaming one stays valid.
FREE_KEYS = re.compile(r"^platforms\.\w+\.(priorities|statuses)$|\.custom$")
CONTROL = [bytes([c]) for c in (*range(1, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
NOT_UTF8 = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
ANYTHING: list[Any] = [
    0, -1, 1.5, 10**18, True, False, None, "", " ", "x", "é", "2026-01-01", "-5m", "100%",
    "{{ ticket.nope }}", [], [1], [None], {}, {"a": 1}, [[]], {"in": []}, ["solved"], "a" * 3000,
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    expect: int | None  # None: not decided by construction (see the module docstring)
    at: tuple[int, int] | None = None  # the line and column the message must give


def paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, (*at, i))


ALL = list(paths(DATA))


def dumped(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def replaced(path: tuple[Any, ...], value: Any) -> bytes:
    data = copy.deepcopy(DATA)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return dumped(data)


def spot(offset: int) -> tuple[int, int]:
    """Line and column of a byte offset in the (ASCII) example."""
    before = EXAMPLE[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


# --- which key a path names: a schema model's field, or a key of a map ----------------------------


def _plain(tp: Any) -> Any:
    """The type inside Annotated[...] and X | None."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, type(int | None)):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return args
            tp = args[0]
        else:
            return tp


def _step(tp: Any, part: Any, node: Any, path: tuple[Any, ...]) -> Any:
    """The type of `node[part]` (`node` of type `tp`)."""
    if path == ("instances",):
        return settings_model(node[part]["platform"])
    if path == () and part == "run":
        return RunSettings
    tp = _plain(tp)
    if isinstance(tp, list):
        tp = _member(tp, node)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _fields(tp)[part].annotation
    args = typing.get_args(tp)
    return args[-1] if args else None


def _member(union: list[Any], node: Any) -> Any:
    """The model of a union that has every key the data has (auth: which kind of sign-in)."""
    keys = set(node) if isinstance(node, dict) else set()
    models = [m for m in union if isinstance(m, type) and issubclass(m, BaseModel)]
    return next((m for m in models if keys <= set(_fields(m))), None)


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


def field(path: tuple[Any, ...]) -> Any:
    """The pydantic field the last key of `path` is, or None if it is a key of a map."""
    tp: Any = PolicyModel
    node = DATA
    for i, part in enumerate(path[:-1]):
        tp = _step(tp, part, node, path[:i])
        node = node[part]
    model = _plain(tp)
    if isinstance(model, list):
        model = _member(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return _fields(model).get(path[-1])
    return None


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


# --- the cases ---------------------------------------------------------------------------------


def byte_cases(rng: random.Random) -> Iterator[Case]:
    for i in range(15):
        k = rng.randrange(len(EXAMPLE) + 1)
        yield Case(f"nul-{i}", EXAMPLE[:k] + b"\x00" + EXAMPLE[k:], 2, spot(k))
    for i in range(15):
        k, char = rng.randrange(len(EXAMPLE) + 1), rng.choice(CONTROL)
        yield Case(f"control-{i}", EXAMPLE[:k] + char + EXAMPLE[k:], 2, spot(k))
    for i in range(15):
        k, bad = rng.randrange(len(EXAMPLE) + 1), rng.choice(NOT_UTF8)
        yield Case(f"not-utf8-{i}", EXAMPLE[:k] + bad + EXAMPLE[k:], 2, spot(k))
    for encoding in ("utf-16", "utf-16-be", "utf-32", "utf-32-be"):
        bom = {"utf-16-be": b"\xfe\xff", "utf-32-be": b"\x00\x00\xfe\xff"}.get(encoding, b"")
        yield Case(f"encoding-{encoding}", bom + EXAMPLE.decode().encode(encoding), 2)
    yield Case("utf8-bom", b"\xef\xbb\xbf" + EXAMPLE, 0)
    yield Case("crlf", EXAMPLE.replace(b"\n", b"\r\n"), 0)


STRUCTURAL = [b":", b"{", b"}", b"[", b"]", b"&", b"*", b"!", b"|", b">", b"-", b"#", b'"', b"'"]


def edit_cases(rng: random.Random) -> Iterator[Case]:
    for i in range(60):
        data = bytearray(EXAMPLE)
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(data))
            op = rng.choice("flip delete insert copy line")
            if op == "flip":
                data[k] ^= 1 << rng.randrange(7)  # stays ASCII: the decided cases do the rest
            elif op == "delete":
                del data[k : k + rng.randint(1, 8)]
            elif op == "insert":
                data[k:k] = rng.choice([*STRUCTURAL, b" ", b"\t", b"\n", b"  "])
            elif op == "copy":
                j = rng.randrange(len(data))
                data[k:k] = data[j : j + rng.randint(1, 40)]
            else:
                lines = bytes(data).split(b"\n")
                n = rng.randrange(len(lines))
                data = bytearray(b"\n".join([*lines[: n + 1], lines[n], *lines[n + 1 :]]))
        yield Case(f"edit-{i}", bytes(data), None)


def type_cases(rng: random.Random) -> Iterator[Case]:
    for i in range(40):
        path = rng.choice(ALL)
        yield Case(f"wrong-{i}-{dotted(path)}", replaced(path, rng.choice(WRONG)), 2)
    numbers = [p for p in ALL if isinstance(p[-1], str) and p[-1] in NUMBER_REFUSED]
    for i, path in enumerate(rng.sample(numbers, 20)):
        value = rng.choice([12345, -7, 2.5])
        yield Case(f"number-{i}-{dotted(path)}", replaced(path, value), 2)
    nulls = [p for p in ALL if isinstance(p[-1], str) and p[-1] in NULL_REFUSED]
    for i, path in enumerate(rng.sample(nulls, 20)):
        yield Case(f"null-{i}-{dotted(path)}", replaced(path, None), 2)
    for i in range(30):
        data = copy.deepcopy(DATA)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(ALL)
            parent = data
            try:
                for part in path[:-1]:
                    parent = parent[part]
                if rng.random() < 0.8:
                    parent[path[-1]] = rng.choice(ANYTHING)
                else:
                    del parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                continue  # an earlier change removed or replaced the path
        yield Case(f"anything-{i}", dumped(data), None)


def key_cases(rng: random.Random) -> Iterator[Case]:
    keyed = [p for p in ALL if isinstance(p[-1], str)]
    schema_keys = [p for p in keyed if field(p) is not None]
    for i, path in enumerate(rng.sample(schema_keys, 25)):
        yield Case(f"rename-{i}-{dotted(path)}", renamed(path, "zz_" + path[-1]), 2)
    free = [p for p in keyed if FREE_KEYS.search(dotted(p[:-1]))]
    for i, path in enumerate(rng.sample(free, 10)):
        yield Case(f"rename-free-{i}-{dotted(path)}", renamed(path, "zz " + path[-1]), 0)
    required = [p for p in schema_keys if field(p).is_required()]
    for i, path in enumerate(rng.sample(required, 20)):
        data = copy.deepcopy(DATA)
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
        yield Case(f"delete-{i}-{dotted(path)}", dumped(data), 2)
    for i, (n, key) in enumerate(rng.sample(key_lines(), 20)):
        text = EXAMPLE.split(b"\n")
        text.insert(n, key + b": duplicated")  # the same key, just before: a duplicate
        yield Case(f"duplicate-{i}-line-{n + 1}", b"\n".join(text), 2)


def renamed(path: tuple[Any, ...], new: str) -> bytes:
    data = copy.deepcopy(DATA)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    items = list(parent.items())  # in their order: only the name changes
    parent.clear()
    parent.update({(new if key == path[-1] else key): value for key, value in items})
    return dumped(data)


KEY_LINE = re.compile(rb"^(\s*[^\s:#-][^:#]*):(\s|$)")


def key_lines() -> list[tuple[int, bytes]]:
    """(index, indented key) of each line of the example that starts a block-mapping key,
    outside block scalars (the templates' text)."""
    found: list[tuple[int, bytes]] = []
    block = None
    for n, line in enumerate(EXAMPLE.split(b"\n")):
        indent = len(line) - len(line.lstrip(b" "))
        if block is not None and (not line.strip() or indent > block):
            continue
        block = None
        match = KEY_LINE.match(line)
        if match is not None:
            found.append((n, match.group(1)))
            if re.search(rb":\s*[|>][-+]?\s*$", line):
                block = indent
    return found


CASES = [
    case
    for make in (byte_cases, edit_cases, type_cases, key_cases)
    for case in make(random.Random(f"{SEED}-{make.__name__}"))
]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 200
    assert len({c.name for c in CASES}) == len(CASES)


def check(case: Case, code: int, out: str, err: str, path: Path) -> None:
    assert "Traceback" not in out + err
    assert code in (0, 2), err
    if code == 0:
        assert out.startswith(f"{path}: valid (policy "), out
        assert err == ""
    else:
        assert out == ""
        assert err.startswith("error: ") and str(path) in err, err
    if case.expect is not None:
        assert code == case.expect, err or out
    if case.at is not None:
        line, column = case.at
        assert f"{path}:{line}:{column}: not valid " in err, err
    elif case.expect == 2 and not case.name.startswith("encoding-"):
        assert re.search(rf"{re.escape(str(path))}:\d+", err), err  # located
    if case.expect is None:
        undecided(case, code, err)


def undecided(case: Case, code: int, err: str) -> None:
    """Exit 0 only if PyYAML genuinely parses the file to what the connector's loader read;
    and a file PyYAML reads exactly as the example passes, unless a key was written twice."""
    try:
        reference = yaml.safe_load(case.data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        assert code == 2
        return
    if code == 0:
        assert load_yaml(case.data.decode("utf-8"), "x").data == reference
    if reference == DATA:
        assert code == 0 or "duplicate key" in err, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_a_mutated_example(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_bytes(case.data)
    with pytest.raises(SystemExit) as info:
        main(["validate", "-c", str(path)])
    out, err = capsys.readouterr()
    code = info.value.code
    check(case, code if isinstance(code, int) else 1, out, err, path)


def test_a_few_through_a_real_process(tmp_path: Path) -> None:
    """One case of each kind, run as `python -m connector.cli validate` (no in-process state)."""
    kinds = ("nul-", "not-utf8-", "encoding-", "utf8-bom", "wrong-", "null-", "duplicate-")
    chosen = [next(c for c in CASES if c.name.startswith(kind)) for kind in kinds]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for case in chosen:
        path = tmp_path / f"{case.name}.yaml"
        path.write_bytes(case.data)
        done = subprocess.run(
            [sys.executable, "-m", "connector.cli", "validate", "-c", str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        check(case, done.returncode, done.stdout, done.stderr, path)
