"""One run per instance: the lock is the state store's (`state`); this keeps the old names for
the state directory's `flock` (`state.sqlite_file.FileLock`)."""

from state.errors import Locked
from state.sqlite_file import FileLock as InstanceLock

__all__ = ["InstanceLock", "Locked"]
