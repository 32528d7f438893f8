"""The running service: uvicorn on a thread, the scheduler on another, signals on the main one.

- SIGTERM (and SIGINT): stop. The cycle in flight finishes its write batch in flight and starts
  no other (`Runtime.stop`), its lock is released as every run releases it, the HTTP server
  closes, and the process exits 0.
- SIGHUP: reload the configuration file. A file that does not load, or whose secrets cannot be
  read, is refused and logged (`config_reload_refused`) and the configuration in force stays;
  a good one is used from the next cycle on (a changed policy: a full sweep). `serve.listen`
  and `state` take a restart.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from types import FrameType

import structlog
import uvicorn

from connector.config import Config, check_secrets, load_config
from connector.runner import Runtime
from connector.serve.app import build_app
from connector.serve.cycle import Cycle, incremental
from connector.serve.hints import Hints
from connector.serve.scheduler import Scheduler, Waiter
from connector.serve.shared import Shared
from rules.errors import ConfigError

log = structlog.get_logger("connector.serve")
START_SECONDS = 30.0  # the HTTP server must be listening by then


def check_webhook_secrets(config: Config) -> None:
    for name, hook in config.serve.webhooks.items():
        hook.secret.resolve(f"serve.webhooks.{name}: secret from {hook.secret.describe()}")


def listen(address: tuple[str, int]) -> socket.socket:
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ConfigError(f"serve.listen: cannot listen on {host}:{port}: {exc.strerror}") from None


class Service:
    def __init__(
        self,
        config_path: str,
        config: Config,
        runtime: Runtime,
        chosen: list[str],
        cycle: Cycle = incremental,
    ) -> None:
        self.config_path, self.runtime = config_path, runtime
        waiter = Waiter()
        hints = Hints(config.serve.queue, on_mark=waiter.wake)
        self.shared = Shared(config, hints, runtime.clock, tuple(chosen))
        self.shared.telemetry.policy_in_force(config.policy.hash)
        self.scheduler = Scheduler(self.shared, runtime, cycle, waiter)
        self.app = build_app(self.shared, self.probe)
        self.server: uvicorn.Server | None = None
        self._http: threading.Thread | None = None

    def probe(self) -> bool:
        """The state store answers: the state directory is writable, or the database replies."""
        config = self.shared.config
        store = self.runtime.state(config)
        if store.kind == "sqlite":
            return os.access(config.state_dir, os.W_OK | os.X_OK)
        names = self.shared.names()
        if names:
            store.owed(names[0]).stored_identity()  # one SELECT; raises StoreError if down
        return True

    def start_http(self, sock: socket.socket) -> None:
        settings = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(settings)
        self._http = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="http", daemon=True
        )
        self._http.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if not self._http.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)

    def stop_http(self) -> None:
        if self.server is not None and self._http is not None:
            self.server.should_exit = True
            self._http.join(10)

    def reload(self) -> bool:
        """Load the configuration file again; keep the old one if the new one is bad."""
        try:
            config = load_config(self.config_path)
            chosen = self.shared.chosen
            served = (
                [n for n in chosen if n in config.instances] if chosen else list(config.instances)
            )
            if not served:
                raise ConfigError(f"{self.config_path}: none of the served instances is left")
            check_secrets(config, served)
            check_webhook_secrets(config)
        except ConfigError as exc:
            self.shared.telemetry.reloads.labels("refused").inc()
            log.error("config_reload_refused", config=self.config_path, error=str(exc))
            return False
        old = self.shared.config
        if config.serve.listen != old.serve.listen or config.state != old.state:
            log.warning("config_reload_partial", note="serve.listen and state take a restart")
        self.scheduler.reload(config)
        self.shared.telemetry.reloads.labels("applied").inc()
        log.info("config_reloaded", config=self.config_path, policy_hash=config.policy.hash)
        return True

    def serve_forever(self, sock: socket.socket) -> int:
        """Run until SIGTERM or SIGINT; the exit status (0: stopped as asked)."""
        wake, reload = threading.Event(), threading.Event()

        def on_stop(signum: int, frame: FrameType | None) -> None:
            log.info("stopping", signal=signal.Signals(signum).name)
            self.scheduler.stop()
            wake.set()

        def on_reload(signum: int, frame: FrameType | None) -> None:
            reload.set()
            wake.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_reload)
        failed: list[BaseException] = []

        def schedule() -> None:
            try:
                self.scheduler.run()
            except BaseException as exc:
                failed.append(exc)
                log.exception("scheduler_crashed")
            finally:
                wake.set()

        worker = threading.Thread(target=schedule, name="scheduler")
        worker.start()
        try:
            while worker.is_alive():
                wake.wait(1.0)
                wake.clear()
                if reload.is_set():
                    reload.clear()
                    self.reload()
            worker.join()
        finally:
            self.stop_http()
            self.runtime.close_store()
        return 3 if failed else 0
