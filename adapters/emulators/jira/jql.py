"""The JQL the emulator understands: `field op value` clauses joined by AND (statusCategory,
status, project, priority, labels, key; `=`, `!=`, `in`, `not in`), then an optional
`ORDER BY key|created ASC|DESC`. Anything else is answered with Jira's 400 message."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from adapters.emulators.jira.wire import Issue


def query(issues: Mapping[str, Issue], jql: str, *, bounded: bool) -> list[str]:
    """The keys of the issues `jql` matches, in its order (key ascending by default)."""
    text, order = jql.strip(), ("key", "asc")
    m = re.search(r"\border\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", text, re.I)
    if m:
        text, order = (
            text[: m.start()].strip(),
            (m.group(1).lower(), (m.group(2) or "asc").lower()),
        )
    if not text and bounded:
        raise ValueError(
            "Unbounded JQL queries are not allowed here. Please add a search"
            " restriction to your query."
        )
    tests = [clause(c) for c in re.split(r"\s+and\s+", text, flags=re.I) if c]
    keys = [k for k, i in issues.items() if all(t(i) for t in tests)]

    def sort_key(k: str) -> tuple[str, int, str]:
        project, number = k.rsplit("-", 1)
        created = issues[k].fields["created"] if order[0] == "created" else ""
        return created, 0, "" if order[0] == "created" else f"{project}-{int(number):09d}"

    return sorted(keys, key=sort_key, reverse=order[1] == "desc")


def clause(text: str) -> Callable[[Issue], bool]:
    """One `field op value` clause as a test."""
    m = re.fullmatch(r'\s*"?([\w ]+?)"?\s*(!=|=|not in|in)\s*(.+?)\s*', text, re.I)
    if not m:
        raise ValueError(f"Error in the JQL Query: cannot parse {text!r}")
    name, op, raw = m.group(1).lower(), m.group(2).lower(), m.group(3)
    values = {v.strip().strip('"').lower() for v in raw.strip("()").split(",")}
    getters: dict[str, Callable[[Issue], set[str]]] = {
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
    get = getters.get(name)
    if get is None:
        raise ValueError(
            f"Field '{m.group(1)}' does not exist or you do not have permission to view it."
        )
    negate = op in ("!=", "not in")
    return lambda i: bool(get(i) & values) != negate
