"""Files that are not a readable UTF-8 YAML mapping, through the real CLI entry: exit 2, one
`error:` line naming the file (with line and column where there is one), never a traceback.

The YAML-level cases (tags, aliases, nesting, keys) are in tests/rules/test_yaml_input.py; the
mutation fuzz of the example is tests/connector/test_config_fuzz.py.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.yaml").read_bytes()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    code = info.value.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


def failure(capsys: pytest.CaptureFixture[str], path: Path | str, *args: str) -> str:
    """The one error line `validate` (or another command) prints for `path`."""
    code, out, err = run(capsys, *(args or ("validate",)), "-c", str(path))
    assert (code, out) == (2, ""), err
    assert "Traceback" not in err
    return err


def test_a_nul_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"version: 1\nlevels:\x00 []\n")
    assert failure(capsys, path) == (
        f"error: {path}:2:8: not valid YAML: a NUL byte (U+0000) is not allowed (control"
        " characters other than tab and line breaks cannot appear in YAML; is this a binary"
        " file?)\n"
    )


def test_a_nul_byte_fails_every_command_that_loads_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(EXAMPLE[:300] + b"\x00" + EXAMPLE[300:])
    ticket = tmp_path / "t.json"
    ticket.write_text("{}", encoding="utf-8")
    messages = {
        " ".join(args): failure(capsys, path, *args)
        for args in (
            ("validate",),
            ("explain", "--ticket", str(ticket)),
            ("matrix",),
            ("plan",),
            ("run", "--dry-run"),
            ("doctor",),
            ("setup",),
            ("report",),
        )
    }
    assert len(set(messages.values())) == 1, messages
    assert messages["validate"].startswith(f"error: {path}:")


@pytest.mark.parametrize(
    ("bad", "shown"),
    [(b"\xff", "0xFF"), (b"\xc0\xaf", "0xC0"), (b"\xed\xa0\x80", "0xED"), (b"\xe2\x82", "0xE2")],
)
def test_invalid_utf8_is_located(
    bad: bytes, shown: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes("version: 1\n# café ".encode() + bad + b" done\nlevels: []\n")
    assert failure(capsys, path) == (
        f"error: {path}:2:8: not valid UTF-8 (byte {shown}); save the file as UTF-8\n"
    )


def test_a_utf8_byte_order_mark_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(codecs.BOM_UTF8 + EXAMPLE)
    code, out, err = run(capsys, "validate", "-c", str(path))
    assert code == 0, err
    assert out.startswith(f"{path}: valid (policy ")


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("utf-16-le", "UTF-16"),
        ("utf-16-be", "UTF-16"),
        ("utf-32-le", "UTF-32"),
        ("utf-32-be", "UTF-32"),
    ],
)
def test_other_encodings_are_named(
    encoding: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boms = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    path = tmp_path / "c.yaml"
    path.write_bytes(boms[encoding] + EXAMPLE.decode().encode(encoding))
    assert failure(capsys, path) == f"error: {path}: the file is {name}-encoded; save it as UTF-8\n"


@pytest.mark.parametrize(
    "text", ["", "# nothing but a comment\n", "- a list\n", "just text\n", "42\n"]
)
def test_a_document_that_is_not_a_mapping(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    assert failure(capsys, path) == (
        f"error: {path}: expected a mapping of top-level keys (levels, rules, ...)\n"
    )


def test_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert failure(capsys, tmp_path) == f"error: {tmp_path}: is a directory, expected a YAML file\n"


def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nowhere.yaml"
    assert failure(capsys, path) == f"error: {path}: no such file\n"


def test_an_unreadable_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path through a regular file (as if it were a folder) cannot be read, even by root."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    path = tmp_path / "file" / "c.yaml"
    assert failure(capsys, path) == f"error: {path}: cannot be read: Not a directory\n"


def test_an_empty_file_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert failure(capsys, "") == "error: no file given: the file name is empty\n"


def test_a_yaml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("levels: [{name: L1}\nrules: []\n", encoding="utf-8")
    assert failure(capsys, path) == (
        f"error: {path}:2:1: not valid YAML: expected ',' or ']', but got '<scalar>'"
        " (while parsing a flow sequence at line 1, column 9)\n"
    )


def test_a_wrong_type_in_an_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    text = EXAMPLE.decode().replace(
        "    budget: {requests_per_minute: 300}", "    budget: [requests_per_minute, 300]"
    )
    path.write_text(text, encoding="utf-8")
    line = text[: text.index("budget: [")].count("\n") + 1
    assert failure(capsys, path) == (
        f"error: {path} is not valid (1 problem):\n"
        f"  {path}:{line}: instances.zendesk-prod.budget: input should be a valid dictionary or"
        " instance of BudgetSettings\n"
    )
