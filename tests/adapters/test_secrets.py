"""Credentials come from the environment or a file, and are masked wherever they could show."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.http import error_for
from adapters.secrets import SecretRef, mask, register
from rules.errors import ConfigError


def test_secret_from_the_environment_is_masked_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZD_TOKEN", "s3cr3t-token-value")
    secret = SecretRef(env="ZD_TOKEN").resolve("instances.zd.auth.token")
    assert secret.reveal() == "s3cr3t-token-value"
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret)
    assert "ZD_TOKEN" in repr(secret)
    assert mask("Authorization: Bearer s3cr3t-token-value") == "Authorization: Bearer ****"
    err = error_for(401, "GET /api/v2/users/me", "token s3cr3t-token-value refused")
    assert "s3cr3t" not in str(err)


def test_secret_from_a_file_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-secret-123\n")
    assert SecretRef(file=str(path)).resolve("auth.token").reveal() == "file-secret-123"


def test_missing_secret_names_where_it_was_expected_not_a_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"instances\.zd\.auth\.token: environment variable NOPE"):
        SecretRef(env="NOPE_TOKEN").resolve("instances.zd.auth.token")
    with pytest.raises(ConfigError, match="cannot read"):
        SecretRef(file=str(tmp_path / "missing")).resolve("auth.token")
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        SecretRef(file=str(empty)).resolve("auth.token")


def test_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        SecretRef()
    with pytest.raises(ValidationError, match="exactly one"):
        SecretRef(env="A", file="/b")


def test_tokens_obtained_at_run_time_can_be_registered() -> None:
    register("oauth-access-token-xyz")
    assert mask("got oauth-access-token-xyz back") == "got **** back"
    register("ab")  # too short to mask safely: ignored rather than masking every "ab"
    assert mask("abc") == "abc"
