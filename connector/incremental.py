"""Incremental runs, for `escalate run` (with `run.incremental: true`) and `escalate serve`.

How a run chooses what to read, and why its plan equals a full sweep's: `connector.due`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from connector.audit import AuditLog
from connector.config import Config
from connector.report import InstanceRun
from connector.runner import Options, Runtime, run_instance


def run_incremental(
    config: Config,
    instance_name: str,
    runtime: Runtime,
    hint: Iterable[str] = (),
    *,
    audit: AuditLog,
    full: bool = False,
    search: bool = True,
    options: Options | None = None,
) -> InstanceRun:
    """One run of one instance that reads what changed or came due, under the instance's lock
    (a run already holding it: outcome LOCKED, nothing read), and writes its changes.

    - `hint`: ticket ids to read now whatever the due index says (`serve` passes the tickets
      its webhooks marked since the last run; deduplicate them first). On Zendesk a hinted
      ticket is read by id at once when the scope names only statuses (it can be checked
      here); otherwise, and for a ticket out of scope, the search decides (within `index_lag`).
    - `search`: False for a cycle that only webhooks prompted: where the hinted and due tickets
      can all be placed by id (Zendesk: a scope of statuses alone), no search for what changed
      is sent and the high-water mark stays (the next run that searches covers the window).
    - `full`: a full sweep now (as `run --full`). A full sweep also happens on its own when the
      index is missing or stale, the policy or instance settings changed, or the last one is
      `run.full_sweep` old; `InstanceRun.read_mode` ("full" or "incremental") and `read_why`
      say which and why.
    - `options`: as `escalate run` builds them (dry run, storm guard, concurrency); by default
      the config's `run:` section. Incremental is on here whatever `run.incremental` says.
    - `audit`: the command's audit log (`connector.commands.common.audit_log`).

    Raises only what `run_instance` raises (ConfigError for an unusable state directory);
    everything else is the returned run's outcome. Thread-safe across instances, not for two
    calls on the same instance at once (the second one finds the lock held).
    """
    base = options or Options(
        max_changes=config.run.max_changes, concurrency=config.run.concurrency
    )
    chosen = replace(base, incremental=True, full=full, hint=frozenset(hint), search=search)
    return run_instance(config, instance_name, runtime, audit, chosen)
