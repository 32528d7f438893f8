"""`escalate sandbox serve`: keep the local platforms up for trying configs and poking with curl.

The blocking wait is a `threading.Event` (from `ctx.obj["stop"]` when a caller provides one, as
tests do), so the command can be started and stopped without real sleeping; Ctrl-C stops it.
"""

from __future__ import annotations

import shlex
import tempfile
import threading
from pathlib import Path
from typing import Any

import click

from connector.sandbox.box import CLIENT_ID, JIRA_EMAIL, Sandbox

PRINT_TOKEN = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"


@click.group(name="sandbox")
def sandbox_group() -> None:
    """Local emulated Zendesk, Jira Cloud and Jira Data Center, seeded with tickets."""


@sandbox_group.command(name="serve")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write escalate.yaml and the credential files (default: a temporary "
    "directory, removed on exit).",
)
@click.option(
    "--tickets",
    type=click.IntRange(1, 100_000),
    default=300,
    show_default=True,
    help="Open tickets per platform (and 40% as many solved over the past month).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same tickets.")
@click.option(
    "--port",
    type=click.IntRange(1024, 65533),
    default=None,
    help="Base port: Zendesk on PORT, Jira Cloud on PORT+1, Jira Data Center on PORT+2, the"
    " same at every start (default: free ports, new each time).",
)
@click.pass_context
def serve_command(
    ctx: click.Context, directory: Path | None, tickets: int, seed: int, port: int | None
) -> None:
    """Serve the sandbox platforms on 127.0.0.1 until Ctrl-C.

    Prints each platform's URL, the config that points the example policy at them (use it with
    -c in any other command), the credential files and a few curl commands to try. Secrets are
    only ever read from their files; they are never printed.
    """
    obj: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    stop = obj.get("stop")
    stop = stop if isinstance(stop, threading.Event) else threading.Event()
    if directory is not None:
        serve(directory, tickets, seed, stop, port or 0)
        return
    with tempfile.TemporaryDirectory(prefix="escalate-sandbox-") as temporary:
        serve(Path(temporary), tickets, seed, stop, port or 0)


def serve(directory: Path, tickets: int, seed: int, stop: threading.Event, port: int = 0) -> None:
    """Start the sandbox, describe it, and block until `stop` is set or Ctrl-C."""
    with Sandbox(directory, tickets=tickets, seed=seed, port=port) as box:
        click.echo(describe(box))
        try:
            while not stop.wait(timeout=1.0):
                pass
        except KeyboardInterrupt:
            click.echo("stopped")


def describe(box: Sandbox) -> str:
    """What is running and how to use it (paths and commands; no secret)."""
    q = shlex.quote
    past = len(box.specs) - box.count
    lines = [
        f"Sandbox: {len(box.specs)} tickets per platform, {box.count} open and {past} solved"
        f" over the past month (seed {box.seed})",
        "",
    ]
    width = max(len(name) for name in box.urls)
    for instance, url in box.urls.items():
        lines.append(f"  {instance.ljust(width)}  {url}")
    state = box.config.state_dir if box.config is not None else box.directory / "state"
    lines += [
        "",
        f"Config:       {box.config_path}",
        f"State:        {state}  (locks, journal, audit log: this sandbox's own)",
        "Credentials:",
    ]
    for instance, path in box.secret_files.items():
        lines.append(f"  {instance.ljust(width)}  {path}  (mode 0600)")
    lines += [
        "",
        "Try:",
        f"  escalate validate -c {q(str(box.config_path))}",
        f"  escalate plan -c {q(str(box.config_path))}",
    ]
    examples = []
    if "zendesk-prod" in box.urls:
        url, secret = box.urls["zendesk-prod"], q(str(box.secret_files["zendesk-prod"]))
        payload = (
            '{"grant_type": "client_credentials", "client_id": "'
            + CLIENT_ID
            + '", "client_secret": "\'"$(cat '
            + secret
            + ')"\'"}'
        )
        examples += [
            "# Zendesk: an OAuth token from the client secret, then the first page of tickets",
            f"TOKEN=$(curl -s -X POST {url}/oauth/tokens -H 'Content-Type: application/json' \\",
            f"  -d '{payload}' | {PRINT_TOKEN})",
            f'curl -s -H "Authorization: Bearer $TOKEN" \\\n  "{url}/api/v2/search/export.json?'
            'filter%5Btype%5D=ticket&page%5Bsize%5D=5&query=status%3Csolved"',
        ]
    if "jira-cloud" in box.urls:
        url, secret = box.urls["jira-cloud"], q(str(box.secret_files["jira-cloud"]))
        examples += [
            "# Jira Cloud: e-mail and API token over basic auth",
            f'curl -s -u "{JIRA_EMAIL}:$(cat {secret})" \\\n  "{url}/rest/api/3/search/jql?'
            'jql=project%3DSUP&maxResults=5&fields=summary,priority,status"',
        ]
    if "jira-dc" in box.urls:
        url, secret = box.urls["jira-dc"], q(str(box.secret_files["jira-dc"]))
        examples += [
            "# Jira Data Center: a personal access token",
            f'curl -s -H "Authorization: Bearer $(cat {secret})" \\\n  "{url}/rest/api/2/issue/'
            'SUP-1?fields=summary,priority,status"',
        ]
    lines += ["", *examples, "", "Ctrl-C stops the sandbox."]
    return "\n".join(lines)
