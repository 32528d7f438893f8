"""Webhook deliveries from an emulated platform: queued when a ticket changes (inside the
emulator's lock), sent by a thread of their own over real HTTP, as the platform sends them.

    outbox = Outbox(); emulator.outbox = outbox; outbox.start() ... outbox.close()

Each delivery is tried once (the platforms retry failures later; a test that wants a retry
sends it again). `sent` records (url, status, seconds from queued to answered); `status` 0 is
a connection that failed. `drain()` waits until everything queued so far has been sent.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Delivery:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    queued: float = field(default_factory=time.monotonic)


class Outbox:
    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.sent: list[tuple[str, int, float]] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, name="outbox", daemon=True)
        self._idle = threading.Condition()
        self._pending = 0
        #: While clear, deliveries wait (a platform slow to notify).
        self.open = threading.Event()
        self.open.set()

    def put(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(delivery)

    def start(self) -> Outbox:
        self._thread.start()
        return self

    def drain(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(self.timeout + 5)

    def _send_all(self) -> None:
        while (delivery := self._queue.get()) is not None:
            self.open.wait()
            status = self._send(delivery)
            with self._idle:
                self.sent.append((delivery.url, status, time.monotonic() - delivery.queued))
                self._pending -= 1
                self._idle.notify_all()

    def _send(self, delivery: Delivery) -> int:
        request = urllib.request.Request(
            delivery.url, data=delivery.body, headers=delivery.headers, method=delivery.method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return 0
