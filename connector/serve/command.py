"""`escalate serve`: the connector as a service (docs/operations.md, "Service mode")."""

from __future__ import annotations

import click
from pydantic import ValidationError

from connector.commands.common import runtime, select
from connector.commands.options import config_option, instance_option
from connector.config import load_config
from connector.serve.service import Service, check_webhook_secrets, listen
from connector.serve.settings import ServeSettings


@click.command()
@config_option()
@instance_option
@click.option(
    "--listen",
    "address",
    metavar="HOST:PORT",
    help="Where to listen (default: the config's serve.listen, 127.0.0.1:8080; port 0: any).",
)
def serve_command(config_path: str, instances: tuple[str, ...], address: str | None) -> None:
    """Run as a service: scheduled and webhook cycles; /healthz, /readyz, /metrics.

    Runs an incremental cycle every serve.interval (60s), a full sweep every run.full_sweep (1h),
    and a
    cycle seconds after a signed webhook names a ticket; serves /metrics, /healthz, /readyz.

    Webhooks: POST /webhooks/zendesk/INSTANCE and /webhooks/jira/INSTANCE, each checked
    against the instance's signing secret (serve.webhooks); `escalate setup` registers them
    when serve.public_url is set. SIGTERM finishes the write batch in flight, releases the
    lock and exits 0; SIGHUP reloads the configuration (a bad one is refused and the old one
    kept). Prints the address it listens on, then logs to stderr.
    """
    config = load_config(config_path)
    names = select(config, instances)
    check_webhook_secrets(config)
    where = _address(address) if address else config.serve.address()
    sock = listen(where)
    service = Service(config_path, config, runtime(), list(instances) and names)
    service.start_http(sock)
    host, port = sock.getsockname()[:2]
    click.echo(f"serving on http://{host}:{port}", nl=True)
    raise click.exceptions.Exit(service.serve_forever(sock))


def _address(text: str) -> tuple[str, int]:
    try:
        return ServeSettings(listen=text).address()
    except ValidationError:
        raise click.BadParameter(
            f"expected HOST:PORT such as 127.0.0.1:8080 or 0.0.0.0:0, got {text!r}",
            param_hint="--listen",
        ) from None
