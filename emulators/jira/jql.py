"""The JQL the emulator understands, answering anything else with Jira's 400 message.

- Clauses joined by AND and OR (AND binds tighter), with parentheses: `field op value`.
- `created` and `updated`: `=`, `!=`, `<`, `<=`, `>`, `>=` against "yyyy-MM-dd" or
  "yyyy-MM-dd HH:mm" (or with slashes) and nothing finer (seconds are refused, as Jira does), in
  the calling user's time zone (their profile's `timeZone`), or a time relative to now: `-7d`,
  `"-1w 2d"`, `-4h`, `-30m` (weeks, days, hours, minutes).
- System fields statusCategory, status, project, priority, labels, key: `=`, `!=`, `in`,
  `not in`; a `key` that names no issue is refused with Jira's 400, as Jira does.
- Custom fields, by name (quoted when it has spaces) or `cf[10050]`: `is EMPTY`, `is not EMPTY`;
  text fields take only `~` and `!~` (word search) besides those, as Jira's text searcher does,
  and refuse `=`/`!=` with Jira's message; other fields take `=`, `!=`, `in`, `not in`
  (`!=` never matches an empty field).
- `ORDER BY key|created|<custom field> [ASC|DESC]`; empty values sort last.
- `key = X` / `key in (...)` naming an issue that does not exist (or that the caller may not
  see): 400 "An issue with key 'X' does not exist for field 'key'.", as Jira validates it,
  unless validation is off (Data Center's `validateQuery=false|warn|none`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from emulators.jira.wire import Issue, string

Test = Callable[[Issue], bool]
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\(|\)|!=|!~|<=|>=|<|>|=|~|,|[^\s()=!~,"<>]+)')
SYSTEM: dict[str, Callable[[Issue], set[str]]] = {
    "statuscategory": lambda i: {
        i.fields["status"]["statusCategory"]["name"].lower(),
        i.fields["status"]["statusCategory"]["key"].lower(),
    },
    "status": lambda i: {i.fields["status"]["name"].lower()},
    "project": lambda i: {i.project.lower()},
    "priority": lambda i: {(i.fields["priority"] or {}).get("name", "").lower()},
    "labels": lambda i: {t.lower() for t in i.fields["labels"]},
    "key": lambda i: {i.key.lower()},
}


@dataclass(frozen=True)
class _Env:
    fields: list[Any]
    now: float | None
    zone: ZoneInfo
    keys: frozenset[str] | None  # None: unknown keys match nothing (validateQuery off)


def query(
    issues: Mapping[str, Issue],
    jql: str,
    *,
    bounded: bool,
    fields: Iterable[Any] = (),
    now: float | None = None,
    zone: str = "UTC",
    validate: bool = True,
) -> list[str]:
    """The keys of the issues `jql` matches, in its order (key ascending by default); `now`
    (the site's clock) for relative dates, `zone` (the caller's time zone) for absolute ones;
    `validate`: unknown keys are an error."""
    known = list(fields)
    named = frozenset(k.lower() for k in issues) if validate else None
    env = _Env(known, now, ZoneInfo(zone), named)
    text, order = jql.strip(), ("key", "asc")
    m = re.search(r'\border\s+by\s+("[^"]+"|\S+)(?:\s+(asc|desc))?\s*$', text, re.I)
    if m:
        text = text[: m.start()].strip()
        order = (_field_id(m.group(1).strip('"'), known), (m.group(2) or "asc").lower())
    if not text and bounded:
        raise ValueError(
            "Unbounded JQL queries are not allowed here. Please add a search"
            " restriction to your query."
        )
    test = _expression(_tokens(text), env) if text else (lambda i: True)
    keys = [k for k, i in issues.items() if test(i)]

    def sort_key(k: str) -> tuple[int, str]:
        project, number = k.rsplit("-", 1)
        if order[0] == "key":
            return 0, f"{project}-{int(number):09d}"
        value = string(issues[k].fields.get(order[0]))
        return (1, "") if value in (None, "") else (0, str(value))

    ranks = {k: sort_key(k) for k in keys}  # each issue's rank, computed once
    ordered = sorted(keys, key=ranks.__getitem__, reverse=order[1] == "desc")
    return [k for k in ordered if ranks[k][0] == 0] + [k for k in ordered if ranks[k][0]]


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"Error in the JQL Query: cannot parse {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _expression(tokens: list[str], env: _Env) -> Test:
    """Terms joined by AND and OR (AND binds tighter); a parenthesised group is one term."""
    groups: list[list[Test]] = [[]]
    tests = groups[0]
    while tokens:
        if tokens[0] == "(":
            close = _closing(tokens)
            tests.append(_expression(tokens[1:close], env))
            tokens = tokens[close + 1 :]
        else:
            end = next((n for n, t in enumerate(tokens) if t.lower() in ("and", "or")), None)
            cut = len(tokens) if end is None else end
            tests.append(_clause(tokens[:cut], env))
            tokens = tokens[cut:]
        if tokens:
            if tokens[0].lower() == "or":
                tests = []
                groups.append(tests)
            elif tokens[0].lower() != "and":
                raise ValueError(f"Error in the JQL Query: {tokens[0]!r} is not supported here")
            tokens = tokens[1:]
    alls = [g[0] if len(g) == 1 else _all(g) for g in groups]
    return alls[0] if len(alls) == 1 else (lambda i: any(t(i) for t in alls))


def _all(tests: list[Test]) -> Test:
    return lambda i: all(t(i) for t in tests)


def _closing(tokens: list[str]) -> int:
    """The index of the parenthesis closing the one at tokens[0]."""
    depth = 0
    for n, tok in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(tok, 0)
        if depth == 0:
            return n
    raise ValueError("Error in the JQL Query: unbalanced parentheses")


def _clause(tokens: list[str], env: _Env) -> Test:
    fields = env.fields
    if len(tokens) < 3:
        raise ValueError(f"Error in the JQL Query: cannot parse {' '.join(tokens)!r}")
    name = tokens[0].strip('"')
    words = [t.lower() for t in tokens[1:3]]
    if words[0] == "is":
        negate = words[1] == "not"
        rest = tokens[3:] if negate else tokens[2:]
        op = "is not" if negate else "is"
    elif words == ["not", "in"]:
        op, rest = "not in", tokens[3:]
    else:
        op, rest = words[0], tokens[2:]
    values = {v.strip('"').lower() for v in rest if v not in ("(", ")", ",")}
    if name.lower() in ("created", "updated"):
        return _when(name.lower(), op, rest, env)
    system = SYSTEM.get(name.lower())
    if system is not None:
        if op not in ("=", "!=", "in", "not in"):
            raise ValueError(f"The operator '{op}' is not supported by the '{name}' field.")
        negated = op in ("!=", "not in")
        if name.lower() == "key":
            unknown = sorted(v for v in values if env.keys is not None and v not in env.keys)
            if unknown:
                raise ValueError(
                    f"An issue with key '{unknown[0].upper()}' does not exist for field 'key'."
                )
        return lambda i: bool(system(i) & values) != negated
    fid = _field_id(name, fields)
    spec = next(f for f in fields if f["id"] == fid)
    if spec.get("searchable") is False:  # created without a searcher
        raise ValueError(f"Field '{name}' is not searchable, it is only sortable.")
    text = str(spec.get("schema", {}).get("custom", "")).endswith(("textfield", "textarea"))

    def value(i: Issue) -> str:
        return (string(i.fields.get(fid)) or "").lower()

    if op in ("is", "is not"):
        if values not in ({"empty"}, {"null"}):
            raise ValueError(f"Error in the JQL Query: expected EMPTY after '{op}'")
        return lambda i: (value(i) == "") == (op == "is")
    allowed = ("~", "!~") if text else ("=", "!=", "in", "not in")
    if op not in allowed:
        raise ValueError(f"The operator '{op}' is not supported by the '{spec['name']}' field.")
    if op in ("~", "!~"):
        words_of = re.compile(r"[a-z0-9]+")
        wanted = {w for v in values for w in words_of.findall(v)}
        return lambda i: wanted.issubset(words_of.findall(value(i))) == (op == "~")
    if op in ("=", "in"):
        return lambda i: value(i) in values
    return lambda i: value(i) != "" and value(i) not in values


_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "=": datetime.__eq__,
    "!=": datetime.__ne__,
    "<": datetime.__lt__,
    "<=": datetime.__le__,
    ">": datetime.__gt__,
    ">=": datetime.__ge__,
}


_RELATIVE = re.compile(r"([+-]?)((?:\d+[wdhm]\s*)+)")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


_ABSOLUTE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?")


def _when(name: str, op: str, rest: list[str], env: _Env) -> Test:
    if op not in _COMPARE or len(rest) != 1:
        raise ValueError(f"The operator '{op}' is not supported by the '{name}' field.")
    text = rest[0].strip('"').replace("/", "-")
    relative = _RELATIVE.fullmatch(text.strip())
    try:
        if relative is not None and env.now is not None:
            sign = -1 if relative.group(1) == "-" else 1
            span = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([wdhm])", text))
            bound = datetime.fromtimestamp(env.now + sign * span, UTC)
        elif _ABSOLUTE.fullmatch(text):  # minutes at the finest, in the caller's zone
            bound = datetime.fromisoformat(text).replace(tzinfo=env.zone)
        else:
            raise ValueError(text)
    except ValueError:
        raise ValueError(
            f"Date value '{rest[0]}' for field '{name}' is invalid. Valid formats include:"
            " 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'"
        ) from None
    test = _COMPARE[op]
    return lambda i: test(datetime.strptime(str(i.fields[name]), "%Y-%m-%dT%H:%M:%S.%f%z"), bound)


def _field_id(name: str, fields: list[Any]) -> str:
    if name.lower() in ("key", "created"):
        return name.lower()
    m = re.fullmatch(r"cf\[(\d+)\]", name, re.I)
    for f in fields:
        if (m and f["id"] == f"customfield_{m.group(1)}") or f["name"].lower() == name.lower():
            return str(f["id"])
    raise ValueError(f"Field '{name}' does not exist or you do not have permission to view it.")
