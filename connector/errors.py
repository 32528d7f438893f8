"""The project's error tree and the one place that maps errors to exit codes.

    EscalationError                      rules/errors.py
    ├── ConfigError          exit 2      config, policy or input file problem (user-fixable)
    ├── TicketDataError                  one ticket's data is unusable: that ticket is skipped
    └── AdapterError                     adapters/errors.py
        ├── TransientError               429/503/5xx/timeouts: retried with tenacity
        ├── AuthError        exit 2      401: the instance is aborted
        ├── PermissionDenied             403
        ├── NotFound                     404: the ticket is skipped
        ├── Rejected                     400/422
        ├── Conflict                     409: re-read and re-evaluated once
        └── SetupError       exit 2      a tracking field missing or not on the edit screen
            └── Gone         exit 2      410: the platform removed the endpoint

Exit codes: 0 all good, 1 some ticket changes failed, 2 config/policy/usage error,
3 an unexpected error (a bug: please report it with the traceback).
"""

from __future__ import annotations

from adapters.errors import AuthError, SetupError
from rules.errors import ConfigError, EscalationError

OK, CHANGES_FAILED, USAGE, BUG = 0, 1, 2, 3


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, ConfigError | AuthError | SetupError):
        return USAGE
    if isinstance(exc, EscalationError):
        return CHANGES_FAILED
    return BUG
