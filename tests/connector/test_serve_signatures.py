"""The signature checks on their own: the documented formats, computed here independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from connector.serve.signatures import jira_fresh, jira_valid, zendesk_fresh, zendesk_valid

BODY = b'{"ticket_id": "42"}'
STAMP = "2026-03-02T10:00:00Z"
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


def zendesk_sig(secret: str, stamp: str, body: bytes) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), (stamp + body.decode()).encode(), "sha256").digest()
    ).decode()


def test_zendesk_signature_is_base64_hmac_of_timestamp_then_body() -> None:
    good = zendesk_sig("s3cret", STAMP, BODY)
    assert zendesk_valid("s3cret", STAMP, BODY, good)
    assert not zendesk_valid("other", STAMP, BODY, good)
    assert not zendesk_valid("s3cret", "2026-03-02T10:00:01Z", BODY, good)  # the time is signed
    assert not zendesk_valid("s3cret", STAMP, BODY + b" ", good)
    assert not zendesk_valid("s3cret", None, BODY, good)
    assert not zendesk_valid("s3cret", STAMP, BODY, None)
    hexed = hmac.new(b"s3cret", (STAMP + BODY.decode()).encode(), hashlib.sha256).hexdigest()
    assert not zendesk_valid("s3cret", STAMP, BODY, hexed)  # base64, not hex


@pytest.mark.parametrize(
    ("stamp", "fresh"),
    [
        (STAMP, True),
        ("2026-03-02T09:55:00Z", True),
        ("2026-03-02T09:54:59Z", False),
        ("2026-03-02T10:05:01Z", False),
        ("2026-03-02T10:00:00", False),  # no zone: refused rather than guessed
        ("yesterday", False),
    ],
)
def test_zendesk_timestamps_older_or_further_ahead_than_max_age_are_stale(
    stamp: str, fresh: bool
) -> None:
    assert zendesk_fresh(stamp, AT, 300) is fresh


def test_jira_signature_is_sha256_hex_of_the_body() -> None:
    mac = hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    assert jira_valid("k", BODY, f"sha256={mac}")
    assert not jira_valid("k", BODY, f"sha1={mac}")
    assert not jira_valid("k", BODY, mac)
    assert not jira_valid("other", BODY, f"sha256={mac}")
    assert not jira_valid("k", BODY, None)


def test_jira_body_timestamp_is_checked_when_present() -> None:
    assert jira_fresh({"timestamp": int(AT * 1000)}, AT + 299, 300)
    assert not jira_fresh({"timestamp": int(AT * 1000)}, AT + 301, 300)
    assert jira_fresh({"webhookEvent": "jira:issue_updated"}, AT, 300)
    assert not jira_fresh({"timestamp": "soon"}, AT, 300)


def test_a_signature_that_is_not_ascii_is_refused_not_an_error() -> None:
    assert not zendesk_valid("s3cret", STAMP, BODY, "é" * 44)
    assert not jira_valid("s3cret", BODY, "sha256=" + "ÿ" * 64)
