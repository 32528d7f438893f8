"""The rules of one ticket update, as Zendesk applies them: which keys a single update ignores,
how the tags and the comment come out, the audit's Change events, and the checks that refuse an
update (a closed ticket, a safe update on an outdated stamp)."""

from __future__ import annotations

from emulators.zendesk.wire import Json, Refused, invalid, seconds

BULK_ONLY = ("additional_tags", "remove_tags")


def as_tags(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def change_events(old: Json, new: Json) -> list[Json]:
    """The audit's Change events: a field by name, the tags as lists, a custom field by its id
    (as Zendesk writes them: `field_name` is the id as text)."""
    events = [
        {"type": "Change", "field_name": k, "value": new[k], "previous_value": old[k]}
        for k in ("status", "priority", "group_id", "assignee_id", "tags")
        if new[k] != old[k]
    ]
    before = {c["id"]: c["value"] for c in old["custom_fields"]}
    for item in new["custom_fields"]:
        if item["value"] != before.get(item["id"]):
            events.append(
                {
                    "type": "Change",
                    "field_name": str(item["id"]),
                    "value": item["value"],
                    "previous_value": before.get(item["id"]),
                }
            )
    return events


def tags_after(tags: list[str], changes: Json) -> list[str]:
    """`tags` replaces them all; `additional_tags` and `remove_tags` edit them."""
    after = list(changes["tags"]) if "tags" in changes else list(tags)
    after += [t for t in changes.get("additional_tags") or () if t not in after]
    return [t for t in after if t not in set(changes.get("remove_tags") or ())]


def comment_of(changes: Json) -> tuple[str, bool] | None:
    """The update's comment as (body, public), refused if it has no body."""
    comment = changes.get("comment")
    if comment is None:
        return None
    if not (comment.get("body") or comment.get("html_body")):
        raise invalid("", comment=[{"description": "Comment: body is required"}])
    return comment.get("body") or comment.get("html_body"), comment.get("public", True)


def check_current(ticket: Json, changes: Json, queued: str | None) -> None:
    """Refuse an update of a closed ticket, or a safe update of an outdated one."""
    if ticket["status"] == "closed":
        raise invalid("", status=[{"description": "Status: closed prevents ticket update"}])
    given = changes.get("updated_stamp")
    # Zendesk takes any `safe_update` value, false included, as true: only its absence is off.
    if "safe_update" in changes and given is None and queued is None:
        raise Refused(400, {"error": "InvalidValue", "description": "updated_stamp missing"})
    # A job item without a stamp is checked against the queue time: always passes here.
    moved = given is not None and seconds(given) != seconds(ticket["updated_at"])
    if "safe_update" in changes and moved:
        raise Refused(
            409,
            {
                "error": "UpdateConflict",
                "description": "Safe Update prevented the update due to outdated ticket"
                " data. Please fetch the latest ticket data and try again.",
            },
        )
