"""Checks on a candidate rewrite, before anything touches the work tree (ARCHITECTURE.md, "The
write pipeline", step 6).

Two kinds:

- built in, on unless turned off: the candidate parses. Python through ``compile``, JSON through
  ``json``, TOML through ``tomllib``, YAML through ``yaml`` when PyYAML is installed; other files
  have no built-in check.
- configured, ``[[tool.fastapply.check]]`` (``fastapply.config.CheckEntry``): a command run for
  each candidate its ``files`` glob matches, in a scratch copy of the work tree holding the
  candidate (``fastapply.scratch``), never in the user's tree. ``{file}`` in the command is the
  candidate's repo-relative path in that copy, which is the command's working folder; a command
  without ``{file}`` is project-level (a test run) and sees the whole copy. Commands are split like
  a shell line (``shlex``) but not run through a shell (``sh -c '...'`` gives one). Exit 0 passes.
  Each has a timeout; its output (stdout and stderr together) is captured, never printed. The
  variables that locate a git repository (``GIT_DIR``, ``GIT_INDEX_FILE``, ...) are not passed on.

A command that cannot start is a ``CheckSetupError``, a configuration error (exit 2). This module
knows candidates as paths and bytes, not the edit loop that retries on failure.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapply.config import CheckEntry, ConfigError
from fastapply.repo import RepoInfo
from fastapply.scratch import scratch_tree

MAX_OUTPUT_CHARS = 8000  # kept per check result; the retry prompt trims further
# Variables that point git at the user's repository (a pre-commit hook runs with some set); a
# check never inherits them, so git inside the scratch copy cannot reach the user's index.
_GIT_LOCATORS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_PREFIX",
)


class CheckSetupError(ConfigError):
    """A configured check command could not be started."""


@dataclass(slots=True)
class CheckResult:
    name: str
    ok: bool
    output: str = ""
    attempt: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "output": self.output, "attempt": self.attempt}


def _parse_python(text: str, path: str) -> None:
    compile(text, path, "exec", dont_inherit=True)


def _parse_yaml(text: str, path: str) -> None:
    import yaml

    try:
        list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _yaml_available() -> bool:
    try:
        import yaml  # noqa: F401
    except ImportError:
        return False
    return True


PARSERS = {
    ".py": ("parse:python", _parse_python),
    ".pyi": ("parse:python", _parse_python),
    ".json": ("parse:json", lambda text, path: json.loads(text)),
    ".toml": ("parse:toml", lambda text, path: tomllib.loads(text)),
    ".yaml": ("parse:yaml", _parse_yaml),
    ".yml": ("parse:yaml", _parse_yaml),
}


def parse_check(path: str, text: str) -> CheckResult | None:
    """The built-in check for ``path``'s kind of file, or None when there is none."""
    suffix = Path(path).suffix.lower()
    if suffix not in PARSERS or (PARSERS[suffix][0] == "parse:yaml" and not _yaml_available()):
        return None
    name, parse = PARSERS[suffix]
    try:
        parse(text, path)
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}:{exc.offset or 0}" if exc.lineno else path
        return CheckResult(name, False, f"{where}: {type(exc).__name__}: {exc.msg}")
    except json.JSONDecodeError as exc:
        return CheckResult(name, False, f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}")
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        return CheckResult(name, False, f"{path}: {exc}")
    return CheckResult(name, True)


def command_argv(entry: CheckEntry, path: str) -> list[str]:
    """The argument vector of ``entry`` for the candidate at the repo-relative ``path``.

    Raises:
        CheckSetupError: the command is not a valid shell-like line.
    """
    try:
        words = shlex.split(entry.run)
    except ValueError as exc:
        raise CheckSetupError(f"check {entry.label!r}: cannot split the command: {exc}") from None
    if not words:
        raise CheckSetupError(f"check {entry.label!r}: empty command")
    return [w.replace("{file}", path) for w in words]


def _program_exists(program: str, root: Path) -> bool:
    if "/" in program:
        candidate = Path(program) if os.path.isabs(program) else root / program
        return candidate.is_file()
    return shutil.which(program) is not None


@dataclass(slots=True)
class CheckRunner:
    """The checks of one run: the built-in parse checks and the configured entries."""

    repo: RepoInfo
    entries: list[CheckEntry] = field(default_factory=list)
    builtin: bool = True

    def preflight(self) -> None:
        """Refuse, before any model loads, a configured command that cannot start.

        Raises:
            CheckSetupError: a command is malformed or its program is not found.
        """
        for entry in self.entries:
            program = command_argv(entry, "x")[0]
            if not _program_exists(program, self.repo.root):
                raise CheckSetupError(f"check {entry.label!r}: cannot start {program!r}: not found")

    def applies(self, path: str) -> bool:
        return (self.builtin and Path(path).suffix.lower() in PARSERS) or any(e.matches(path) for e in self.entries)

    def run(self, path: str, text: str, data: bytes, *, attempt: int = 1) -> list[CheckResult]:
        """Every check that applies to the candidate (``text`` as the model wrote it, ``data`` as
        it would be written) at the repo-relative ``path``.

        Raises:
            CheckSetupError: a configured command could not be started.
        """
        results: list[CheckResult] = []
        if self.builtin:
            parsed = parse_check(path, text)
            if parsed is not None:
                results.append(parsed)
        entries = [e for e in self.entries if e.matches(path)]
        if entries:
            with scratch_tree(self.repo, path, data) as root:
                results.extend(run_command(entry, path, root) for entry in entries)
        for result in results:
            result.attempt = attempt
        return results


def run_command(entry: CheckEntry, path: str, root: Path) -> CheckResult:
    """Run one configured check in the scratch copy at ``root``; a timeout is a failure.

    Raises:
        CheckSetupError: the command could not be started.
    """
    argv = command_argv(entry, path)
    try:
        proc = subprocess.Popen(
            argv, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k not in _GIT_LOCATORS},
            start_new_session=True,  # its own process group, so a timeout ends its children too
        )
    except OSError as exc:
        raise CheckSetupError(f"check {entry.label!r}: cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    try:
        out, _ = proc.communicate(timeout=entry.timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        text = _trim(out.decode("utf-8", errors="replace"))
        return CheckResult(entry.label, False, f"timed out after {entry.timeout:g} s\n{text}".rstrip())
    text = _trim(out.decode("utf-8", errors="replace"))
    if proc.returncode != 0:
        return CheckResult(entry.label, False, text or f"exited with status {proc.returncode}")
    return CheckResult(entry.label, True, text)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _trim(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    half = MAX_OUTPUT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - MAX_OUTPUT_CHARS} characters left out ...]\n{text[-half:]}"
