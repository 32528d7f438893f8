"""One run per instance per host: an advisory `flock` on `<state_dir>/locks/<instance>.lock`.

The kernel releases the lock when the process ends, however it ends (kill -9 included), so a
crashed run never leaves a stale lock behind. The file holds the holder's pid and start time,
only to say who holds it; it is never trusted for the locking itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from rules.errors import ConfigError


class Locked(Exception):
    """Another run holds this instance's lock."""

    def __init__(self, instance: str, holder: str) -> None:
        super().__init__(
            f"instance {instance}: another run holds the lock ({holder}); skipped. Runs of one"
            " instance never overlap: this one exits and the next scheduled run picks up."
        )
        self.instance = instance


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


class InstanceLock:
    """`with InstanceLock(state_dir, name):` raises Locked at once if another run holds it."""

    def __init__(self, state_dir: Path, instance: str) -> None:
        self.instance = instance
        self.path = state_dir / "locks" / f"{_safe(instance)}.lock"
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the lock {self.path}: {exc.strerror}; set run.state_dir"
                " (docs/operations.md) to a writable place"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise Locked(self.instance, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": since}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 200, 0) or b"{}")
        return f"pid {info['pid']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
