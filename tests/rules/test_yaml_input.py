"""Hostile or broken YAML: every case is one ConfigError naming the file and the line (and the
column where the YAML parser knows it), never another exception, a hang or a memory blow-up.

Each test asserts the WHOLE message; line numbers were counted by hand in each snippet.
"""

from __future__ import annotations

import pytest

from rules.errors import ConfigError
from rules.loader import MAX_REPEATS, load_yaml
from rules.policy import load_policy
from rules.yamlsafe import MAX_DEPTH

SOURCE = "policy.yaml"
LEVELS = "levels: [{name: L1, owner: {group: Front}}, {name: L2, owner: {group: Back}}]\n"


def message(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_policy(text, SOURCE)
    return str(info.value)


def problems(*items: str) -> str:
    count = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    return f"{SOURCE} is not valid ({count}):\n" + "\n".join(f"  {item}" for item in items)


# --- characters ------------------------------------------------------------------------------


def test_a_nul_byte_is_located() -> None:
    text = LEVELS + "rules: []\x00\n"  # line 2, column 10
    assert message(text) == (
        "policy.yaml:2:10: not valid YAML: a NUL byte (U+0000) is not allowed (control"
        " characters other than tab and line breaks cannot appear in YAML; is this a binary"
        " file?)"
    )


@pytest.mark.parametrize("char", ["\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\ufffe"])
def test_control_characters_are_located(char: str) -> None:
    text = LEVELS + f"# a comment {char}\n"  # line 2, column 13
    assert message(text) == (
        f"policy.yaml:2:13: not valid YAML: the character U+{ord(char):04X} is not allowed"
        " (control characters other than tab and line breaks cannot appear in YAML; is this a"
        " binary file?)"
    )


def test_tab_and_crlf_line_ends_are_fine() -> None:
    policy = load_policy(LEVELS + "rules: []  # a\ttab\r\ntemplates: {t: 'a\tb'}\r\n", SOURCE)
    assert [level.name for level in policy.levels] == ["L1", "L2"]
    assert policy.model.templates == {"t": "a\tb"}


def test_a_byte_order_mark_at_the_start_is_fine() -> None:
    assert load_policy("\ufeff" + LEVELS, SOURCE).levels[0].name == "L1"


# --- syntax, documents, tags ------------------------------------------------------------------


def test_an_empty_text_is_no_document() -> None:
    assert load_yaml("", SOURCE).data is None
    assert load_yaml("# only a comment\n", SOURCE).data is None


def test_two_documents_are_refused() -> None:
    assert message(LEVELS + "---\n" + LEVELS) == (
        "policy.yaml:2:1: not valid YAML: but found another document (expected a single"
        " document in the stream at line 1, column 1)"
    )


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ('!!python/object/apply:os.system ["echo owned"]', "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!custom x", "!custom"),
    ],
)
def test_tags_that_build_objects_are_refused(value: str, tag: str) -> None:
    """safe_load already refuses python tags; the other non-core tags are refused too, so no
    bytes, sets or pairs reach the schema."""
    text = LEVELS + f"version: {value}\n"
    assert message(text) == problems(
        f"policy.yaml:2: version: unsupported tag {tag} (write plain values, without tags)"
    )


def test_plain_equals_sign_is_text() -> None:
    """YAML 1.1 reads a plain `=` as the "value" tag, which the safe loader cannot build."""
    assert load_yaml("a: =\n", SOURCE).data == {"a": "="}


def test_explicit_core_tags_are_fine() -> None:
    assert load_yaml("a: !!str 1\nb: !!int '2'\n", SOURCE).data == {"a": "1", "b": 2}


# --- keys --------------------------------------------------------------------------------------


def test_keys_that_are_not_text_are_refused() -> None:
    text = LEVELS + (
        "platforms:\n"  # 2
        "  jira:\n"  # 3
        "    statuses:\n"  # 4
        "      on: hold\n"  # 5: YAML 1.1 reads `on` as true
        "      1: open\n"  # 6
        "      null: open\n"  # 7
        "      2.5: open\n"  # 8
        "      [a]: open\n"  # 9
    )
    assert message(text) == problems(
        "policy.yaml:5: platforms.jira.statuses: the key 'on' is a boolean to YAML, not text:"
        ' quote it ("on")',
        "policy.yaml:6: platforms.jira.statuses: the key '1' is a number to YAML, not text:"
        ' quote it ("1")',
        "policy.yaml:7: platforms.jira.statuses: the key 'null' is null to YAML, not text:"
        ' quote it ("null")',
        "policy.yaml:8: platforms.jira.statuses: the key '2.5' is a number to YAML, not text:"
        ' quote it ("2.5")',
        "policy.yaml:9: platforms.jira.statuses: a key must be text, not a list or a mapping",
    )


