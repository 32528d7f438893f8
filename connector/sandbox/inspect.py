"""What agents would see in their queues, read straight from the emulators' state (`snapshot`),
and what a run would still change (`due`, read through the real adapters): for the demo's
before/after table and the end-to-end tests' invariants (`due` after a clean run must be empty;
the connector's comments per ticket show a note was never posted twice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from connector.sandbox.catalog import instant
from connector.sandbox.jira import JiraWorld
from connector.sandbox.zendesk import ZendeskWorld
from rules.engine import evaluate

if TYPE_CHECKING:
    from connector.sandbox.box import Sandbox


@dataclass(frozen=True, slots=True)
class Row:
    """One ticket in an agent's queue."""

    ticket: str
    title: str
    group: str | None
    level: str | None
    priority: str | None  # the platform's name
    sla_due: str | None
    notes: int = 0  # internal comments by the connector's account
    replies: int = 0  # public comments by the connector's account


def snapshot(sandbox: Sandbox) -> dict[str, list[Row]]:
    """Every ticket of every instance, in ticket order."""
    out: dict[str, list[Row]] = {}
    for instance, world in sandbox.worlds.items():
        out[instance] = _zendesk(world) if isinstance(world, ZendeskWorld) else _jira(world)
    return out


def due(sandbox: Sandbox, now: float | None = None) -> dict[str, list[str]]:
    """The tickets a run at `now` (default: the sandbox clock) would change: the tickets as
    the real adapters read them, evaluated."""
    at = sandbox.clock() if now is None else now
    assert sandbox.policy is not None, "the sandbox is not started"
    out: dict[str, list[str]] = {}
    for instance in sandbox.worlds:
        outcomes = evaluate(sandbox.policy, sandbox.tickets(instance, at), instant(at))
        out[instance] = [o.ticket for o in outcomes if o.change is not None]
    return out


def _zendesk(world: ZendeskWorld) -> list[Row]:
    emu = world.emu
    rows = []
    for tid in sorted(emu.tickets):
        raw = emu.tickets[tid]
        values = {c["id"]: c["value"] for c in raw["custom_fields"]}

        def field(logical: str, values: dict[int, object] = values) -> str | None:
            fid = world.tracking.get(logical)
            value = values.get(fid) if fid is not None else None
            return None if value in (None, "") else str(value)

        ours = [c for c in emu.comments[tid] if c["author_id"] == emu.me]
        group = emu.groups.get(raw["group_id"] or -1, {}).get("name")
        rows.append(
            Row(
                ticket=str(tid),
                title=str(raw["subject"]),
                group=group,
                level=field("level"),
                priority=raw["priority"],
                sla_due=field("sla_due"),
                notes=sum(1 for c in ours if not c["public"]),
                replies=sum(1 for c in ours if c["public"]),
            )
        )
    return rows


def _internal(comment: dict[str, object]) -> bool:
    if comment.get("visibility"):
        return True
    props = comment.get("properties") or []
    assert isinstance(props, list)
    return any(
        p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal")
        for p in props
    )


def _jira(world: JiraWorld) -> list[Row]:
    emu = world.emu
    me = emu.users[emu.myself]
    rows = []
    for key in sorted(emu.issues, key=lambda k: (k.split("-")[0], int(k.split("-")[1]))):
        fields = emu.issues[key].fields

        def value(logical: str, fields: dict[str, object] = fields) -> str | None:
            fid = world.tracking.get(logical)
            return _text(fields.get(fid)) if fid is not None else None

        ours = [c for c in emu.issues[key].comments if c["author"] is me or c["author"] == me]
        group = _text(fields.get(world.group)) if world.group is not None else None
        priority = fields.get("priority")
        rows.append(
            Row(
                ticket=key,
                title=str(fields.get("summary") or ""),
                group=group,
                level=value("level"),
                priority=priority.get("name") if isinstance(priority, dict) else None,
                sla_due=value("sla_due"),
                notes=sum(1 for c in ours if _internal(c)),
                replies=sum(1 for c in ours if not _internal(c)),
            )
        )
    return rows


def _text(value: object) -> str | None:
    """A Jira field value as agents read it: an option by its value, text as it is."""
    if isinstance(value, dict):
        value = value.get("value") or value.get("name")
    return None if value in (None, "") else str(value)
