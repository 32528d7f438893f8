"""`escalate matrix`: the escalation matrix of a policy, offline."""

from __future__ import annotations

from pathlib import Path

import click

from connector.commands.common import emit
from connector.commands.options import config_option
from connector.config import load_config
from connector.matrix_view import html_page, mermaid, table
from rules.matrix import build


@click.command(name="matrix")
@config_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "mermaid", "html"]),
    default="table",
    show_default=True,
    help="table: plain text; mermaid: a flowchart for Markdown or mermaid.live; html: one page.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file, not stdout.")
def matrix_command(config_path: str, fmt: str, out: str | None) -> None:
    """Show the escalation matrix as people draw it, generated from the policy (offline).

    \b
    - the levels, with owner, approval, notifications and priority floor;
    - who owns each function at each level (the matrix, or the level's own owner);
    - every escalation path: from which level, to which, by which rule, when, and through
      whose approval;
    - the flow: New ticket -> L1 -> resolved? -> escalate -> ... -> close & review.

    Touches no network and reads no secret.
    """
    config = load_config(config_path)
    m = build(config.policy)
    if fmt == "mermaid":
        text = mermaid(m)
    elif fmt == "html":
        text = html_page(m, f"Escalation matrix: {Path(config_path).name}")
    else:
        text = table(m)
    emit(text, out, "matrix")
