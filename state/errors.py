"""The state store's errors."""

from __future__ import annotations


class StoreError(Exception):
    """The store could not be read or written (a file, a database): one sentence, no secret."""


class Locked(Exception):
    """Another run holds this instance's lock."""

    def __init__(self, instance: str, holder: str) -> None:
        super().__init__(
            f"instance {instance}: another run holds the lock ({holder}); skipped. Runs of one"
            " instance never overlap: this one exits and the next scheduled run picks up."
        )
        self.instance = instance


class LockLost(Exception):
    """The lock's connection dropped mid-run: another run may hold the lock now."""

    def __init__(self, instance: str, why: str) -> None:
        super().__init__(
            f"instance {instance}: the run lost its lock ({why}); it stopped writing. Another"
            " run may hold the lock now; the next run picks up what is left."
        )
        self.instance = instance
