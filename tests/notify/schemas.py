"""The part of each service's documented request schema our notices rely on, as JSON Schema.

Written from the services' documentation (not from our code):
- Slack incoming webhooks: https://api.slack.com/messaging/webhooks and Block Kit
  https://api.slack.com/reference/block-kit/blocks (section: text object, at most 3,000
  characters; context: at most 10 elements; text objects: type mrkdwn or plain_text).
- Microsoft Teams (incoming webhook / Workflows): "Send Adaptive Cards using an Incoming
  Webhook", https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
  connectors-using (a message whose attachments hold one Adaptive Card), and the Adaptive Card
  schema http://adaptivecards.io/schemas/adaptive-card.json (TextBlock, Action.OpenUrl).
- PagerDuty Events API v2: https://developer.pagerduty.com/docs/events-api-v2/trigger-events
  and .../resolve-events (routing_key 32 characters, event_action, dedup_key at most 255,
  payload.summary at most 1,024, severity one of four, links of href and text).
- Jira Service Management operations, Alert API (create alert, close alert):
  https://developer.atlassian.com/cloud/jira/service-desk-ops/rest/v2/api-group-alerts
  (message at most 130 characters, alias at most 512, description at most 15,000, entity at
  most 512, source at most 100, priority P1 to P5, details a map of strings).
"""

from __future__ import annotations

from typing import Any

TEXT_OBJECT = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {
        "type": {"enum": ["mrkdwn", "plain_text"]},
        "text": {"type": "string", "minLength": 1, "maxLength": 3000},
    },
}
SLACK: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string"},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "section"}, "text": TEXT_OBJECT},
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {
                            "type": {"const": "context"},
                            "elements": {"type": "array", "maxItems": 10, "items": TEXT_OBJECT},
                        },
                    },
                ]
            },
        },
    },
}
TEAMS: dict[str, Any] = {
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "properties": {
                            "type": {"const": "AdaptiveCard"},
                            "version": {"type": "string", "pattern": r"^1\.\d$"},
                            "body": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "text"],
                                    "properties": {
                                        "type": {"const": "TextBlock"},
                                        "text": {"type": "string"},
                                        "wrap": {"type": "boolean"},
                                        "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                                    },
                                },
                            },
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "url"],
                                    "properties": {
                                        "type": {"const": "Action.OpenUrl"},
                                        "url": {"type": "string", "format": "uri"},
                                        "title": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
PAGERDUTY: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": {"type": "string"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["href"],
                "properties": {"href": {"type": "string"}, "text": {"type": "string"}},
            },
        },
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
    },
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {"required": ["payload"]},
    "else": {"required": ["dedup_key"]},
}
JSM_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "additionalProperties": False,
    "properties": {
        "message": {"type": "string", "minLength": 1, "maxLength": 130},
        "alias": {"type": "string", "maxLength": 512},
        "description": {"type": "string", "maxLength": 15000},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 50}},
        "details": {"type": "object", "additionalProperties": {"type": "string"}},
        "entity": {"type": "string", "maxLength": 512},
        "source": {"type": "string", "maxLength": 100},
        "priority": {"enum": ["P1", "P2", "P3", "P4", "P5"]},
        "user": {"type": "string", "maxLength": 100},
        "note": {"type": "string", "maxLength": 25000},
    },
}
JSM_CLOSE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "user": {"type": "string", "maxLength": 100},
        "source": {"type": "string", "maxLength": 100},
        "note": {"type": "string", "maxLength": 25000},
    },
}
#: Ours (docs/notices.md, "Generic webhook").
WEBHOOK: dict[str, Any] = {
    "type": "object",
    "required": ["type", "id", "instance", "ticket", "level", "title", "text", "due"],
    "properties": {
        "type": {"enum": ["escalation.notice", "escalation.resolved"]},
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "due": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
    },
}
