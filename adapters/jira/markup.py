"""Comment bodies: ADF for Cloud (API v3), escaped wiki markup for Data Center (API v2).

ADF is built from text nodes only. Ticket text (the data parts of a `Rendered`) becomes the
`text` of a text node, which Jira displays as is: it can never become a link, macro, mention or
emphasis. The template's own text is not interpreted either (ADF has no markup syntax), so a
Cloud comment is plain text in paragraphs: a blank line starts a paragraph, a newline is a
hard break. On Data Center the template's literal text stays wiki markup and the data parts are
escaped with `ESCAPERS["jira_wiki"]`.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson

from rules.markup import ESCAPERS, Rendered, clean

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")


def wiki(rendered: Rendered) -> str:
    return clean(rendered.render(ESCAPERS["jira_wiki"]))


def adf(rendered: Rendered) -> dict[str, Any]:
    """An ADF document of paragraphs of text nodes and hard breaks."""
    text = clean(rendered.plain()).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[dict[str, Any]] = []
    for block in _PARAGRAPH.split(text.strip("\n")):
        content: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


_BLOCKS = frozenset({"doc", "bulletList", "orderedList", "tableRow", "table"})


def adf_text(node: Any) -> str:
    """The plain text of an ADF document (paragraphs separated by blank lines)."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):  # JSON objects are dicts: no ABC check per node
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or "@" + str(attrs.get("id", "")))
    children = []
    for child in node.get("content") or ():
        leaf = child.get("type") if isinstance(child, dict) else None
        if leaf == "text":  # the leaves, inline: most of a comment's nodes
            children.append(str(child.get("text", "")))
        elif leaf == "hardBreak":
            children.append("\n")
        else:
            children.append(adf_text(child))
    if kind in _BLOCKS:
        return "\n\n".join(c for c in children if c)
    return "".join(children)


def body_text(body: Any) -> str:
    """A comment body as text, whichever API returned it (and kept raw by a sweep's decoding,
    `adapters.jira.decoding`)."""
    if isinstance(body, msgspec.Raw):
        body = orjson.loads(memoryview(body))
    return adf_text(body) if isinstance(body, dict) else str(body or "")
