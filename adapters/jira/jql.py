"""JQL as the adapter writes it: string literals, and the one place that finds a query's
ORDER BY (outside quotes), for paging (a stable order), the queue's filter and backtests; and
what a scope leaves out, for `escalate validate` (offline)."""

from __future__ import annotations

import re

TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[()]|[^\s()"\']+|\s+')
_ORDER = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)


def quoted(text: str) -> str:
    """A JQL string literal (field names with spaces, values)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_order(jql: str) -> tuple[str, str]:
    """(the JQL without its ORDER BY, the ORDER BY or ""); words in quotes do not count."""
    unquoted = "".join(t if t[0] not in "\"'" else "_" * len(t) for t in TOKEN.findall(jql))
    m = _ORDER.search(" " + unquoted)
    if m is None:
        return jql, ""
    cut = max(m.start() - 1, 0)
    return jql[:cut].rstrip(), jql[cut:].strip()


def ordered(jql: str) -> str:
    """Stable paging needs a total order; keep the admin's ORDER BY if there is one."""
    return jql if split_order(jql)[1] else f"{jql} ORDER BY key ASC"


def split(jql: str, word: str) -> list[str]:
    """`jql` split on `word` (AND, OR) outside parentheses and quotes."""
    parts, current, depth = [], "", 0
    for token in TOKEN.findall(jql):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth == 0 and token.lower() == word:
            parts.append(current)
            current = ""
        else:
            current += token
    return [*parts, current]


#: Clauses that keep issues in the Done category (id 3), or resolved ones, out.
_VALUE = r'(?:"[^"]*"|\'[^\']*\'|[\w-]+)'
_NOT_DONE = (
    re.compile(rf"statusCategory\s*!=\s*(?P<one>{_VALUE})", re.I),
    re.compile(r"statusCategory\s+not\s+in\s*\((?P<list>[^)]*)\)", re.I),
)
#: Not listed: `resolution = Unresolved`, `resolution is EMPTY`, `resolved is EMPTY`. Many
#: workflows (team-managed projects especially) reach Done without setting a resolution, so
#: such a scope may well fetch Done issues: no warning.
#: statusCategory = X, or in (X, Y): Done is left out when it is not among them.
_ONLY = (
    re.compile(rf"statusCategory\s*=\s*(?P<one>{_VALUE})", re.I),
    re.compile(r"statusCategory\s+in\s*\((?P<list>[^)]*)\)", re.I),
)
_DONE = {"done", "3"}


def done_left_out(jql: str) -> str | None:
    """A clause AND-ed at the top of `jql` that keeps every Done or resolved issue out, if one
    clearly does: with an OR at the top either side may hold, so no clause decides."""
    body = _unwrapped(split_order(jql)[0])
    if len(split(body, "or")) > 1 or re.search(r"\|\||&&|(?<![!<>=])\|", body):
        return None  # an OR at the top, or operators this reading does not split: unsure
    for clause in split(body, "and"):
        text = clause.strip()
        if _unwrapped(text) != text:  # "(a AND b)": its own clauses, AND-ed with the rest
            found = done_left_out(_unwrapped(text))
            if found is not None:
                return found
            continue
        if any(_names_done(m) in (None, True) for m in _matches(_NOT_DONE, text)):
            return text
        if any(_names_done(m) is False for m in _matches(_ONLY, text)):
            return text
    return None


def _unwrapped(jql: str) -> str:
    """`jql` without parentheses around all of it: "(a AND b)" -> "a AND b"."""
    text = jql.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        tokens = TOKEN.findall(text)
        for i, token in enumerate(tokens):
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth == 0 and i < len(tokens) - 1:
                return text  # "(a) AND (b)": the first parenthesis closes before the end
        text = text[1:-1].strip()
    return text


def _matches(patterns: tuple[re.Pattern[str], ...], text: str) -> list[re.Match[str]]:
    return [m for p in patterns if (m := p.fullmatch(text)) is not None]


def _names_done(found: re.Match[str]) -> bool | None:
    """Whether the clause's value (or list) names the Done category; None: it has no value."""
    raw = found.groupdict().get("one") or found.groupdict().get("list")
    if raw is None:
        return None
    return bool({v.strip().strip("\"'").lower() for v in raw.split(",")} & _DONE)
