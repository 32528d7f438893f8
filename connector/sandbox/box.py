"""`Sandbox`: local emulated Zendesk, Jira Cloud and Jira Data Center over real HTTP on
127.0.0.1, seeded with the ticket mix, and a config that points the example policy at them.

    with Sandbox(Path("sandbox")) as box:
        box.config_path        # escalate.yaml: load it with connector.config.load_config
        box.urls["jira-dc"]    # http://127.0.0.1:<port>
        box.emulators["zendesk-prod"].tickets   # the platform's state, to inspect
        box.tickets("jira-dc")                  # the tickets as a run reads them

Seeding writes each past connector run through the real adapter, as `escalate run` does, with
the emulator in process under its transport (`connection`); the servers then serve the
seeded emulators over HTTP.

Only the secret in each instance's file is accepted: a wrong one gets the platform's 401.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from connector.audit import AuditLog
from connector.config import Config, load_config, read_text
from connector.sandbox.catalog import instant
from connector.sandbox.config import (
    example_path,
    example_scopes,
    instance_settings,
    with_instances,
    with_state_dir,
    write_secret,
)
from connector.sandbox.connection import PastRuns, read_tickets
from connector.sandbox.jira import JiraWorld
from connector.sandbox.mix import DUE_SHARE, mix
from connector.sandbox.script import Frozen, Spec
from connector.sandbox.zendesk import ZendeskWorld
from emulators.http import Answer, Request
from emulators.jira import JiraEmulator
from emulators.server import EmulatorServer
from emulators.transport import InProcess
from emulators.zendesk import ZendeskEmulator
from rules.errors import ConfigError
from rules.model import Ticket
from rules.policy import Policy

#: Sandbox platform -> the instance name the demo config gives it.
INSTANCES = {"zendesk": "zendesk-prod", "jira-cloud": "jira-cloud", "jira-dc": "jira-dc"}
PLATFORMS = tuple(INSTANCES)
CLIENT_ID = "escalation-connector"
JIRA_EMAIL = "bot@example.com"  # the emulated Jira's connector account
SECRET_FILES = {"zendesk": "client_secret", "jira-cloud": "api_token", "jira-dc": "pat"}

Emulator = ZendeskEmulator | JiraEmulator
World = ZendeskWorld | JiraWorld


class _Deferred:
    """Answers for an emulator created after its server (whose port names its base URL)."""

    def __init__(self) -> None:
        self.target: Emulator | None = None

    def handle(self, request: Request) -> Answer:
        assert self.target is not None, "the sandbox serves an emulator once it is made"
        return self.target.handle(request)


class Sandbox:
    """Seeds the platforms and serves them while the `with` block runs."""

    def __init__(
        self,
        directory: Path,
        *,
        tickets: int = 300,
        seed: int = 7,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
        platforms: Iterable[str] = PLATFORMS,
        due_share: float = DUE_SHARE,
        port: int = 0,
        audit: Path | None = None,
    ) -> None:
        """`port`: the base port: Zendesk on it, Jira Cloud on the next, Jira Data Center on
        the one after (the same URLs at every start); 0: free ports, new at each start."""
        self.directory = Path(directory)
        self.port = port
        self.count, self.seed, self.latency = tickets, seed, latency
        self.clock, self.due_share = clock, due_share
        #: Where the seeded past runs' audit lines go (default: the config's audit log when it
        #: lies in `directory`; never a log outside it, which real configs may share).
        self.audit = audit
        self.platforms = tuple(platforms)
        unknown = [p for p in self.platforms if p not in INSTANCES]
        if unknown:
            raise ValueError(f"unknown sandbox platform(s) {unknown} (expected {PLATFORMS})")
        self.config_path = self.directory / "escalate.yaml"
        self.emulators: dict[str, Emulator] = {}
        self.worlds: dict[str, World] = {}
        self.urls: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.secret_files: dict[str, Path] = {}
        self.ticket_ids: dict[str, list[str]] = {}
        self.specs: list[Spec] = []
        self.policy: Policy | None = None
        self.config: Config | None = None
        self.seeded_in = 0.0  # seconds spent seeding, all platforms
        self._servers: list[EmulatorServer] = []
        self._locks: dict[str, threading.Lock] = {}  # each emulator's: in process as over HTTP

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        slots: dict[str, _Deferred] = {}
        for platform in self.platforms:
            instance = INSTANCES[platform]
            slots[instance] = _Deferred()
            server = self._server(slots[instance], platform)
            self._servers.append(server)
            self._locks[instance] = server.lock
            self.urls[instance] = server.url
            self.secrets[instance] = f"sbx_{secrets.token_urlsafe(24)}"
            path = self.directory / f"{instance}.{SECRET_FILES[platform]}"
            self.secret_files[instance] = write_secret(path, self.secrets[instance])
        self._write_config()
        self.config = config = load_config(self.config_path)
        self.policy = config.policy
        now = self.clock()
        started = time.perf_counter()
        self.specs = mix(self.count, seed=self.seed, now=now, due_share=self.due_share)
        frozen = Frozen(now)
        audit = self._audit(config, frozen)
        try:
            for platform in self.platforms:
                instance = INSTANCES[platform]
                frozen.t = now
                emulator, world = self._seed(
                    platform, instance, config, frozen, slots[instance], audit
                )
                self.emulators[instance], self.worlds[instance] = emulator, world
        finally:
            if audit is not None:
                audit.close()
        self.seeded_in = time.perf_counter() - started
        for server in self._servers:
            server.__enter__()

    def _server(self, slot: _Deferred, platform: str) -> EmulatorServer:
        """The platform's server, on its port (base + its place in PLATFORMS) or a free one."""
        port = self.port + PLATFORMS.index(platform) if self.port else 0
        try:
            return EmulatorServer(slot, port=port, latency=self.latency)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve {INSTANCES[platform]} on 127.0.0.1:{port}: {exc.strerror}"
                f" (the sandbox uses ports {self.port} to {self.port + len(PLATFORMS) - 1}:"
                " choose another --port, or stop what uses it)"
            ) from None

    def stop(self) -> None:
        for server in self._servers:
            if server.thread.is_alive():
                server.__exit__(None, None, None)
            else:
                server.httpd.server_close()
        self._servers = []

    # --- building ------------------------------------------------------------------------------

    def _write_config(self) -> None:
        text = read_text(example_path())
        scopes = example_scopes(text)
        instances: dict[str, dict[str, Any]] = {}
        for platform in self.platforms:
            instance = INSTANCES[platform]
            instances[instance] = instance_settings(
                platform,
                self.urls[instance],
                self.secret_files[instance].resolve(),
                scopes,
                email=JIRA_EMAIL,
                client=CLIENT_ID,
            )
        config = with_state_dir(with_instances(text, instances))
        self.config_path.write_text(config, encoding="utf-8")

    def _audit(self, config: Config, clock: Frozen) -> AuditLog | None:
        path = self.audit
        if path is None and config.audit_log.resolve().is_relative_to(self.directory.resolve()):
            path = config.audit_log
        if path is None or (path.exists() and path.stat().st_size):
            return None  # a kept sandbox: its past is already there
        return AuditLog(path, "sandbox-seed", clock)

    def _seed(
        self,
        platform: str,
        instance: str,
        config: Config,
        frozen: Frozen,
        slot: _Deferred,
        audit: AuditLog | None,
    ) -> tuple[Emulator, World]:
        """A seeded emulator whose clock is the sandbox's once seeding is done (`frozen`
        stands at each step's instant meanwhile, for the emulator and the audit log)."""
        url, secret = self.urls[instance], self.secrets[instance]
        emulator: Emulator
        world: World
        if platform == "zendesk":
            emulator = ZendeskEmulator(clock=frozen, base_url=url, fields=(), groups=())
            emulator.clients[CLIENT_ID] = (secret, emulator.me)
            world = ZendeskWorld(emulator, config.policy, instance)
        else:
            flavour = "cloud" if platform == "jira-cloud" else "dc"
            emulator = JiraEmulator(flavour=flavour, base_url=url, clock=frozen)
            if emulator.cloud:
                emulator.api_tokens[JIRA_EMAIL] = secret
            else:
                emulator.pats.add(secret)
            world = JiraWorld(emulator, config.policy, instance)
        slot.target = emulator
        world.prepare()
        under = InProcess(emulator, self._locks[instance])
        runs = PastRuns(config, instance, under, frozen, audit)

        def past(ticket: str) -> None:
            runs.run(ticket, instant(frozen()))

        try:
            self.ticket_ids[instance] = world.seed(self.specs, frozen, past)
        finally:
            runs.close()
        emulator.clock = self.clock
        emulator.forget_traffic()
        return emulator, world

    def tickets(self, instance: str, now: float | None = None) -> list[Ticket]:
        """The instance's tickets as a run at `now` (default: the sandbox clock) reads them:
        the real adapter over HTTP, with the history the policy needs."""
        assert self.config is not None, "the sandbox is not started"
        at = instant(self.clock() if now is None else now)
        under = InProcess(self.emulators[instance], self._locks[instance])
        return read_tickets(self.config, instance, under, self.clock, at, self.directory / ".view")
