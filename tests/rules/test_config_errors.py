"""Config errors: each test asserts the WHOLE message an admin sees.

A message names the file and line, the key path (list items with their `name`) and what was
expected. Line numbers in the expected messages were counted by hand in each YAML snippet:
BASE is lines 1-5, so the first line after it is line 6.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from rules.errors import ConfigError
from rules.policy import load_policy

SOURCE = "policy.yaml"
HEADER = "policy.yaml is not valid"

BASE = """\
levels:
  - name: L1
    owner: {group: Front}
  - name: L2
    owner: {group: Back}
"""


def message(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_policy(text, SOURCE)
    return str(info.value)


def problems(*items: str) -> str:
    count = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    return f"{HEADER} ({count}):\n" + "\n".join(f"  {item}" for item in items)


def test_unknown_key_suggests_the_closest_one() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when: {level: L1}\n"  # 8
        "    then: {escalate: L2}\n"  # 9
        "    repeet: {max: 2}\n"  # 10
    )
    assert message(text) == problems(
        "policy.yaml:10: rules[0] (r).repeet: unknown key 'repeet' (did you mean 'repeat'?); "
        "expected one of: name, description, enabled, when, unless, repeat, then"
    )


def test_unknown_key_in_a_level() -> None:
    text = "levels:\n  - name: L1\n    ownr: {group: Front}\n"
    assert message(text) == problems(
        "policy.yaml:3: levels[0] (L1).ownr: unknown key 'ownr' (did you mean 'owner'?); "
        "expected one of: name, description, owner, approval, notify, priority_at_least"
    )


def test_wrong_type() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    enabled: maybe\n"  # 8
        "    when: {level: L1}\n"
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:8: rules[0] (r).enabled: input should be a valid boolean, "
        "unable to interpret input, got 'maybe'"
    )


def test_a_list_where_a_mapping_list_is_expected() -> None:
    assert message("levels: L1\n") == problems(
        "policy.yaml:1: levels: input should be a valid list, got 'L1'"
    )


def test_bad_duration() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when:\n"  # 8
        "      age: {over: eighty minutes}\n"  # 9
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:9: rules[0] (r).when.age.over: "
        "expected a duration such as 30m, 4h or 1h30m, got 'eighty minutes'"
    )


def test_bad_percentage() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when:\n"  # 8
        "      sla: {target: resolution, used: 80 pct}\n"  # 9
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:9: rules[0] (r).when.sla.used: expected a percentage above 0% and "
        "at most 1000%, such as 80%, got '80 pct'"
    )


def test_unknown_level_in_escalate() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when: {level: L1}\n"  # 8
        "    then: {escalate: L4}\n"  # 9
    )
    assert message(text) == problems(
        "policy.yaml:9: rules[0] (r).then.escalate: "
        "unknown level 'L4' (expected one of: L1, L2, next, requested)"
    )


def test_unknown_level_in_a_trigger() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when: {level: {below: L5}}\n"  # 8
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:8: rules[0] (r).when.level.below: unknown level 'L5' (expected one of: L1, L2)"
    )


def test_unknown_template() -> None:
    text = BASE + (
        "templates:\n"  # 6
        '  handoff: "Escalated {{ ticket.title }}"\n'  # 7
        "rules:\n"  # 8
        "  - name: r\n"  # 9
        "    when: {level: L1}\n"  # 10
        "    then: {escalate: L2, note: hand-off}\n"  # 11
    )
    assert message(text) == problems(
        "policy.yaml:11: rules[0] (r).then.note: unknown template 'hand-off' "
        "(did you mean 'handoff'?) (expected one of: handoff)"
    )


def test_template_with_an_undefined_variable() -> None:
    text = BASE + (
        "templates:\n"  # 6
        "  handoff: |\n"  # 7
        "    Escalated:\n"  # 8, template line 1
        "    {{ ticket.titel }}\n"  # 9, template line 2
    )
    assert message(text) == problems(
        "policy.yaml:7: templates.handoff: fails on the sample ticket: "
        "'dict object' has no attribute 'titel' (variables: docs/policy.md#templates)"
    )


def test_template_syntax_error() -> None:
    text = BASE + (
        "templates:\n"  # 6
        "  handoff: |\n"  # 7
        "    Escalated {{ ticket.title }\n"  # 8, template line 1
    )
    assert message(text) == problems("policy.yaml:7: templates.handoff: line 1: unexpected '}'")


def test_duplicate_top_level_key() -> None:
    text = BASE + "rules: []\ntemplates: {}\nrules: []\n"  # rules at 6 and 8
    assert message(text) == problems(
        "policy.yaml:8: rules: duplicate key (YAML would silently keep only the last one)"
    )


def test_duplicate_nested_key() -> None:
    text = "levels:\n  - name: L1\n    owner: {group: Front}\n    owner: {group: Back}\n"
    assert message(text) == problems(
        "policy.yaml:4: levels[0] (L1).owner: duplicate key "
        "(YAML would silently keep only the last one)"
    )


def test_duplicate_rule_name() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when: {level: L1}\n"
        "    then: {escalate: L2}\n"
        "  - name: r\n"  # 10
        "    when: {level: L2}\n"
        "    then: {add_tags: [x]}\n"
    )
    assert message(text) == problems("policy.yaml:10: rules[1] (r).name: duplicate rule name 'r'")


def test_yaml_syntax_error_has_line_and_column() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when: {level: L1\n"  # 8: the flow mapping is never closed
        "    then: {escalate: L2}\n"  # 9: the parser notices at the ':' in column 9
    )
    assert (
        message(text) == "policy.yaml:9:9: not valid YAML: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping at line 8, column 11)"
    )


def test_tab_indentation_is_a_yaml_error() -> None:
    text = "levels:\n\t- name: L1\n"
    assert message(text) == (
        "policy.yaml:2:1: not valid YAML: found character '\\t' that cannot start any token"
    )


def test_unknown_calendar() -> None:
    text = BASE + (
        "defaults: {calendar: office}\n"  # 6
        "calendars:\n"  # 7
        '  offices: {timezone: Europe/Berlin, hours: {mon-fri: "09:00-17:00"}}\n'
    )
    assert message(text) == problems(
        "policy.yaml:6: defaults.calendar: unknown calendar 'office' "
        "(did you mean 'offices'?) (expected one of: 24x7, offices)"
    )


def test_unknown_calendar_in_a_trigger() -> None:
    text = BASE + (
        "rules:\n"  # 6
        "  - name: r\n"  # 7
        "    when:\n"  # 8
        "      idle: {over: 4h, calendar: berlin}\n"  # 9
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:9: rules[0] (r).when.idle.calendar: unknown calendar 'berlin' "
        "(expected one of: 24x7)"
    )


def test_bad_timezone() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        '  office: {timezone: Europe/Berln, hours: {mon-fri: "09:00-17:00"}}\n'  # 7
    )
    assert message(text) == problems(
        "policy.yaml:7: calendars.office.timezone: unknown time zone 'Europe/Berln' "
        "(expected an IANA name such as Europe/Berlin)"
    )


def test_bad_shift() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        "  office:\n"  # 7
        "    timezone: Europe/Berlin\n"  # 8
        "    hours:\n"  # 9
        '      mon-fri: ["9-17"]\n'  # 10
    )
    assert message(text) == problems(
        "policy.yaml:10: calendars.office.hours.mon-fri: "
        "expected a shift such as 09:00-17:00, got '9-17'"
    )


def test_shift_without_a_dash() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        "  office:\n"  # 7
        "    timezone: Europe/Berlin\n"  # 8
        '    hours: {mon-fri: "09:00 to 17:00"}\n'  # 9
    )
    assert message(text) == problems(
        "policy.yaml:9: calendars.office.hours.mon-fri: "
        "expected a shift such as 09:00-17:00, got '09:00 to 17:00'"
    )


def test_unknown_holiday_country() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        '  office: {timezone: UTC, hours: {mon: "09:00-17:00"}, holidays: {country: XX}}\n'
    )
    assert message(text) == problems(
        "policy.yaml:7: calendars.office.holidays: unknown holiday country/subdivision 'XX': "
        "Country XX not available"
    )


def test_several_schema_problems_at_once() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        "  office: {timezone: Europe/Berlin, hours: {mon-fri: '09:00-17:00'}, holidyas: {}}\n"  # 7
        "rules:\n"  # 8
        "  - name: r\n"  # 9
        "    enabled: maybe\n"  # 10
        "    when:\n"  # 11
        "      idle: {over: eighty minutes}\n"  # 12
        "    then: {escalate: L2}\n"
    )
    assert message(text) == problems(
        "policy.yaml:7: calendars.office.holidyas: unknown key 'holidyas' "
        "(did you mean 'holidays'?); expected one of: timezone, hours, holidays",
        "policy.yaml:10: rules[0] (r).enabled: input should be a valid boolean, "
        "unable to interpret input, got 'maybe'",
        "policy.yaml:12: rules[0] (r).when.idle.over: "
        "expected a duration such as 30m, 4h or 1h30m, got 'eighty minutes'",
    )


def test_several_reference_problems_at_once() -> None:
    text = BASE + (
        "calendars:\n"  # 6
        '  office: {timezone: Mars/Olympus, hours: {mon-fri: "09:00-17:00"}}\n'  # 7
        "sla:\n"  # 8
        "  - name: std\n"  # 9
        "    calendar: ofice\n"  # 10
        "    targets: {resolution: 40h}\n"  # 11
        "rules:\n"  # 12
        "  - name: r\n"  # 13
        "    when: {level: L1, age: {over: 1h}}\n"  # 14
        "    then: {escalate: L9, note: nope}\n"  # 15
    )
    assert message(text) == problems(
        "policy.yaml:7: calendars.office.timezone: unknown time zone 'Mars/Olympus' "
        "(expected an IANA name such as Europe/Berlin)",
        "policy.yaml:10: sla[0] (std).calendar: unknown calendar 'ofice' (expected one of: 24x7)",
        "policy.yaml:15: rules[0] (r).then.escalate: "
        "unknown level 'L9' (expected one of: L1, L2, next, requested)",
        "policy.yaml:15: rules[0] (r).then.note: unknown template 'nope' "
        "(no templates are defined)",
    )


def test_missing_levels() -> None:
    assert message("rules: []\n") == problems(
        "policy.yaml:1: levels: this key is required but missing"
    )


def test_document_that_is_not_a_mapping() -> None:
    assert message("- a\n- b\n") == problems(
        "policy.yaml:1: expected a mapping of keys to values, got list"
    )


# --- the CLI: exit 2, the message on stderr, no traceback --------------------------------------


def test_validate_reports_a_bad_file_with_exit_2_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        BASE
        + "rules:\n"  # 6
        + "  - name: r\n"  # 7
        + "    when: {level: L1, age: {over: eighty minutes}}\n"  # 8
        + "    then: {escalate: L4}\n",  # 9
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["validate", "-c", "bad.yaml"])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: bad.yaml is not valid (1 problem):\n"
        "  bad.yaml:8: rules[0] (r).when.age.over: "
        "expected a duration such as 30m, 4h or 1h30m, got 'eighty minutes'\n"
    )
    assert "Traceback" not in err


def test_validate_reports_a_missing_file_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["validate", "-c", "nowhere.yaml"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: nowhere.yaml: no such file\n"
