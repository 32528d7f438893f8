"""The webhooks `escalate setup` creates and `escalate doctor` checks, for the instances that
`serve.webhooks` names, at `serve.public_url`/webhooks/PLATFORM/INSTANCE.

Where the signing secret goes: a Zendesk webhook's is made by Zendesk and read back; a Jira
webhook's is the configured one, or (a `{file: ...}` that does not exist yet) a new random
one. A secret setup learns or makes is written to the configured file (mode 0600); one the
config reads from an environment variable is never printed: setup says where to find it.
An instance verified by an app's JWT (`verify: connect-jwt | oauth-jwt`) gets no admin webhook:
the app registers its own, which the connector's account cannot see; doctor says so.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import click

from adapters.protocol import Adapter
from adapters.results import Check
from adapters.secrets import SecretRef, register
from adapters.setup import Done, Plan
from adapters.webhooks import Webhooks
from connector.config import Config
from rules.errors import ConfigError


def configured(ref: SecretRef) -> str | None:
    try:
        return ref.resolve("webhook secret").reveal()
    except ConfigError:
        return None


def plans(config: Config, adapters: Mapping[str, Adapter]) -> dict[str, Plan]:
    """Per instance with a webhook secret configured: what setup would send (read-only)."""
    out: dict[str, Plan] = {}
    for name, adapter in adapters.items():
        hook = config.serve.webhooks.get(name)
        url = config.serve.webhook_url(adapter.platform, name)
        if hook is None or hook.verify != "signature":  # an app's: the app registers it
            continue
        plan = Plan(name, adapter.platform)
        if url is None:
            plan.problems.append(
                "no webhook: set serve.public_url (the https:// address the platform reaches"
                " escalate serve at) to have setup create it"
            )
        elif not isinstance(adapter, Webhooks):
            plan.problems.append(f"no webhook: {adapter.platform} has none setup can create")
        else:
            plan = adapter.webhook_plan(url)
            ref = hook.secret
            if plan.steps and adapter.platform == "jira" and configured(ref) is None and ref.env:
                plan.problems.append(
                    f"the webhook needs a signing secret: set {ref.env} to a long random"
                    " string (openssl rand -base64 32), then run setup again"
                )
                plan.steps.clear()
        out[name] = plan
    return out


def apply(config: Config, name: str, adapter: Adapter, plan: Plan) -> tuple[list[Done], int]:
    """Send the plan; (what became of each step, problems). Keeps the secret as configured."""
    assert isinstance(adapter, Webhooks)
    ref = config.serve.webhooks[name].secret
    secret = configured(ref)
    made_here = None
    if adapter.platform == "jira" and secret is None and ref.file:
        secret = made_here = secrets.token_urlsafe(32)
        register(secret)
    made = adapter.webhook_apply(plan, secret)
    keep = None
    if made.secret is not None and made.secret != secret:
        keep = made.secret
    elif made_here is not None and any(d.id for d in made.done):
        keep = made_here
    return made.done, _keep(name, ref, keep, adapter.platform) if keep else 0


def _keep(name: str, ref: SecretRef, secret: str, platform: str) -> int:
    if ref.file is not None:
        path = Path(ref.file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a file that was there keeps its mode otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        click.echo(f"{name}: the webhook's signing secret is kept in {path} (mode 0600)")
        return 0
    where = (
        "Admin Center > Apps and integrations > Webhooks > the webhook > Reveal secret"
        if platform == "zendesk"
        else "the secret you gave it"
    )
    click.echo(
        f"{name}: set {ref.env} to the webhook's signing secret ({where}), then restart serve",
        err=True,
    )
    return 1


def checks(config: Config, name: str, adapter: Adapter) -> list[Check]:
    """Doctor's webhook lines for the instance (none when serve does not name it): how its
    deliveries are verified (never the secret), then the webhook itself where the connector's
    account can see it (an admin webhook; an app's is the app's own)."""
    hook = config.serve.webhooks.get(name)
    url = config.serve.webhook_url(adapter.platform, name)
    if hook is None:
        return []
    readable = configured(hook.secret) is not None
    mode = Check(
        "webhook verification",
        readable,
        hook.describe() + ("" if readable else ": the secret cannot be read"),
    )
    if hook.verify != "signature":
        note = "registered by the app (its descriptor or its own token): not checked here"
        return [mode, Check("webhook", True, note)]
    if url is None:
        return [
            mode,
            Check(
                "webhook", False, "serve.public_url is not set: the webhook's address is unknown"
            ),
        ]
    if not isinstance(adapter, Webhooks):
        return [mode, Check("webhook", False, f"{adapter.platform} has no webhook to check")]
    return [mode, *adapter.webhook_check(url, configured(hook.secret))]