def test_quoted_keys_and_date_keys_are_fine() -> None:
    text = LEVELS + (
        "calendars:\n"
        "  office:\n"
        "    timezone: Europe/Berlin\n"
        "    hours: {mon-fri: '09:00-17:00'}\n"
        "    holidays: {names: {2026-12-24: Christmas Eve}}\n"
        "platforms: {jira: {statuses: {'on': hold, '1': open}}}\n"
    )
    policy = load_policy(text, SOURCE)
    assert policy.platforms["jira"].statuses == {"on": "hold", "1": "open"}


def test_an_empty_key_is_refused() -> None:
    assert message(LEVELS + "?\n: x\n") == problems(  # `?` with nothing after it: a null key
        'policy.yaml:2: the empty key is null to YAML, not text: quote it ("")'
    )


def test_a_duplicate_key_in_an_anchored_mapping_is_reported_once() -> None:
    text = LEVELS + (
        "x-owner: &owner {group: Front, group: Back}\n"  # 2: the duplicate
        "matrix: {f: {L1: *owner, L2: *owner}}\n"  # 3: two aliases of it
    )
    assert message(text) == problems(
        "policy.yaml:2: x-owner.group: duplicate key (YAML would silently keep only the last one)"
    )


def test_merge_keys_override_without_being_duplicates() -> None:
    text = (
        "levels:\n"
        "  - &base {name: L1, owner: {group: Front}}\n"
        "  - {<<: *base, name: L2}\n"  # the merged `name` is overridden: not a duplicate
    )
    assert [level.name for level in load_policy(text, SOURCE).levels] == ["L1", "L2"]


# --- sizes: nesting, aliases, integers ----------------------------------------------------------


def test_deep_nesting_is_refused_with_its_line() -> None:
    text = LEVELS + "x: " + "[" * 5000 + "]" * 5000 + "\n"
    assert message(text) == (
        f"policy.yaml:2:{3 + MAX_DEPTH}: not valid YAML: nested deeper than {MAX_DEPTH} levels"
    )


def test_deeply_nested_mappings_are_refused() -> None:
    text = LEVELS + "x:\n" + "".join("  " * i + "a:\n" for i in range(1, 200))
    assert f"not valid YAML: nested deeper than {MAX_DEPTH} levels" in message(text)


def test_nesting_within_the_bound_is_fine() -> None:
    depth = MAX_DEPTH - 2  # the top-level mapping and `x` count as levels too
    assert load_yaml("x: " + "[" * depth + "]" * depth + "\n", SOURCE).data is not None


def test_billion_laughs_is_refused_without_expanding() -> None:
    """Nine levels of nine aliases each would be 387 million values."""
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    assert message(text) == problems(
        f"policy.yaml:1: the document has more than {MAX_REPEATS:,} repeated values once its"
        " aliases (*name) are expanded; write the values out or use fewer aliases"
    )


def test_a_recursive_alias_is_refused() -> None:
    assert message("a: &a [*a]\n" + LEVELS) == problems(
        f"policy.yaml:1: the document has values nested deeper than {MAX_DEPTH} levels once its"
        " aliases (*name) are expanded; write the values out or use fewer aliases"
    )


def test_a_few_aliases_are_fine() -> None:
    text = "levels:\n  - {name: L1, owner: &front {group: Front}}\n  - {name: L2, owner: *front}\n"
    policy = load_policy(text, SOURCE)
    assert policy.levels[1].model.owner == policy.levels[0].model.owner


