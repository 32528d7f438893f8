"""Comment templates: Jinja2 in a sandbox, strict about undefined names, checked at load time.

A template is compiled and rendered once against `sample_context()` when the policy loads, so
a typo such as `{{ ticket.titel }}` is a config error with the template's name and line, not a
failed run. Ticket text only ever enters as data (see rules.markup), never as template code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from itertools import cycle
from operator import itemgetter
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rules.loader import Problems
from rules.markup import Rendered, clean

_OPEN, _CLOSE = "\x1e", "\x1f"


def _mark(value: Any) -> str:
    """Jinja `finalize`: wrap every printed value so it stays data after rendering."""
    text = str(value)
    if not text.isprintable():  # printable text has no control character: nothing to clean
        text = clean(text)
    return f"{_OPEN}{text}{_CLOSE}"


def _split(text: str) -> Rendered:
    """Template text and the values `_mark` wrapped: they alternate, text first (the template's
    own text holds no marks, `clean` drops them, and neither does a value)."""
    pieces = zip(cycle((False, True)), text.replace(_CLOSE, _OPEN).split(_OPEN), strict=False)
    return Rendered(tuple(filter(itemgetter(1), pieces)))  # empty pieces left out


#: What `getattr` finds on a plain dict (its methods and object's): never one of its keys.
_DICT_NAMES = frozenset(dir(dict))


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with `ticket.title` on the context's plain dicts looked up directly.

    The sandbox's `getattr` tries the attribute first and, on AttributeError, the key: on a
    plain dict the attribute exists only for the names in `_DICT_NAMES`, so for every other
    name the answer is the key, found without raising (half the cost of a render). Any other
    case (a missing key, a dict method, another type) goes to the sandbox as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def environment(
    kind: type[ImmutableSandboxedEnvironment] = _Environment,
) -> ImmutableSandboxedEnvironment:
    """The templates' sandbox (`kind`: Jinja's own class, for the tests comparing with it)."""
    env = kind(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_mark,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["plural"] = plural
    return env


def plural(count: object, one: str, many: str | None = None) -> str:
    """`{{ n | plural("reply", "replies") }}`: `1 reply`, `3 replies` (`many`: `one` + s)."""
    n = count if isinstance(count, int) else 0 if count is None else count
    return f"{n} {one if n == 1 else (many if many is not None else one + 's')}"


class Templates:
    """The policy's named templates, compiled and checked."""

    def __init__(self, sources: Mapping[str, str], problems: Problems) -> None:
        self._env = environment()
        self._compiled = {}
        for name, source in sources.items():
            try:
                template = self._env.from_string(clean(source))
            except TemplateSyntaxError as exc:
                problems.add(("templates", name), f"line {exc.lineno}: {exc.message}")
                continue
            # Jinja's globals as one plain dict, not a chain of two: each render copies them
            # into its context, a quarter of the render's cost. Nothing adds globals later.
            template.globals = dict(template.globals)
            for case, context in sample_contexts():
                try:
                    template.render(context)
                except TemplateError as exc:
                    problems.add(
                        ("templates", name),
                        f"fails {case}: {exc.message or exc} (variables: docs/policy.md#templates)",
                    )
                    break
                except Exception as exc:  # a filter or test raised on the sample data
                    problems.add(("templates", name), f"fails {case}: {exc!r}")
                    break
            else:
                self._compiled[name] = template
        self.names = frozenset(sources)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        return _split(self._compiled[name].render(context))


def sample_contexts() -> list[tuple[str, dict[str, Any]]]:
    """The sample, and variants with the values that are None or empty in real runs."""
    base = sample_context()
    bare = copy.deepcopy(base)
    bare["ticket"].update(
        priority=None,
        type=None,
        group=None,
        assignee=None,
        organization=None,
        tags=[],
        components=[],
        requester={"name": None, "email": None},
    )
    bare["level"].update(
        owner=None,
        previous_owner={"group": None, "assignee": None},
        approvers=[],
        approver_groups=[],
    )
    bare["sla"] = {"policy": None, "next_due": None, "targets": []}
    bare["escalation"].update(escalated_at=None)
    bare["notify"], bare["reasons"] = [], []
    awaiting = copy.deepcopy(base)
    awaiting["level"].update(awaiting_approval=True, to="L3", name="L3")
    approved = copy.deepcopy(base)
    approved["escalation"]["approved_by"] = "maria.manager@example.com"
    return [
        ("on the sample ticket", base),
        ("when the ticket has no priority, owner, requester name or SLA", bare),
        ("while an escalation awaits approval", awaiting),
        ("after an approval", approved),
    ]


def sample_context() -> dict[str, Any]:
    """A context with every documented variable filled, for load-time checks and docs."""
    owner = {"group": "L2 Specialists", "assignee": "dana@example.com"}
    return {
        "ticket": {
            "id": "1234",
            "key": "1234",
            "url": "https://example.zendesk.com/agent/tickets/1234",
            "title": "Checkout fails for all EU customers",
            "status": "open",
            "status_category": "open",
            "priority": "P1",
            "type": "incident",
            "group": "Support L1",
            "assignee": "sam@example.com",
            "requester": {"name": "Alex Doe", "email": "alex@customer.example"},
            "organization": "Customer Ltd",
            "tags": ["checkout", "vip"],
            "components": ["Payments"],
            "created_at": "2026-11-20T09:00:00Z",
            "age": "1h 12m",
            "reopens": 0,
            "customer_replies": 2,
        },
        "level": {
            "from": "L1",
            "to": "L2",
            "name": "L2",
            "description": "Specialists",
            "owner": owner,
            "previous_owner": {"group": "Support L1", "assignee": "sam@example.com"},
            "awaiting_approval": False,
            "approvers": ["manager@example.com"],
            "approver_groups": ["support-managers"],
        },
        "rule": {"name": "p1-resolution", "description": "P1 unresolved after 1 hour"},
        "reasons": ["resolution (p1): 104% used, target passed 2m ago"],
        "sla": {
            "policy": "p1",
            "next_due": "2026-11-20T10:00:00Z",
            "targets": [
                {
                    "name": "resolution",
                    "used_percent": 104,
                    "used": "1h 2m",
                    "remaining": "-2m",
                    "overdue": "2m",
                    "due": "2026-11-20T10:00:00Z",
                    "breached": True,
                    "paused": False,
                }
            ],
        },
        "escalation": {"count": 1, "escalated_at": "2026-11-20T10:02:00Z", "approved_by": None},
        "notify": ["oncall-lead@example.com"],
        "now": "2026-11-20T10:02:00Z",
    }
