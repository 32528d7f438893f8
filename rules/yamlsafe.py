"""Parsing YAML text that may be anything: every failure is a ConfigError with its line.

PyYAML's SafeLoader never builds objects from tags (`!!python/object` is refused), but left
alone it still raises errors without a position (a NUL byte, an integer too big for Python to
print, a date such as 2026-02-30), recurses until Python gives up (deep nesting), or builds huge
integers. The loader here
bounds all of that: at most `MAX_DEPTH` levels of nesting and integers of at most 64 bits. What
the parsed node tree may contain (tags, keys, aliases expanding too far) is checked by
`rules.loader`, which walks it anyway to remember where every key is.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from rules.errors import ConfigError

#: Nesting deeper than this (lists and mappings in each other) is refused; policies need ~10.
MAX_DEPTH = 64
#: Integers beyond 64 bits are refused: no setting needs one, and Python cannot print some.
MAX_INT = 2**63 - 1

#: The characters YAML allows in a stream (YAML 1.1, as PyYAML checks them).
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class _Loader(yaml.SafeLoader):
    """The safe loader, with nesting and integer size bounded."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


#: The scalars PyYAML builds with Python calls that may fail, and what each is, for messages.
_KIND = {
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:timestamp": "date or time",
}
_BUILD = {tag: yaml.SafeLoader.yaml_constructors[tag] for tag in _KIND}


def _scalar(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A number, date or time; one YAML's patterns match but Python cannot build (`0x_`,
    2026-02-30, an integer of thousands of digits) is an error at its line."""
    if node.tag == "tag:yaml.org,2002:int" and len(node.value.replace("_", "")) > 40:
        raise _too_large(node)  # before Python converts (and refuses to print) a huge number
    try:
        value = _BUILD[node.tag](loader, node)
    except (ValueError, OverflowError) as exc:
        problem = f"{_short(node.value)!r} is not a valid {_KIND[node.tag]} ({exc})"
        raise ConstructorError(None, None, problem, node.start_mark) from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise _too_large(node)
    return value


def _too_large(node: yaml.ScalarNode) -> ConstructorError:
    problem = (
        f"the integer {_short(node.value)} is too large (at most {MAX_INT});"
        " quote it if it is meant as text"
    )
    return ConstructorError(None, None, problem, node.start_mark)


def _text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


for _tag in _KIND:
    _Loader.add_constructor(_tag, _scalar)
# A plain `=` resolves to YAML 1.1's "value" tag, which SafeLoader cannot construct: it is text.
_Loader.add_constructor("tag:yaml.org,2002:value", _text)


def compose(text: str, source: str) -> yaml.Node | None:
    """The node tree of a single-document YAML text (None if empty)."""
    check_characters(text, source)
    loader = _Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.YAMLError as exc:
        raise _error(exc, source) from None
    finally:
        loader.dispose()


def construct(node: yaml.Node, source: str) -> Any:
    """The Python data of a node tree that `rules.loader` has checked."""
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _error(exc, source) from None
    finally:
        loader.dispose()


def check_characters(text: str, source: str) -> None:
    """YAML text holds no control characters but tab and line breaks (no NUL bytes)."""
    found = _NOT_PRINTABLE.search(text)
    if found is None:
        return
    line, column = position(text, found.start())
    code = ord(found.group())
    what = "a NUL byte (U+0000)" if code == 0 else f"the character U+{code:04X}"
    raise ConfigError(
        f"{source}:{line}:{column}: not valid YAML: {what} is not allowed (control characters"
        " other than tab and line breaks cannot appear in YAML; is this a binary file?)"
    )


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def tag_name(tag: str) -> str:
    """'tag:yaml.org,2002:binary' -> '!!binary'."""
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag


def _error(exc: yaml.YAMLError, source: str) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        spot = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        context = ""
        if exc.context and exc.context_mark:
            where = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
            context = f" ({exc.context} at {where})"
        return ConfigError(f"{spot}: not valid YAML: {exc.problem}{context}")
    return ConfigError(f"{source}: not valid YAML: {exc}")


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}...{text[-10:]} ({len(text)} characters)"
