"""`validate` warns when a closure rule never sees a solved ticket because of the instances'
scopes (connector/scopes.py), decided offline and conservatively by each platform's settings
(`done_left_out`): only a query that clearly leaves every solved and closed ticket out counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.jira.settings import Settings as JiraSettings
from adapters.zendesk.settings import Settings as ZendeskSettings
from connector.cli import main

POLICY = """\
levels: [{name: L1, owner: {group: Front}}, {name: L2, owner: {group: Back}}]
sla: [{name: all, targets: {resolution: 8h}}]
rules:
  - name: up
    when: {age: {over: 1h}, level: L1}
    then: {escalate: L2}
  - name: close-and-review
    when: {status: [solved], level: L2}
    then: {add_tags: [review]}
instances:
"""
RULE_LINE = 7  # `- name: close-and-review`
ZENDESK = "    platform: zendesk\n    url: https://acme.zendesk.com\n" + (
    "    auth: {type: oauth_token, token: {env: ZD_TOKEN}}\n"
)
JIRA = "    platform: jira\n    url: https://acme.atlassian.net\n" + (
    "    auth: {personal_access_token: {env: JIRA_PAT}}\n"
)
HINT = (
    "; add solved tickets to the scope, at least those solved since the last run"
    " (docs/policy.md#solved-and-closed-tickets)"
)


def validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str
) -> tuple[int, list[str], str]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["validate", "-c", str(path), *args])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out.splitlines()[1:], err


def test_warns_per_instance_naming_the_rule_and_the_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        POLICY
        + (
            "  zd:\n" + ZENDESK + '    scope: "type:ticket status<solved"\n'  # scope on line 15
            "  jira:\n" + JIRA  # no scope: the default one
        )
    )
    code, warnings, err = validate(tmp_path, capsys, text)
    path = tmp_path / "c.yaml"
    assert (code, err) == (0, "")
    assert warnings == [
        f"warning: {path}:{RULE_LINE}: rules[1] (close-and-review): rule 'close-and-review'"
        " acts on solved or closed tickets but never sees one on instance 'zd': its scope"
        " 'type:ticket status<solved' (line 15) leaves them out (status<solved)" + HINT,
        f"warning: {path}:{RULE_LINE}: rules[1] (close-and-review): rule 'close-and-review'"
        " acts on solved or closed tickets but never sees one on instance 'jira': the default"
        " scope 'statusCategory != Done' leaves them out (statusCategory != Done)" + HINT,
    ]


def test_strict_fails_on_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, warnings, err = validate(tmp_path, capsys, POLICY + "  zd:\n" + ZENDESK, "--strict")
    assert code == 2
    assert len(warnings) == 1
    assert err == "error: 1 lint warning(s) and --strict was given\n"


@pytest.mark.parametrize(
    "instances",
    [
        "  zd:\n" + ZENDESK + '    scope: "type:ticket"\n',
        "  zd:\n" + ZENDESK + '    scope: "type:ticket status<closed"\n',
        "  jira:\n" + JIRA + '    scope: "project = SUP"\n',
        "  jira:\n"
        + JIRA
        + '    scope: "project = SUP AND (statusCategory != Done OR updated >= -1d)"\n',
        "",  # no instances: nothing to say
    ],
)
def test_no_warning_when_solved_tickets_may_be_read(
    instances: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = POLICY + instances if instances else POLICY.removesuffix("instances:\n")
    code, warnings, err = validate(tmp_path, capsys, text)
    assert (code, warnings, err) == (0, [], "")


def test_no_warning_without_a_closure_rule_or_for_a_disabled_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disabled = POLICY.replace(
        "  - name: close-and-review\n", "  - name: close-and-review\n    enabled: false\n"
    )
    code, warnings, _ = validate(tmp_path, capsys, disabled + "  zd:\n" + ZENDESK)
    assert (code, warnings) == (0, [])


def test_a_platform_status_mapped_to_solved_makes_a_closure_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = POLICY.replace("status: [solved]", "status: [Resolved]").replace(
        "instances:\n", "platforms: {jira: {statuses: {Resolved: solved}}}\ninstances:\n"
    )
    code, warnings, _ = validate(tmp_path, capsys, text + "  jira:\n" + JIRA)
    assert code == 0
    assert [w.split(": ", 3)[-1][:60] for w in warnings] == [
        "rule 'close-and-review' acts on solved or closed tickets but"
    ]


ZD_BASE = {
    "platform": "zendesk",
    "url": "https://acme.zendesk.com",
    "auth": {"type": "oauth_token", "token": {"env": "T"}},
}


@pytest.mark.parametrize(
    ("scope", "term"),
    [
        ("type:ticket status<solved", "status<solved"),
        ("status<solved type:ticket", "status<solved"),
        ("STATUS<Solved", "STATUS<Solved"),
        ("status<=hold", "status<=hold"),
        ("status<=pending group:Support", "status<=pending"),
        ("status:open", "status:open"),
        ("status:new status:open", "status:new status:open"),
        ("-status:solved -status:closed", "-status:solved -status:closed"),
        ("type:ticket", None),
        ("status<closed", None),  # solved tickets are read
        ("-status:solved", None),  # closed ones are (they cannot be updated, but still)
        ("status>=solved", None),
        ("status:solved", None),
        ("status:open status:pending status:solved", None),  # asks for them by name
        ("status<solved OR tags:vip", None),  # not a plain list of terms: unsure
        ('"status<solved"', None),  # a phrase searched as text
        ('subject:"a status<solved b"', None),
        ("status<unknown", None),
    ],
)
def test_zendesk_scopes(scope: str, term: str | None) -> None:
    found = ZendeskSettings.model_validate({**ZD_BASE, "scope": scope}).done_left_out()
    assert found == ((scope, term) if term else None)


def test_zendesk_default_scope() -> None:
    found = ZendeskSettings.model_validate(ZD_BASE).done_left_out()
    assert found == ("type:ticket status<solved", "status<solved")


JIRA_BASE = {
    "platform": "jira",
    "url": "https://acme.atlassian.net",
    "auth": {"personal_access_token": {"env": "T"}},
}


@pytest.mark.parametrize(
    ("scope", "term"),
    [
        (None, "statusCategory != Done"),  # the default scope
        ("project in (SUP, NET) AND statusCategory != Done", "statusCategory != Done"),
        ("statuscategory!=done", "statuscategory!=done"),
        ('statusCategory != "Done"', 'statusCategory != "Done"'),
        ("statusCategory != 3", "statusCategory != 3"),
        ("statusCategory not in (Done)", "statusCategory not in (Done)"),
        (
            'statusCategory in ("To Do", "In Progress")',
            'statusCategory in ("To Do", "In Progress")',
        ),
        ('statusCategory = "In Progress"', 'statusCategory = "In Progress"'),
        # a workflow may reach Done without a resolution: these do not decide
        ("resolution = Unresolved AND project = SUP", None),
        ("resolution is EMPTY", None),
        ("resolved is EMPTY", None),
        ("statusCategory != Done AND project = X || resolved >= -1d", None),
        ("(project = SUP AND statusCategory != Done) ORDER BY created", "statusCategory != Done"),
        ("(project = A) AND (statusCategory != Done)", "statusCategory != Done"),
        ("project = A AND (labels = x AND statusCategory != Done)", "statusCategory != Done"),
        ('summary ~ "x and y" AND statusCategory != Done', "statusCategory != Done"),
        ("statusCategory != Done AND NOT project = X", "statusCategory != Done"),
        ("project = SUP", None),
        ("project = SUP OR statusCategory != Done", None),  # either side may hold: unsure
        ("project = X AND (statusCategory != Done OR labels = x)", None),
        ("NOT statusCategory = Done", None),  # clear, but not recognised: no warning
        ('statusCategory in ("To Do", Done)', None),
        ("statusCategory = Done", None),
        ("resolution is not EMPTY", None),
        ('project = "statusCategory != Done"', None),
    ],
)
def test_jira_scopes(scope: str | None, term: str | None) -> None:
    settings = JiraSettings.model_validate({**JIRA_BASE, "scope": scope})
    assert settings.done_left_out() == ((settings.jql, term) if term else None)
