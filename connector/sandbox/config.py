"""The sandbox's files: each instance's secret (mode 0600, never in the config) and
`escalate.yaml`, the example policy with its `instances` pointed at the local platforms.

The example's text is kept as it is, comments included, up to its `instances:` section, which
is replaced; the policy keys are the admin's starting point and stay untouched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from rules.errors import ConfigError

CHECKOUT_EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
PACKAGED_EXAMPLE = Path(__file__).resolve().parents[1] / "samples" / "config.example.yaml"
ZENDESK_SCOPE = "type:ticket status<closed"
JIRA_SCOPE = "project in (SUP, NET) AND (statusCategory != Done OR updated >= -7d)"
SCOPE_KEYS = ("scope", "history_scope")
_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
HEADER = (
    "# The sandbox's local platforms (escalate sandbox serve / escalate demo). Each secret is\n"
    "# read from its own file (mode 0600); none is written here.\n"
)


def example_path() -> Path:
    """config.example.yaml of this checkout, else the copy packaged with the connector."""
    for path in (CHECKOUT_EXAMPLE, PACKAGED_EXAMPLE):
        if path.is_file():
            return path
    raise ConfigError(
        f"the example policy is missing: expected {CHECKOUT_EXAMPLE} or {PACKAGED_EXAMPLE}"
    )


def write_secret(path: Path, value: str) -> Path:
    """Write a secret readable by its owner only, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, value.encode())
    finally:
        os.close(fd)
    return path


#: The sandbox's own state directory, relative to its escalate.yaml: its locks, journal,
#: history cache and audit log are never those of another sandbox or a real configuration.
STATE_DIR = "state"
_STATE_LINE = (
    f"  state_dir: {STATE_DIR}  # the sandbox's own (next to this file): never shared with"
    " another config\n"
)


def with_state_dir(text: str) -> str:
    """The config text with `run.state_dir` set to the sandbox's own directory: replacing the
    example's value (set or commented out), or in a `run:` section added at the end."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"run\s*:", line)), None)
    if start is None:
        return text.rstrip("\n") + "\n\nrun:\n" + _STATE_LINE
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    body = [line for line in lines[start + 1 : end] if not _STATE_KEY.match(line)]
    return "".join([*lines[: start + 1], _STATE_LINE, *body, *lines[end:]])


_STATE_KEY = re.compile(r"^\s*#?\s*state_dir\s*:")


def example_scopes(text: str) -> dict[str, dict[str, str]]:
    """The example instances' `scope` and `history_scope` by platform (the first instance of
    each)."""
    scopes = {"zendesk": {"scope": ZENDESK_SCOPE}, "jira": {"scope": JIRA_SCOPE}}
    data = yaml.safe_load(text) or {}
    instances = data.get("instances") if isinstance(data, dict) else None
    seen: set[str] = set()
    for settings in (instances or {}).values():
        if not isinstance(settings, dict):
            continue
        platform = settings.get("platform")
        if platform in scopes and platform not in seen and isinstance(settings.get("scope"), str):
            scopes[platform] = {
                k: settings[k] for k in SCOPE_KEYS if isinstance(settings.get(k), str)
            }
            seen.add(platform)
    return scopes


def with_instances(text: str, instances: dict[str, dict[str, Any]]) -> str:
    """The policy text with its top-level `instances:` section replaced (or added).

    Per-instance owner overrides naming an instance the sandbox does not run (a subset of its
    platforms) would make the config invalid: then the policy is rewritten without them, and
    without the example's comments.
    """
    data = yaml.safe_load(text)
    if isinstance(data, dict) and _drop_overrides(data, set(instances)):
        data["instances"] = instances
        return HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("instances:")), None)
    if start is None:
        head, tail = lines, []
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines)
        )
        head, tail = lines[:start], lines[end:]
    block = yaml.safe_dump({"instances": instances}, sort_keys=False, default_flow_style=False)
    body = "".join(head).rstrip("\n") + "\n\n" + HEADER + block
    return body + ("\n" + "".join(tail) if tail else "")


def instance_settings(
    kind: str,
    url: str,
    secret_file: Path,
    scopes: dict[str, dict[str, str]],
    *,
    email: str = "",
    client: str = "",
) -> dict[str, Any]:
    """One instance's settings for a sandbox platform ("zendesk", "jira-cloud", "jira-dc")."""
    ref = {"file": str(secret_file)}
    if kind == "zendesk":
        auth: dict[str, Any] = {
            "type": "oauth_client_credentials",
            "client_id": client,
            "client_secret": ref,
        }
        return {"platform": "zendesk", "url": url, "auth": auth, **scopes["zendesk"]}
    auth = (
        {"email": email, "api_token": ref}
        if kind == "jira-cloud"
        else {"personal_access_token": ref}
    )
    return {
        "platform": "jira",
        "url": url,
        "auth": auth,
        **scopes["jira"],
        "group_field": "Support team",
        "jsm_internal_comments": True,
    }


def _drop_overrides(data: dict[str, Any], keep: set[str]) -> bool:
    """Remove owner overrides (`instances:` under levels, matrix, rules) for other instances."""
    owners: list[Any] = [(lv or {}).get("owner") for lv in data.get("levels") or []]
    for cells in (data.get("matrix") or {}).values():
        owners += list((cells or {}).values())
    owners += [((r or {}).get("then") or {}).get("assign") for r in data.get("rules") or []]
    dropped = False
    for owner in owners:
        overrides = owner.get("instances") if isinstance(owner, dict) else None
        if not isinstance(overrides, dict):
            continue
        for name in [n for n in overrides if n not in keep]:
            del overrides[name]
            dropped = True
    return dropped
