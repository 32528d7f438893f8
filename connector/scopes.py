"""Lint warnings that need the instances as well as the policy (rules/lint.py has the rest).

A rule that acts on solved or closed tickets (its `when` names such a status: a closure rule)
only ever sees the tickets an instance reads, its `scope`. When the scope clearly leaves every
solved and closed ticket out (Zendesk `status<solved`, Jira `statusCategory != Done` or
`resolution = Unresolved`, the defaults), the rule never runs there. Each platform's settings
decide offline, conservatively, what their query leaves out (`done_left_out`): a query they
cannot be sure about (an OR, say) draws no warning.
"""

from __future__ import annotations

from adapters.settings import InstanceSettings
from connector.config import Config


def narrowed(config: Config, name: str) -> tuple[InstanceSettings, str | None]:
    """The instance's settings with its search narrowed where that is exact, and what was
    narrowed and why (None: as configured).

    Exact: when no enabled rule acts on solved or closed tickets and no level waits for an
    approval, evaluating one yields nothing (no rule fires on it, and the `sla_due`
    bookkeeping stops at done), so leaving them out of the search changes no plan; a ticket
    reopened is in the search again."""
    settings, policy = config.instances[name], config.policy
    if any(rule.on_done and rule.model.enabled for rule in policy.rules) or any(
        level.model.approval is not None for level in policy.levels
    ):
        return settings, None
    update = settings.without_done()
    if update is None:
        return settings, None
    why = (
        f"search narrowed to {update['scope']!r}: no enabled rule acts on solved or closed"
        " tickets, so the policy can never change one"
    )
    return settings.model_copy(update=update), why


def scope_warnings(config: Config) -> list[str]:
    """One warning per closure rule and instance whose scope leaves solved tickets out."""
    doc = config.policy.doc
    out: list[str] = []
    for rule in config.policy.rules:
        if not rule.on_done or not rule.model.enabled:
            continue
        where = doc.where(("rules", rule.index)) if doc else config.path
        for name, settings in config.instances.items():
            left_out = settings.done_left_out()
            if left_out is None:
                continue
            query, term = left_out
            shown = f"the default scope {query!r}"
            if "scope" in settings.model_fields_set:
                at = ("instances", name, "scope")
                shown = (
                    f"its scope {query!r} (line {doc.line(at)})" if doc else f"its scope {query!r}"
                )
            out.append(
                f"{where}: rule {rule.name!r} acts on solved or closed tickets but never sees one"
                f" on instance {name!r}: {shown} leaves them out ({term}); add solved tickets"
                " to the scope, at least those solved since the last run"
                " (docs/policy.md#solved-and-closed-tickets)"
            )
    return out
