"""What the scheduler, the web app and the signal handlers share (one object per service)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from connector.config import Config
from connector.serve.hints import Hints
from connector.serve.telemetry import Telemetry


@dataclass
class Shared:
    """`config` is replaced whole on a reload (readers take it once per request or cycle);
    `chosen` is the `--instance` selection (empty: every configured instance)."""

    config: Config
    hints: Hints
    clock: Callable[[], float]
    chosen: Sequence[str] = ()
    telemetry: Telemetry = field(default_factory=Telemetry)
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Set once a cycle has succeeded (or found the lock held by another replica).
    succeeded: threading.Event = field(default_factory=threading.Event)

    def names(self) -> list[str]:
        config = self.config
        if not self.chosen:
            return list(config.instances)
        return [n for n in self.chosen if n in config.instances]
