"""Ticket text is data: escaped for the target markup, never markup or template code."""

from __future__ import annotations

import pytest

from rules.markup import ESCAPERS, Rendered, jira_wiki, markdown

HOSTILE = "[click](http://evil.example) <script>x</script> *bold* {code} [~admin] !img.png!"


def test_markdown_neutralises_links_and_html() -> None:
    out = markdown(HOSTILE)
    assert "<script>" not in out
    assert "](http" not in out and "\\[click\\]" in out
    assert "\\*bold\\*" in out


def test_jira_wiki_neutralises_macros_mentions_and_images() -> None:
    out = jira_wiki(HOSTILE)
    assert "\\{code\\}" in out
    assert "\\[\\~admin\\]" in out
    assert "\\!img.png\\!" in out


@pytest.mark.parametrize("name", sorted(ESCAPERS))
def test_only_data_parts_are_escaped(name: str) -> None:
    rendered = Rendered(((False, "**Escalated:** "), (True, "*urgent* <b>")))
    out = rendered.render(ESCAPERS[name])
    assert out.startswith("**Escalated:** ")  # the admin's markup is kept
    assert rendered.plain() == "**Escalated:** *urgent* <b>"
    if name != "plain":
        assert out != rendered.plain()


def test_rendered_concatenation() -> None:
    joined = Rendered.literal("a") + Rendered(((True, "b"),))
    assert joined.parts == ((False, "a"), (True, "b"))
