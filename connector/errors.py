"""The project's error tree and the one place that maps errors to exit codes.

    EscalationError                      rules/errors.py
    ├── ConfigError          exit 2      config, policy or input file problem (user-fixable)
    └── AdapterError                     adapters/errors.py: a platform call failed
        ├── TransientError               429/503/5xx/timeouts: retried with tenacity
        │   ├── MaybeLanded              a write that may have gone in: re-read, never re-sent
        │   └── RetryBudgetExceeded      the retries gave up (attempts or seconds spent)
        ├── Unreachable      exit 1      refused, DNS, TLS, proxy: not retried (adapters/network.py)
        ├── AuthError        exit 2      401: the instance is aborted
        ├── PermissionDenied             403
        ├── NotFound                     404: the ticket is skipped
        ├── Rejected                     400/422: the platform refused the values
        │   └── CommentLimit             the ticket's comment limit: written without comments
        ├── Conflict                     409: re-read and re-evaluated once
        └── SetupError       exit 2      a tracking field missing or not on the edit screen
            └── Gone         exit 2      410: the platform removed the endpoint
    StoreError               exit 1      state/errors.py: the state store cannot be used

Exit codes: 0 all good, 1 some ticket changes failed, 2 config/policy/usage error,
3 an unexpected error (a bug: please report it with the traceback).
`escalate plan --detailed-exitcode` (Terraform's): 0 no changes, 2 (`PENDING`) changes pending,
1 (`detailed`) every error.
`code_for` maps one error; `connector.report.exit_code` the runs of a command, with it.
"""

from __future__ import annotations

from adapters.errors import AuthError, SetupError
from rules.errors import ConfigError, EscalationError
from state.errors import StoreError

OK, CHANGES_FAILED, USAGE, BUG = 0, 1, 2, 3
PENDING = 2  # plan --detailed-exitcode: the plan has changes
INTERRUPTED = 130


def detailed(code: int) -> int:
    """An error's exit code under `plan --detailed-exitcode`, where 2 means changes pending:
    every error is 1 (an interrupt stays 130)."""
    return code if code in (OK, INTERRUPTED) else CHANGES_FAILED


def code_for(exc: BaseException) -> int:
    """The exit code an error earns: 2 the user must fix something, 1 the work failed, 3 a bug."""
    if isinstance(exc, ConfigError | AuthError | SetupError):
        return USAGE
    if isinstance(exc, StoreError):  # the state store cannot be reached or written
        return CHANGES_FAILED
    if isinstance(exc, EscalationError):
        return CHANGES_FAILED
    return BUG
