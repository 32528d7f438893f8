"""Comment bodies: hostile ticket text stays text, in wiki markup (v2) and in ADF (v3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.jira.markup import adf, adf_text, wiki
from rules.engine import evaluate_ticket
from rules.markup import Rendered
from rules.model import StatusCategory, Ticket
from rules.needs import needs
from tests.adapters.contract import contract_policy
from tests.adapters.jira_harness import JiraHarness, harnesses

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOSTILE = "[click|http://evil] {code}x{code} {{x}} [~admin] *bold* !img.png! #1"


def note_for(title: str) -> Rendered:
    """The contract policy's handoff note, rendered by the engine for a ticket titled so."""
    ticket = Ticket(
        id="SUP-1",
        instance="i",
        platform="jira",
        title=title,
        status="Open",
        status_category=StatusCategory.OPEN,
        priority="P1",
        priority_rank=1,
        created_at=NOW,
        updated_at=NOW,
    )
    change = evaluate_ticket(contract_policy(), ticket, NOW).change
    assert change is not None and change.internal_note is not None
    return change.internal_note


def nodes(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield doc
    for child in doc.get("content") or ():
        yield from nodes(child)


def test_wiki_escapes_links_macros_mentions_and_emphasis_in_ticket_text() -> None:
    body = wiki(note_for(HOSTILE))
    assert body.startswith("Escalated ")  # the template's own text is left as written
    assert "\\[click\\|http\\://evil\\]" in body
    assert "\\{code\\}x\\{code\\}" in body
    assert "\\{\\{x\\}\\}" in body
    assert "\\[\\~admin\\]" in body
    assert "\\*bold\\*" in body and "\\!img.png\\!" in body
    unescaped = [c for i, c in enumerate(body) if c in "[]{}|" and body[i - 1] != "\\"]
    assert unescaped == []


def test_adf_puts_ticket_text_in_a_plain_text_node() -> None:
    doc = adf(note_for(HOSTILE))
    kinds = {n["type"] for n in nodes(doc)}
    assert kinds == {"doc", "paragraph", "text"}  # no link, mention, macro or inline card
    texts = [n for n in nodes(doc) if n["type"] == "text"]
    assert texts == [{"type": "text", "text": f"Escalated {HOSTILE}"}]  # no marks
    assert adf_text(doc) == f"Escalated {HOSTILE}"


def test_adf_paragraphs_and_hard_breaks_and_no_control_characters() -> None:
    rendered = Rendered(((False, "Line one\nline two\n\n"), (True, "data\x07 here\r\nnext")))
    doc = adf(rendered)
    assert doc["content"] == [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Line one"},
                {"type": "hardBreak"},
                {"type": "text", "text": "line two"},
            ],
        },
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "data here"},
                {"type": "hardBreak"},
                {"type": "text", "text": "next"},
            ],
        },
    ]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_a_hostile_summary_reaches_jira_as_text(tmp_path: Path, flavour: str) -> None:
    with harnesses(tmp_path) as make:
        h: JiraHarness = make(flavour)
        h.seed(1, priority="P1", title=HOSTILE)
        policy = h.policy()
        adapter = h.adapter(policy)
        changes = [
            c
            for t in adapter.fetch(needs(policy), NOW)
            if (c := evaluate_ticket(policy, t, NOW).change)
        ]
        list(adapter.write(changes, lambda t: evaluate_ticket(policy, t, NOW).change))
        (post,) = h.sent("POST", "/comment")
        body = post.body["body"]
        if flavour == "cloud":
            assert [n["text"] for n in nodes(body) if n["type"] == "text"] == [
                f"Escalated {HOSTILE}"
            ]
        else:
            assert body == "Escalated " + (
                "\\[click\\|http\\://evil\\] \\{code\\}x\\{code\\} \\{\\{x\\}\\} \\[\\~admin\\]"
                " \\*bold\\* \\!img.png\\! \\#1"
            )
