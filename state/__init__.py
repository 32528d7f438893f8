"""Where the connector keeps what it remembers between runs: the per-instance lock, the
owed-comment journal, the history cache and the due index of incremental runs, behind one
interface with two backends.

- `sqlite` (the default, zero set-up): files in the state directory, as always: a `flock` per
  instance, one SQLite file per instance for the journal and for the cache. One host only: two
  hosts with two state directories do not see each other's lock.
- `postgresql` (`state: {url: postgresql://…, password: {env: …}}`): one database for any number
  of hosts. The lock is a session advisory lock held on a connection of its own for the whole
  run; if that connection drops, PostgreSQL releases the lock, and the run stops writing (the
  writer checks `Lease.alive()` before each write batch). Tables are created and migrated on
  first use (`state.migrations`, versioned, idempotent; `escalate state migrate`).

This package imports no other project package: `adapters` and `connector` both build on it.
"""

from state.errors import Locked, LockLost, StoreError
from state.protocol import (
    AuditRow,
    AuditRows,
    DueMark,
    DueRow,
    DueRows,
    HistoryRow,
    HistoryRows,
    Lease,
    NoticeRow,
    NoticeRows,
    OwedRow,
    OwedRows,
    Store,
)

__all__ = [
    "AuditRow",
    "AuditRows",
    "DueMark",
    "DueRow",
    "DueRows",
    "HistoryRow",
    "HistoryRows",
    "Lease",
    "LockLost",
    "Locked",
    "NoticeRow",
    "NoticeRows",
    "OwedRow",
    "OwedRows",
    "Store",
    "StoreError",
]