@pytest.mark.parametrize("digits", ["9" * 20, "9" * 5000, "0x" + "f" * 17, "-" + "9" * 19])
def test_huge_integers_are_refused(digits: str) -> None:
    shown = (
        digits
        if len(digits) <= 24
        else f"{digits[:10]}...{digits[-10:]} ({len(digits)} characters)"
    )
    text = LEVELS + f"run: {{max_changes: {digits}}}\n"
    assert message(text) == (
        f"policy.yaml:2:20: not valid YAML: the integer {shown} is too large (at most"
        " 9223372036854775807); quote it if it is meant as text"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-02-30", "'2026-02-30' is not a valid date or time (day is out of range for month)"),
        ("2026-13-01", "'2026-13-01' is not a valid date or time (month must be in 1..12)"),
        ("2026-01-01 25:00:00", "'2026-01-01 25:00:00' is not a valid date or time (hour must be"
         " in 0..23)"),
        ("0x_", "'0x_' is not a valid integer (invalid literal for int() with base 16: '')"),
        ("0b_", "'0b_' is not a valid integer (invalid literal for int() with base 2: '')"),
    ],
)  # fmt: skip
def test_scalars_yaml_matches_but_python_cannot_build(value: str, problem: str) -> None:
    text = (
        LEVELS
        + f"calendars: {{c: {{timezone: UTC, hours: {{}}, holidays: {{dates: [{value}]}}}}}}\n"
    )
    assert message(text) == f"policy.yaml:2:62: not valid YAML: {problem}"


@pytest.mark.parametrize(("value", "got"), [(".inf", "inf"), (".nan", "nan"), ("1.0e+400", "inf")])
def test_infinite_durations_are_refused(value: str, got: str) -> None:
    text = LEVELS + f"sla: [{{name: all, targets: {{resolution: {value}}}}}]\n"
    assert message(text) == problems(
        f"policy.yaml:2: sla[0] (all).targets.resolution.within: input should be a finite"
        f" number, got {got}"
    )


# --- values: null where a trigger or action is required -------------------------------------------


def test_null_triggers_and_actions_are_refused() -> None:
    text = LEVELS + (
        "rules:\n"  # 2
        "  - name: r\n"  # 3
        "    when: {status: , any: [{level: null}]}\n"  # 4
        "    then: {escalate: next, note: null}\n"  # 5
    )
    assert message(text) == problems(
        "policy.yaml:4: rules[0] (r).when.any[0].level: expected a value for a trigger, got null"
        " (give one or leave the key out)",
        "policy.yaml:4: rules[0] (r).when.status: expected a value for a trigger, got null"
        " (give one or leave the key out)",
        "policy.yaml:5: rules[0] (r).then.note: expected a value for an action, got null"
        " (give one or leave the key out)",
    )


# --- names that must be unique ----------------------------------------------------------------


def test_duplicate_sla_policy_names() -> None:
    text = LEVELS + (
        "sla:\n"  # 2
        "  - name: standard\n"  # 3
        "    targets: {resolution: 8h}\n"
        "  - name: standard\n"  # 5
        "    match: {priority: P1}\n"
        "    targets: {resolution: 4h}\n"
    )
    assert message(text) == problems(
        "policy.yaml:5: sla[1] (standard).name: duplicate SLA policy name 'standard'"
    )


def test_duplicate_priorities() -> None:
    assert message("priorities: [P1, P2, P1]\n" + LEVELS) == problems(
        "policy.yaml:1: priorities[2]: duplicate priority name 'P1'"
    )


def test_every_named_list_is_checked_at_once() -> None:
    text = (
        "priorities: [P1, P1]\n"  # 1
        "levels: [{name: L1, owner: {group: a}}, {name: L1}]\n"  # 2
        "sla: [{name: s, targets: {resolution: 1h}}, {name: s, targets: {resolution: 2h}}]\n"
        "rules:\n"  # 4
        "  - {name: r, when: {level: L1}, then: {add_tags: [x]}}\n"  # 5
        "  - {name: r, when: {level: L1}, then: {add_tags: [y]}}\n"  # 6
    )
    assert message(text) == problems(
        "policy.yaml:2: levels[1] (L1).name: duplicate level name 'L1'",
        "policy.yaml:6: rules[1] (r).name: duplicate rule name 'r'",
        "policy.yaml:3: sla[1] (s).name: duplicate SLA policy name 's'",
        "policy.yaml:1: priorities[1]: duplicate priority name 'P1'",
    )
