"""The core's exceptions, each tied to the CLI exit code of ARCHITECTURE.md, "Exit codes"."""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_ENGINE = 4
EXIT_CHECKS = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM


class FastapplyError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code = EXIT_USAGE


class UsageError(FastapplyError):
    """Bad arguments or configuration."""

    exit_code = EXIT_USAGE


class RefusedError(FastapplyError):
    """Refused for safety: outside the repository, binary, too large, changed since read...

    ``reason`` says why without the path; ``path`` names the file when there is one, and the
    message is then ``"path: reason"``.
    """

    exit_code = EXIT_REFUSED

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


class EngineFailure(FastapplyError):
    """The model could not be loaded or did not finish its output."""

    exit_code = EXIT_ENGINE


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so every clean-up that honours Ctrl-C runs for it too;
    the CLI exits 143 instead of 130."""
