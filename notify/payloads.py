"""What each channel is sent: the request bodies, built from a notice, escaped for the target.

Template text written by the admin stays as written; ticket text (every value a template
prints, and the built-in summary's values) is escaped for the target, so no ticket can post a
mention, a link or markup:

- Slack mrkdwn: `&`, `<`, `>` escaped (so `<!channel>`, `<@U123>`, `<url|text>` are text), and
  `@here`, `@channel`, `@everyone` broken with a zero-width joiner.
- Teams Adaptive Card TextBlock (markdown subset): markdown punctuation backslashed, `<` `>`
  turned into their look-alikes so `<at>` mentions cannot form.
- E-mail: an HTML part with everything escaped, and a plain-text part; the subject has no line
  breaks (no header injection).
- PagerDuty, JSM and the generic webhook take JSON strings: plain text, as JSON escapes it.

Sources: Slack "Formatting text for app surfaces" (escaping, mentions); Microsoft "Format cards
in Teams" and the Adaptive Card 1.4 schema; PagerDuty Events API v2 "Send an Alert Event";
Jira Service Management operations "Alert API" (create, close by alias).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from rules.markup import Rendered, clean

APP = "escalation-connector"
_MENTION = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_TEAMS_MD = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
PD_SEVERITY = ("critical", "error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notice as a channel sends it (built from the state store's row)."""

    id: str
    instance: str
    ticket: str
    url: str
    channel: str
    key: str
    level: str
    rule: str
    event: str  # "trigger" (a notice) or "resolve" (PagerDuty, JSM: the alert is over)
    title: Rendered
    body: Rendered
    priority: str | None
    due: datetime

    @property
    def dedup_key(self) -> str:
        """Stable per ticket and level: PagerDuty's dedup_key, JSM's alias."""
        return f"{self.instance}/{self.ticket}/{self.level}"[:255]


def notice_id(instance: str, ticket: str, key: str, channel: str, event: str = "trigger") -> str:
    """The notice's id: the same whenever (and wherever) the same notice is meant."""
    text = "\x1f".join((instance, ticket, key, channel, event))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def slack_escape(text: str) -> str:
    escaped = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u2060\\1", escaped)


def teams_escape(text: str) -> str:
    escaped = _TEAMS_MD.sub(r"\\\1", clean(text))
    escaped = escaped.replace("<", "\u2039").replace(">", "\u203a")
    return _MENTION.sub("@\u2060\\1", escaped)


def _plain(r: Rendered) -> str:
    return clean(r.plain())


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _link_url(url: str) -> str:
    """A ticket link made safe inside Slack's `<url|text>` (no `|` or `>` can end it)."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def slack(o: Outgoing) -> dict[str, Any]:
    text = o.body.render(slack_escape)
    link = f"<{_link_url(o.url)}|Open ticket {slack_escape(o.ticket)}>" if o.url else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}
    ]
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": o.title.render(slack_escape)[:3000], "blocks": blocks}


def teams(o: Outgoing) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": o.title.render(teams_escape),
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": o.body.render(teams_escape), "wrap": True},
        ],
    }
    if o.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open ticket", "url": o.url}]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def email(
    o: Outgoing, sender: str, to: list[str], domain: str = "escalation.invalid"
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(_plain(o.title), 200)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{o.id}@{domain}>"
    msg["X-Escalation-Notice"] = o.id
    plain = _plain(o.body) + (f"\n\n{o.url}" if o.url else "")
    msg.set_content(plain)
    body = html.escape(_plain(o.body)).replace("\n", "<br>\n")
    link = f'<p><a href="{html.escape(o.url, quote=True)}">Open the ticket</a></p>' if o.url else ""
    msg.add_alternative(f"<html><body><p>{body}</p>{link}</body></html>", subtype="html")
    return msg


def pagerduty(o: Outgoing, routing_key: str, severity: str) -> dict[str, Any]:
    if o.event == "resolve":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": o.dedup_key}
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": o.dedup_key,
        "payload": {
            "summary": _one_line(_plain(o.title), 1024) or o.ticket,
            "source": f"{o.instance}/{o.ticket}"[:255],
            "severity": severity if severity in PD_SEVERITY else "error",
            "component": o.level,
            "group": o.instance,
            "class": o.rule or "level",
            "custom_details": _details(o),
        },
        "client": APP,
    }
    if o.url:
        body["links"] = [{"href": o.url, "text": f"Ticket {o.ticket}"}]
    return body


def jsm(o: Outgoing) -> dict[str, Any]:
    """An alert for JSM operations (the Opsgenie alert API's successor, same body)."""
    if o.event == "resolve":
        return {"source": APP, "note": f"Ticket {o.ticket} left level {o.level}"}
    priority = o.priority if o.priority in ("P1", "P2", "P3", "P4", "P5") else "P3"
    return {
        "message": _one_line(_plain(o.title), 130) or o.ticket,
        "alias": o.dedup_key,
        "description": (_plain(o.body) + (f"\n{o.url}" if o.url else ""))[:15000],
        "source": APP,
        "priority": priority,
        "entity": f"{o.instance}/{o.ticket}"[:512],
        "tags": ["escalation", o.level[:50]],
        "details": {k: str(v)[:8000] for k, v in _details(o).items()},
    }


def webhook(o: Outgoing) -> dict[str, Any]:
    return {
        "type": "escalation.notice" if o.event == "trigger" else "escalation.resolved",
        "id": o.id,
        "instance": o.instance,
        "ticket": o.ticket,
        "url": o.url,
        "level": o.level,
        "rule": o.rule or None,
        "priority": o.priority,
        "title": _plain(o.title),
        "text": _plain(o.body),
        "due": o.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _details(o: Outgoing) -> dict[str, Any]:
    return {
        "ticket": o.ticket,
        "url": o.url,
        "level": o.level,
        "rule": o.rule or None,
        "priority": o.priority,
        "text": _plain(o.body),
    }
