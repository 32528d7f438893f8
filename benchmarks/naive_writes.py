"""The naive script `bench_run.py` compares the connector with: the writes of a plan done the way
the client libraries invite, one ticket after another, with no batching and no care for races.

- Jira (pycontribs `jira`): per changed ticket `jira.issue(key)`, then `issue.update(fields=...,
  update=labels)` (a PUT, after which the library reloads the issue: a GET),
  `jira.assign_issue(key, ...)` where the assignee changes, and `jira.add_comment(...)` for the
  internal note (JSM internal) and again for the public reply.
- Zendesk (`zenpy`): per changed ticket `zenpy.tickets(id=...)`, then `zenpy.tickets.update(t)`
  with the fields, group, priority and tags, and a separate comment-only update for the note and
  one more for the public reply (an update carries one comment).

The field values are those of the connector's plan (the same tracking fields, owners and
comments), so both write the same changes; only the way of sending them differs. Run as a child
process by `bench_run.py`; it prints one JSON line: seconds, tickets written, failures.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from jira import JIRA
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config import Config, load_config  # noqa: E402
from rules.mapping import platform_priority  # noqa: E402
from rules.markup import ESCAPERS  # noqa: E402
from rules.plan import TicketChange, from_json  # noqa: E402

Write = Callable[[TicketChange], None]


def jira_writer(config: Config, instance: str) -> Write:
    settings: Any = config.instances[instance]
    auth = settings.auth
    if hasattr(auth, "api_token"):
        token = auth.api_token.resolve("api_token").reveal()
        jira = JIRA(server=settings.url, basic_auth=(auth.email, token))
    else:
        pat = auth.personal_access_token.resolve("personal_access_token").reveal()
        jira = JIRA(server=settings.url, token_auth=pat)
    fields = {f["name"]: f for f in jira.fields()}
    titles = dict(config.policy.platforms["jira"].fields)
    policy = config.policy

    def value(name: str, new: object) -> Any:
        schema = fields[name].get("schema") or {}
        if new is None or new == "":
            return None
        if schema.get("type") == "number":
            return float(str(new))
        if schema.get("type") == "option":
            return {"value": str(new)}
        return str(new)

    def write(change: TicketChange) -> None:
        issue = jira.issue(change.ticket)
        values: dict[str, Any] = {}
        for logical, diff in change.tracking.items():
            values[fields[titles[logical]]["id"]] = value(titles[logical], diff.new)
        for name, diff in change.fields.items():
            values[fields[name]["id"]] = value(name, diff.new)
        if change.group is not None and settings.group_field:
            values[fields[settings.group_field]["id"]] = value(
                settings.group_field, change.group.new
            )
        if change.priority is not None and change.priority.new is not None:
            values["priority"] = {
                "name": platform_priority(policy, "jira", str(change.priority.new))
            }
        labels = [{"add": t} for t in change.add_tags] + [{"remove": t} for t in change.remove_tags]
        issue.update(fields=values, update={"labels": labels} if labels else None)
        if change.assignee is not None:
            new = change.assignee.new
            jira.assign_issue(change.ticket, None if new is None else str(new))
        if change.internal_note is not None:
            body = change.internal_note.render(ESCAPERS["jira_wiki"])
            jira.add_comment(change.ticket, body, is_internal=settings.jsm_internal_comments)
        if change.public_reply is not None:
            jira.add_comment(change.ticket, change.public_reply.render(ESCAPERS["jira_wiki"]))

    return write


def zendesk_writer(config: Config, instance: str) -> Write:
    settings: Any = config.instances[instance]
    auth = settings.auth
    secret = auth.client_secret.resolve("client_secret").reveal()
    token = requests.post(
        f"{settings.url}/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": secret,
            "scope": "read write",
        },
        timeout=30,
    ).json()["access_token"]
    # zenpy builds https://<subdomain>.<domain>: the sandbox's 127.0.0.1:<port> over http.
    os.environ["ZENPY_FORCE_SCHEME"] = urlsplit(settings.url).scheme
    subdomain, domain = urlsplit(settings.url).netloc.split(".", 1)
    zen = Zenpy(subdomain=subdomain, domain=domain, oauth_token=token)
    fields = {f.title: f for f in zen.ticket_fields()}
    groups = {g.name: g.id for g in zen.groups()}
    titles = dict(config.policy.platforms["zendesk"].fields)
    policy = config.policy

    def value(title: str, new: object) -> Any:
        if new is None or new == "":
            return None
        return int(str(new)) if fields[title].type == "integer" else str(new)

    def write(change: TicketChange) -> None:
        ticket = zen.tickets(id=int(change.ticket))
        custom = [
            {"id": fields[titles[k]].id, "value": value(titles[k], d.new)}
            for k, d in change.tracking.items()
        ]
        custom += [{"id": fields[k].id, "value": value(k, d.new)} for k, d in change.fields.items()]
        ticket.custom_fields = custom
        if change.group is not None:
            ticket.group_id = groups[str(change.group.new)] if change.group.new else None
        if change.priority is not None and change.priority.new is not None:
            ticket.priority = platform_priority(policy, "zendesk", str(change.priority.new))
        if change.assignee is not None and change.assignee.new is None:
            ticket.assignee_id = None
        if change.add_tags or change.remove_tags:
            ticket.tags = sorted(
                (set(ticket.tags) | set(change.add_tags)) - set(change.remove_tags)
            )
        zen.tickets.update(ticket)
        for text, public in ((change.internal_note, False), (change.public_reply, True)):
            if text is not None:
                body = text.render(ESCAPERS["markdown"])
                comment = Comment(body=body, public=public)
                zen.tickets.update(Ticket(id=int(change.ticket), comment=comment))

    return write


def main(platform: str, config_path: str, instance: str, plan_path: str) -> None:
    config = load_config(config_path)
    changes = [from_json(c) for c in json.loads(Path(plan_path).read_text(encoding="utf-8"))]
    started = time.perf_counter()
    write = (
        zendesk_writer(config, instance) if platform == "zendesk" else jira_writer(config, instance)
    )
    failed: list[str] = []
    for change in changes:
        try:
            write(change)
        except Exception as exc:  # count it and go on, as a naive loop with a try would
            failed.append(f"{change.ticket}: {type(exc).__name__}: {str(exc)[:200]}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "changes": len(changes), "failed": failed}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
