"""JQL as the adapter writes it: string literals, and the one place that finds a query's
ORDER BY (outside quotes), for paging (a stable order), the queue's filter and backtests."""

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
