"""`explain`: everything the engine saw and decided for one ticket, as JSON-able data and text.

It uses the same evaluation as a run (`evaluate_ticket`), so the change it shows is exactly
what a run would write. "Next trigger" is computed on the ticket as it will be once the change
shown has landed, and assumes nothing else about it changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rules.apply import apply_change
from rules.approval import describe_pending, pending_level
from rules.engine import current_state, evaluate_ticket, rule_status
from rules.facts import Facts, TargetStatus, ts_to_dt
from rules.model import Ticket
from rules.plain import plain
from rules.policy import Policy
from rules.tracking import State, format_time
from rules.triggers import TraceNode, trace
from rules.units import format_duration


def explain(policy: Policy, ticket: Ticket, now: datetime) -> dict[str, Any]:
    facts = Facts(policy, ticket, now)
    state, rearmed = current_state(facts)
    outcome = evaluate_ticket(policy, ticket, now)
    after = Facts(policy, apply_change(policy, ticket, outcome.change, now), now)
    after_state, _ = current_state(after)
    rules = []
    upcoming: list[tuple[float, str]] = []
    for rule in policy.rules:
        status = rule_status(rule, facts, state)
        entry: dict[str, Any] = {
            "rule": rule.name,
            "status": status,
            "when": _tree(trace(rule.when, facts)),
        }
        if rule.unless is not None:
            entry["unless"] = _tree(trace(rule.unless, facts))
        fired = state.fired_for(rule.key(facts.level))
        if fired is not None:
            entry["fired_before"] = {"count": fired.count, "last": format_time(fired.last)}
        if rule_status(rule, after, after_state) == "not matched" and rule.model.enabled:
            at = rule.when.next_fire(after)  # once the change shown below has landed
            if at is not None and at > facts.now_ts:
                entry["next_fire"] = format_time(ts_to_dt(at))
                upcoming.append((at, rule.name))
        rules.append(entry)
    nxt = min(upcoming) if upcoming else None
    return {
        "ticket": {
            "id": ticket.id,
            "instance": ticket.instance,
            "status": f"{ticket.status} ({ticket.status_category.value})",
            "priority": ticket.priority,
            "level": facts.level,
            "tracking_state": state.encode(),
            "state_unreadable": ticket.tracking.state.corrupt,
            "rearmed": rearmed,
        },
        "now": format_time(now),
        "policy_hash": policy.hash,
        "sla": _sla(facts),
        "rules": rules,
        "approval": _pending(facts, state),
        "change": outcome.change.to_json() if outcome.change else None,
        "next_trigger": {"at": format_time(ts_to_dt(nxt[0])), "rule": nxt[1]} if nxt else None,
    }


def _pending(f: Facts, state: State) -> dict[str, Any] | None:
    level = pending_level(f, state)
    return describe_pending(level, f.ticket, state, f.now) if level is not None else None


def _tree(node: TraceNode) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": node.ok, "test": node.text}
    if node.children:
        out["parts"] = [_tree(child) for child in node.children]
    return out


def _sla(f: Facts) -> dict[str, Any] | None:
    if f.sla is None:
        return None
    return {
        "policy": f.sla.name,
        "targets": [_target(f, t) for t in f.targets.values()],
    }


def _target(f: Facts, t: TargetStatus) -> dict[str, Any]:
    cal = f.policy.calendars[t.calendar]
    start, end = ts_to_dt(t.start), f.now
    return {
        "target": t.target,
        "calendar": t.calendar,
        "goal": format_duration(t.goal),
        "used": format_duration(t.used),
        "used_percent": round(t.percent, 1),
        "remaining": format_duration(t.remaining),
        "breached": t.breached,
        "fulfilled": t.fulfilled,
        "paused": t.paused,
        "due": format_time(ts_to_dt(t.due)) if t.due is not None else None,
        "clock": {
            "since": format_time(start),
            "working_minutes": round(t.used / 60, 1),
            "paused_spans": [
                {
                    "from": format_time(ts_to_dt(a)),
                    "to": format_time(ts_to_dt(b)),
                    "working_minutes_excluded": round(cal.elapsed_ts(a, b) / 60, 1),
                }
                for a, b in t.paused_spans
            ],
            "holidays": [f"{d.isoformat()} {name}" for d, name in cal.holidays_between(start, end)],
            "dst_changes": [format_time(x) for x in cal.transitions_between(start, end)],
        },
    }


def render_text(data: dict[str, Any]) -> str:
    """`explain` data as text for a person: ticket, SLA, rules, change and next trigger."""
    nxt = data["next_trigger"]
    lines = [
        *_render_ticket(data["ticket"], data["now"]),
        "",
        *_render_sla(data["sla"]),
        "",
        *_render_rules(data["rules"]),
        "",
        *_render_approval(data.get("approval")),
        *_render_change(data["change"]),
        "",
        f"Next trigger: {nxt['rule']} at {nxt['at']}" if nxt else "Next trigger: none scheduled",
    ]
    return "\n".join(lines) + "\n"


def _render_ticket(t: dict[str, Any], now: str) -> list[str]:
    lines = [
        f"Ticket {t['id']} ({t['instance']}) at {now}: {t['status']}, "
        f"priority {t['priority'] or 'none'}, level {t['level']}",
    ]
    if t["state_unreadable"]:
        lines.append("  ! the state tracking field could not be read; treated as empty")
    if t["rearmed"]:
        lines.append("  reopened since the last run: a new cycle starts, rules may fire again")
    return lines


def _render_sla(sla: dict[str, Any] | None) -> list[str]:
    if sla is None:
        return ["SLA: no SLA policy covers this ticket"]
    lines = [f"SLA policy {sla['policy']}:"]
    for target in sla["targets"]:
        lines.extend(_render_target(target))
    return lines


def _render_target(target: dict[str, Any]) -> list[str]:
    """One SLA target: its figures, then how its clock was measured."""
    state = "fulfilled" if target["fulfilled"] else "paused" if target["paused"] else "running"
    if target["fulfilled"] and target["breached"]:
        state = "fulfilled late: BREACHED"  # met after its target: a breach, as report counts
    clock = target["clock"]
    return [
        f"  {target['target']}: {target['used']} of {target['goal']} used "
        f"({target['used_percent']}%), {target['remaining']} left, {state}"
        + (f", due {target['due']}" if target["due"] else "")
        + (" BREACHED" if target["breached"] and not target["fulfilled"] else ""),
        f"    clock: {clock['working_minutes']} working minutes on {target['calendar']} "
        f"since {clock['since']}",
        *(
            f"    paused {span['from']} -> {span['to']} "
            f"({span['working_minutes_excluded']} working minutes excluded)"
            for span in clock["paused_spans"]
        ),
        *(f"    holiday: {holiday}" for holiday in clock["holidays"]),
        *(f"    DST change: {change}" for change in clock["dst_changes"]),
    ]


def _render_rules(rules: list[dict[str, Any]]) -> list[str]:
    lines = ["Rules:"]
    for rule in rules:
        lines.append(f"  [{rule['status']}] {rule['rule']}")
        _render_tree(rule["when"], lines, "      ")
        if "unless" in rule:
            lines.append("      unless:")
            _render_tree(rule["unless"], lines, "        ")
        if "fired_before" in rule:
            fb = rule["fired_before"]
            lines.append(f"      fired {fb['count']}x before, last at {fb['last']}")
        if "next_fire" in rule:
            lines.append(f"      would fire at {rule['next_fire']} if nothing else changes")
    return lines


def _render_approval(a: dict[str, Any] | None) -> list[str]:
    """A pending approval, then a blank line; nothing when none is pending."""
    if a is None:
        return []
    since = f" since {a['asked_at']}" if a["asked_at"] else ""
    lines = [f"Approval: {a['level']} awaits approval{since} by {a['approvers']}"]
    if a["field"]:
        who = a["set_by"] or "no one on record"
        lines.append(f"  approval field: {plain(a['field'])}, set by {who}: {a['verdict']}")
    else:
        lines.append("  approval field: empty")
    if a["next"]:
        lines.append(f"  next: {a['next']}")
    return [*lines, ""]


def _render_change(change: dict[str, Any] | None) -> list[str]:
    if change is None:
        return ["Change: none"]
    level = change["level"]
    moved = level["from"] != level["to"]
    lines = [
        f"Change: level {level['from']} -> {level['to']}"
        if moved
        else f"Change: level stays {level['from']}"
    ]
    for action in change["actions"]:
        lines.extend(_render_action(action))
    for n in change.get("notices") or ():
        when = f"deferred to {n['due']} (outside its hours)" if n["deferred"] else "at once"
        text = "".join(t for _, t in n["title"])
        lines.append(f"  notice to {n['channel']}: {when}, {n['key']}: {text}")
    return lines


def _render_action(action: dict[str, Any]) -> list[str]:
    """A comment with its body quoted line by line; any other action as key=value pairs."""
    kind = action["type"]
    if kind not in ("internal_note", "public_reply"):
        rest = {k: v for k, v in action.items() if k != "type"}
        if "from" in rest and "to" in rest:  # set_group: "Support L1" -> "Support L2"
            name = f" {rest.pop('field')}" if "field" in rest else ""
            move = f"{plain(rest.pop('from'))} -> {plain(rest.pop('to'))}"
            return [
                f"  {kind}{name}: {move}" + "".join(f", {k} {plain(v)}" for k, v in rest.items())
            ]
        if len(rest) == 1:  # add_tags: ["vip"]
            return [f"  {kind}: {plain(next(iter(rest.values())))}"]
        return [f"  {kind}: " + ", ".join(f"{k} {plain(v)}" for k, v in rest.items())]
    lines = [f"  {kind}:", *(f"    | {line}" for line in action["body"].splitlines())]
    if action.get("notify"):
        lines.append(f"    notify: {', '.join(action['notify'])}")
    return lines


def _render_tree(node: dict[str, Any], lines: list[str], indent: str) -> None:
    mark = "yes" if node["ok"] else "no "
    lines.append(f"{indent}{mark}  {node['test']}")
    for child in node.get("parts", []):
        _render_tree(child, lines, indent + "     ")
