"""Errors a user can cause, each carrying the exit code the command line ends with.

Exit codes (documented in ``agent --help`` and the README):

- 0: success
- 1: the task was not done / the fix was not verified (:class:`TaskFailed`)
- 2: usage or configuration error (:class:`UsageError`; also the store's ``memory.StoreError``)
- 3: backend error: API unreachable, model missing (:class:`BackendError`)
- 130: interrupted (Ctrl-C); 129 and 143: stopped by SIGHUP and SIGTERM (128 + the signal number)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130


class KiriError(Exception):
    """An error meant for the user: ``main()`` prints ``error: <message>`` and exits with ``exit_code``."""

    exit_code: int = EXIT_TASK_FAILED

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(KiriError):
    """Bad flags, arguments, configuration files or environment values (exit 2)."""

    exit_code = EXIT_USAGE


class BackendError(KiriError):
    """The model backend failed: API unreachable after retries, model missing, bad credentials (exit 3)."""

    exit_code = EXIT_BACKEND


class TaskFailed(KiriError):
    """The task ended without success, e.g. a fix whose tests still fail (exit 1)."""

    exit_code = EXIT_TASK_FAILED
