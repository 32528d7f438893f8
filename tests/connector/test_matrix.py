"""`escalate matrix`: the escalation matrix generated from the policy (rules/matrix.py) and its
three renderings (connector/matrix_view.py), on the example policy and on small policies."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from connector.matrix_view import html_page, mermaid, table, wrap
from rules.matrix import build, condition_text
from rules.policy import load_policy
from tests.connector.test_cli import run

ROOT = Path(__file__).resolve().parents[2]


EXAMPLE = ROOT / "config.example.yaml"


def example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def test_the_example_policys_matrix() -> None:
    m = build(load_policy(example(), "config.example.yaml"))
    assert [r.name for r in m.levels] == ["L1", "L2", "L3", "management", "executive"]
    l2, l3 = m.levels[1], m.levels[2]
    assert l2.owner == "Support L2 Specialists (jira-cloud: support-l2)"
    assert l2.priority_floor == "P2"
    assert l3.approval == "maria.manager@example.com, group support-managers"
    assert m.cells[("network", "L2")] == ("Network Support", False)
    assert m.cells[("billing", "L3")] == ("Payments Engineering", False)
    assert m.cells[("billing", "L1")] == ("Support L1", True)  # the level's own owner
    paths = [(p.source, p.target, p.rule) for p in m.paths]
    # ordered by level; within a level, policy order. `level: {below: L3}` stops
    # resolution-at-risk at L2; not-acknowledged runs from L2 to management ("below: executive");
    # customer-asks jumps from each level below management straight there.
    assert paths == [
        ("L1", "L2", "p1-unresolved-1h"),
        ("L1", "L2", "resolution-at-risk"),
        ("L1", "L2", "vip-customer"),
        ("L1", "L2", "repeated-complaints"),
        ("L1", "management", "customer-asks"),
        ("L2", "L3", "resolution-at-risk"),
        ("L2", "L3", "not-acknowledged"),
        ("L2", "L3", "repeated-complaints"),
        ("L2", "management", "customer-asks"),
        ("L3", "management", "not-acknowledged"),
        ("L3", "management", "repeated-complaints"),
        ("L3", "management", "customer-asks"),
        ("management", "executive", "not-acknowledged"),
    ]
    first = m.paths[0]
    assert first.when == "age over 1h (calendar); priority = P1" and not first.approval
    assert all(p.approval == l3.approval for p in m.paths if p.target == "L3")
    assert m.requested == ("agent-request",) and m.closing == ("close-and-review",)
    # close-and-review needs L2 or above; an agent at L1 may ask for any level above it
    assert m.closing_levels == ("L2", "L3", "management", "executive")
    assert m.requestable == ("L2", "L3", "management", "executive")
    (director,) = m.notices
    assert director.rule == "inform-director" and director.who == "director.support@example.com"
    assert director.levels == ("L2", "L3", "management", "executive")
    assert director.when == "age over 4h (calendar); priority = P1"


def test_paths_follow_level_conditions_next_and_de_escalation() -> None:
    text = """\
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2, owner: {group: Specialists}}
  - name: L3
    owner: {group: Engineering}
    approval: {approvers: [boss@example.com]}
sla: [{name: all, targets: {resolution: 8h}}]
rules:
  - name: climb
    when: {level: {at_least: L2}, unacknowledged: {over: 30m}}
    repeat: {per: level}
    then: {escalate: next}
  - name: calm-down
    when: {level: L3, priority: {in: [P3, P4]}}
    then: {de_escalate: L2}
  - name: off
    enabled: false
    when: {age: {over: 1h}}
    then: {escalate: L3}
