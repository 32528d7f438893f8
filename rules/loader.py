"""YAML loading that remembers where every key is, and config errors that say so.

Every problem is reported as `FILE:LINE: key.path: what was expected`, all at once, before
anything else runs. Duplicate keys, which YAML silently resolves to the last one, are errors.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules import yamlsafe
from rules.errors import ConfigError

Path = tuple[str | int, ...]
M = typing.TypeVar("M", bound=BaseModel)


@dataclass
class Located:
    """Parsed YAML data plus the line of every key path."""

    data: Any
    source: str
    lines: dict[Path, int] = field(default_factory=dict)
    names: dict[Path, str] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def where(self, path: Path) -> str:
        line = self.line(path)
        spot = f"{self.source}:{line}" if line else self.source
        return f"{spot}: {self.render(path)}" if path else spot

    def render(self, path: Path) -> str:
        out = ""
        for i, part in enumerate(path):
            if isinstance(part, int):
                out += f"[{part}]"
                name = self.names.get(path[: i + 1])
                if name:
                    out += f" ({name})"
            else:
                out += ("." if out else "") + str(part)
        return out


class Problems:
    """Collects every error in a file so the admin fixes them in one pass."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.items: list[str] = []

    def add(self, path: Path, message: str) -> None:
        self.items.append(f"{self.doc.where(path)}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(_summary(self.doc.source, self.items))


def problems_text(source: str, items: Sequence[str]) -> str:
    """The message listing a file's problems (at most 25 shown)."""
    return _summary(source, items)


def _summary(source: str, items: Sequence[str]) -> str:
    count = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    shown = list(items[:25]) + ([f"... and {len(items) - 25} more"] if len(items) > 25 else [])
    return f"{source} is not valid ({count}):\n" + "\n".join(f"  {item}" for item in shown)


def load_yaml(text: str, source: str) -> Located:
    """Parse YAML text into data with key positions; every problem becomes a ConfigError."""
    node = yamlsafe.compose(text, source)
    doc = Located(None, source)
    if node is not None:
        walk = _Walk(doc)
        walk.index(node, ())
        if walk.problems:
            raise ConfigError(_summary(source, walk.problems))
        doc.data = yamlsafe.construct(node, source)
    return doc


#: The tags a node may have, written or as YAML reads plain text (`=` is "value": text).
_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "value")
}
_KEY_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}  # dates: holiday names
_MERGE = "tag:yaml.org,2002:merge"
_KINDS = {"int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}
#: Values that aliases (*name) repeat, counted as they expand: more is a "billion laughs".
MAX_REPEATS = 100_000


class _Walk:
    """Walks the node tree before it becomes data: remembers the line of every key path, and
    finds duplicate keys, keys that are not text, tags, and aliases that expand too far."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.problems: list[str] = []
        self.repeats = 0
        self.stopped = False
        self.seen: set[int] = set()  # the nodes walked: one an alias repeats is checked once

    def index(self, node: yaml.Node, path: Path) -> None:
        first = id(node) not in self.seen
        self.seen.add(id(node))
        self.repeats += not first
        if self.stopped or self.repeats > MAX_REPEATS or len(path) > yamlsafe.MAX_DEPTH:
            self._stop(node)
            return
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _TAGS:
            tag = yamlsafe.tag_name(node.tag)
            if first:
                self._add(node, path, f"unsupported tag {tag} (write plain values, without tags)")
        elif isinstance(node, yaml.MappingNode):
            self._mapping(node, path, first)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                if isinstance(item, yaml.MappingNode):
                    for k, v in item.value:
                        if k.value in ("name", "id") and isinstance(v, yaml.ScalarNode):
                            self.doc.names[(*path, i)] = str(v.value)
                self.index(item, (*path, i))

    def _mapping(self, node: yaml.MappingNode, path: Path, first: bool) -> None:
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *anchor`: its keys, which the others override
                self.index(value_node, (*path, "<<"))
                continue
            key = str(key_node.value)
            if first and not self._key_ok(key_node, path):
                continue
            if first and key in seen:
                message = "duplicate key (YAML would silently keep only the last one)"
                self._add(key_node, (*path, key), message)
            seen.add(key)
            self.doc.lines[(*path, key)] = key_node.start_mark.line + 1
            self.index(value_node, (*path, key))

    def _key_ok(self, key: yaml.Node, path: Path) -> bool:
        if not isinstance(key, yaml.ScalarNode):
            self._add(key, path, "a key must be text, not a list or a mapping")
            return False
        if key.tag in _KEY_TAGS:
            return True
        kind = _KINDS.get(key.tag.rsplit(":", 1)[-1], f"tagged {yamlsafe.tag_name(key.tag)}")
        shown = f"key {key.value!r}" if key.value else "empty key"
        message = f'the {shown} is {kind} to YAML, not text: quote it ("{key.value}")'
        self._add(key, path, message)
        return False

    def _add(self, node: yaml.Node, path: Path, message: str) -> None:
        spot = f"{self.doc.source}:{node.start_mark.line + 1}"
        self.problems.append(
            f"{spot}: {self.doc.render(path)}: {message}" if path else f"{spot}: {message}"
        )

    def _stop(self, node: yaml.Node) -> None:
        """Too many values or too deep (aliases can do both): one problem, and the walk stops."""
        if self.stopped:
            return
        self.stopped = True
        what = (
            f"more than {MAX_REPEATS:,} repeated values"
            if self.repeats > MAX_REPEATS
            else f"values nested deeper than {yamlsafe.MAX_DEPTH} levels"
        )
        self.problems.append(
            f"{self.doc.source}:{node.start_mark.line + 1}: the document has {what} once its"
            " aliases (*name) are expanded; write the values out or use fewer aliases"
        )


def validate(model: type[M], doc: Located, at: Path = ()) -> M:
    """Validate `doc.data` (or the part at `at`), reporting every error with its line."""
    problems = Problems(doc)
    result = check(model, doc, at, problems)
    problems.raise_if_any()
    assert result is not None
    return result


def check(model: type[M], doc: Located, at: Path, problems: Problems) -> M | None:
    """Like `validate`, but adds the errors to `problems` and returns None, to report many."""
    data = doc.data
    for part in at:
        data = data[part]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(at, f"expected a mapping of keys to values, got {type(data).__name__}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = (*at, *_clean(err["loc"]))
            problems.add(loc, _message(model, err, tuple(_clean(err["loc"]))))
        return None


def _clean(loc: Sequence[str | int]) -> list[str | int]:
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]


def _message(model: type[BaseModel], err: Any, loc: Path) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = _allowed_keys(model, loc[:-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        text = f"unknown key {key!r}"
        if hint:
            text += f" (did you mean {hint[0]!r}?)"
        return text + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return "this key is required but missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    else:
        msg = msg[0].lower() + msg[1:]
    if (
        kind not in ("value_error",)
        and "input" in err
        and not isinstance(err["input"], dict | list)
    ):
        msg += f", got {err['input']!r}"
    return msg


def _allowed_keys(model: type[BaseModel], loc: Path) -> list[str]:
    """The keys the model accepts at `loc` (aliases where they exist), for the error message."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return []
    target = _unwrap(current, None)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [f.alias or name for name, f in target.model_fields.items()]
    return []


def _unwrap(tp: Any, part: str | int | None) -> Any:
    """Step from a type into the type of `part` (a field, list index or dict key)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                return _unwrap(arg, part)
    if part is None:
        return tp
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if origin is list:
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    return None


def unknown_name(kind: str, name: str, known: list[str]) -> str:
    """'unknown level 'L4' (did you mean 'L3'?) (expected one of: ...)', or none defined."""
    if not known:
        return f"unknown {kind} {name!r} (no {kind}s are defined)"
    hint = difflib.get_close_matches(name, known, n=1)
    maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown {kind} {name!r}{maybe} (expected one of: {', '.join(sorted(known))})"
