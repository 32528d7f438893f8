"""Rendered comments as literal/data segments, and escapers for each target markup.

Template text written by the admin is markup; every value a template prints (ticket text above
all) is data. Keeping them apart until the adapter knows the target markup means ticket text can
never become a link, macro, mention or HTML in the posted comment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Escaper = Callable[[str], str]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:])")
_JIRA_WIKI = re.compile(r"([\\{}\[\]|*_+\-^~?!#:])")


def clean(text: str) -> str:
    """Drop control characters (they have no business in a comment)."""
    return _CONTROL.sub("", text)


def plain(text: str) -> str:
    """For targets that treat text as text already (Jira ADF text nodes)."""
    return text


def markdown(text: str) -> str:
    """Zendesk comment markdown: backslash every punctuation mark markdown or autolinks use."""
    return _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))


def jira_wiki(text: str) -> str:
    """Jira wiki markup (API v2 / Data Center): no links, macros, mentions, emphasis or images."""
    return _JIRA_WIKI.sub(r"\\\1", text)


def html_text(text: str) -> str:
    return html.escape(text, quote=True)


ESCAPERS: dict[str, Escaper] = {
    "plain": plain,
    "markdown": markdown,
    "jira_wiki": jira_wiki,
    "html": html_text,
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered template: (is_data, text) parts."""

    parts: tuple[tuple[bool, str], ...]

    def plain(self) -> str:
        return "".join(text for _, text in self.parts)

    def render(self, escape: Escaper) -> str:
        return "".join(escape(text) if data else text for data, text in self.parts)

    def __add__(self, other: Rendered) -> Rendered:
        return Rendered(self.parts + other.parts)

    @classmethod
    def literal(cls, text: str) -> Rendered:
        return cls(((False, text),))

    def to_json(self) -> list[list[Any]]:
        """Template text (false) and ticket data (true) kept apart, so what is saved (a plan,
        a notice) is escaped for its target exactly as it would have been at once."""
        return [[data, text] for data, text in self.parts]

    @classmethod
    def from_json(cls, parts: list[list[Any]]) -> Rendered:
        return cls(tuple((bool(data), str(text)) for data, text in parts))