"""
    m = build(load_policy(text, "p.yaml"))
    got = [(p.source, p.target, p.rule, p.down, p.approval) for p in m.paths]
    assert got == [
        ("L2", "L3", "climb", False, "boss@example.com"),
        ("L3", "L2", "calm-down", True, ""),  # from L3 there is no next: only the way down
    ]
    assert m.paths[1].when == "priority in [P3, P4]"
    assert m.functions == () and m.requested == () and m.closing == ()


def test_condition_text() -> None:
    cond = {
        "any": [{"sla": {"target": "resolution", "used": 80.0}}, {"sla": {"breached": True}}],
        "not": {"label": {"in": ["vip"]}},
        "in_status": {"status": ["pending"], "over": 432000.0, "time": "calendar"},
    }
    assert condition_text(cond) == (
        "any of (sla resolution used 80% | sla breached True); not (label = vip);"
        " in_status status = pending over 5d (calendar)"
    )


def test_table_and_mermaid_of_the_example() -> None:
    m = build(load_policy(example(), "config.example.yaml"))
    text = table(m)
    assert "network   Support L1*  Network Support      Network Engineering" in text
    assert "On an agent's request (agent-request): to L2, L3, management, executive" in text
    assert (
        "On solved or closed tickets (close & review): close-and-review,"
        " at L2, L3, management, executive"
    ) in text
    assert "inform-director  L2, L3, management, executive  director.support@example.com" in text
    chart = mermaid(m)
    lines = chart.splitlines()
    assert lines[0] == "flowchart TD" and "  new --> level0" in lines
    # close & review only where the closing rule acts (L2 and up); L1 is solved without it
    assert "  level0q -- yes --> done" in lines
    assert sum(" -- yes --> close" in line for line in lines) == len(m.levels) - 1
    path_edges = [line for line in lines if '-- "no: ' in line]
    assert len(path_edges) == len(m.paths)
    # one approval node for L3 (level2), which every path into L3 goes through
    assert sum(line.startswith("  level2a{{") for line in lines) == 1
    assert "  level2a -- approved --> level2" in lines
    into_l3 = [p for p in m.paths if p.target == "L3"]
    assert sum(e.endswith("--> level2a") for e in path_edges) == len(into_l3) == 3
    assert '"' not in "".join(e.split('"')[1] for e in path_edges)  # quotes are escaped
    # the agent's request enters every level it can ask for (L3 through its approval)
    assert '  req[/"Agent request (agent-request)"/]' in lines
    assert '  req -. "asks for L2" .-> level1' in lines
    assert '  req -. "asks for L3" .-> level2a' in lines
    assert sum(line.startswith("  req -. ") for line in lines) == 4
    # the director is informed from L2 up, drawn as a node of its own
    assert '  note0[/"inform-director: notify<br/>director.support@example.com"/]' in lines
    assert sum(line.endswith(".-> note0") for line in lines) == 4
    assert not any(line.startswith("  level0 -.") for line in lines)
    # long labels are wrapped: no line of a label over 36 characters
    labels = [part for line in lines for part in line.split('"')[1::2]]
    pieces = [p.replace("#quot;", '"') for label in labels for p in label.split("<br/>")]
    assert max(len(p) for p in pieces) <= 36
    assert any("<br/>" in label for label in labels)


class _Tags(HTMLParser):
    VOID = {"meta", "br", "rect", "polyline", "polygon", "line"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: set[str] = set()
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_the_html_page_is_self_contained_and_well_formed() -> None:
    policy = load_policy(example().replace("Front-line support", "Front-line <support> & co"), "x")
    page = html_page(build(policy), "Escalation matrix: <x>")
    tags = _Tags()
    tags.feed(page)
    assert tags.errors == [] and tags.stack == []
    assert {"table", "svg", "rect", "polyline"} <= tags.seen
    assert "script" not in tags.seen and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "Front-line &lt;support&gt; &amp; co" in page and "<support>" not in page
    assert "Escalation matrix: &lt;x&gt;" in page


def test_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", "-c", str(EXAMPLE))
    assert code == 0 and out.startswith("Levels\n")
    chart = tmp_path / "matrix.mmd"
    code, _, err = run(
        capsys, "matrix", "-c", str(EXAMPLE), "--format", "mermaid", "--out", str(chart)
    )
    assert code == 0 and chart.read_text().startswith("flowchart TD\n")
    assert f"matrix written to {chart}" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(example().replace("escalate: L2", "escalate: L9", 1), encoding="utf-8")
    code, out, err = run(capsys, "matrix", "-c", str(bad))
    assert code == 2 and out == "" and "L9" in err


def test_no_close_arrow_where_the_closing_rule_cannot_act_and_no_request_without_a_rule() -> None:
    """A closing rule at L3 only: the flow closes & reviews from L3, not from L1 or L2; without
    a request rule there is no request node; without notify-only rules, no notice node."""
    text = """\
levels:
  - {name: L1, owner: {group: Front}}
  - {name: L2, owner: {group: Specialists}}
  - {name: L3, owner: {group: Engineering}}
rules:
  - name: climb
    when: {age: {over: 1h}}
    then: {escalate: next}
  - name: review
    when: {status: [solved], level: L3}
    then: {add_tags: [review]}
  - name: asked
    when: {requested: true, level: L2}
    then: {escalate: requested}
"""
    m = build(load_policy(text, "p.yaml"))
    assert m.closing_levels == ("L3",) and m.requestable == ("L3",) and m.notices == ()
    lines = mermaid(m).splitlines()
    assert [line for line in lines if "-- yes -->" in line] == [
        "  level0q -- yes --> done",
        "  level1q -- yes --> done",
        "  level2q -- yes --> close",
    ]
    assert [line for line in lines if line.startswith("  req -.")] == [
        '  req -. "asks for L3" .-> level2'
    ]
    svg = html_page(m, "m")
    assert svg.count('class="closing"') == 1 and 'data-from="L3"' in svg
    assert svg.count('class="asked"') == 1 and 'data-to="L3"' in svg


def test_the_wrapping_of_long_labels_and_owners() -> None:
    assert wrap("any of (customer_replies at least 3 | reopens at least 2)", 20) == [
        "any of",
        "(customer_replies at",
        "least 3 | reopens at",
        "least 2)",
    ]
    long_owner = "A very long support group name that goes on and on"
    policy = load_policy(
        example().replace("{group: Support L1}", f"{{group: {long_owner}}}", 1), "x"
    )
    page = html_page(build(policy), "m")
    first = '<text class="owner" x="260" y="126">A very long support group name that goes on</text>'
    assert first in page
    assert '<text class="owner" x="260" y="142">and on</text>' in page  # its second line
