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
  a shell line (``shlex``) but not run through a shell (``sh -c '...'`` gives one). The check's own
  exit status decides: 0 passes; a timeout, a signal (named) or more than ``OUTPUT_LIMIT_BYTES`` of
  output fails. It runs in its own process group, killed when it ends, times out, prints too much
  or the run is interrupted, so no background job outlives it (one that left the group, ``setsid``,
  delays the result by ``DRAIN_SECONDS`` at most). Its output (stdout and stderr together) is read
  as it comes, head and tail kept, never printed. The variables that locate a git repository
  (``GIT_DIR``, ``GIT_INDEX_FILE``, ...) are not passed on, and ``GIT_CEILING_DIRECTORIES`` stops
  git's search above the copy. A repo-relative program the copy lacks (ignored, as in ``.venv/``)
  is started from the user's tree (``_program_path`` says why that is safe).

A command that cannot start is a ``CheckSetupError``, a configuration error (exit 2). This module
knows candidates as paths and bytes, not the edit loop that retries on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapply.config import CheckEntry, ConfigError
from fastapply.repo import RepoInfo
from fastapply.scratch import scratch_tree

MAX_OUTPUT_CHARS = 8000  # kept per check result (its head and tail); the retry prompt trims further
OUTPUT_LIMIT_BYTES = 64 * 2**20  # a check printing more is killed (a runaway loop, `yes`)
DRAIN_SECONDS = 0.5  # after a check ends, how long output still on its way is waited for
_POLL_SECONDS = 0.05  # how often a silent check is looked at to see whether it has exited
_READ_BYTES = 65536
_REAP_SECONDS = 5.0  # a killed group is reaped within this; past it, it is left to the system
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
                results.extend(run_command(entry, path, root, real_root=self.repo.root) for entry in entries)
        for result in results:
            result.attempt = attempt
        return results


def run_command(entry: CheckEntry, path: str, root: Path, *, real_root: Path | None = None) -> CheckResult:
    """Run one configured check in the scratch copy at ``root``; its own exit status decides.

    A timeout, output past ``OUTPUT_LIMIT_BYTES`` and a signal are failures that say so. Whatever
    the outcome (an interrupt included), the check's process group is killed before this returns,
    and it never waits unboundedly for a pipe that a process outside that group holds open. With
    ``real_root`` (the user's work tree), a repo-relative program that the copy lacks (an ignored
    ``.venv/bin/ruff``) is started from there (``_program_path``).

    Raises:
        CheckSetupError: the command could not be started.
    """
    argv = command_argv(entry, path)
    argv[0] = _program_path(argv[0], root, real_root)
    try:
        proc = subprocess.Popen(
            argv, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=_environment(root),
            start_new_session=True,  # its own process group: a timeout or an interrupt ends its children too
        )
    except OSError as exc:
        raise CheckSetupError(f"check {entry.label!r}: cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    output = _Output(MAX_OUTPUT_CHARS // 2)
    stop = _watch(proc, output, entry.timeout)
    text = output.text()
    if stop == "timeout":
        return CheckResult(entry.label, False, f"timed out after {entry.timeout:g} s\n{text}".rstrip())
    if stop == "output":
        limit = f"{OUTPUT_LIMIT_BYTES / 2**20:g} MiB"
        return CheckResult(entry.label, False, f"killed: printed more than {limit} of output\n{text}".rstrip())
    status = proc.returncode
    if status is not None and status < 0:
        return CheckResult(entry.label, False, f"killed by signal {_signal_name(-status)}\n{text}".rstrip())
    if status != 0:
        return CheckResult(entry.label, False, text or f"exited with status {status}")
    return CheckResult(entry.label, True, text)


def _program_path(program: str, root: Path, real_root: Path | None) -> str:
    """``program`` as started in the copy at ``root``.

    A repo-relative program missing from the copy (git ignores it, so it was not copied: a
    virtual environment's tool) is started by its absolute path in the user's tree, where the
    preflight found it. That is safe for what such paths usually name: the program is the user's
    own, it runs with the copy as its working folder and the copy's paths as arguments, and a
    virtual environment's tool finds its libraries from its own location. A program that locates
    the project from its own location instead (``cd "$(dirname "$0")/.."``) would see the user's
    tree; such a script belongs in the tracked files, where the copy's own is run.
    """
    if real_root is None or "/" not in program or os.path.isabs(program) or os.path.lexists(root / program):
        return program
    real = Path(os.path.realpath(real_root)) / program
    return str(real) if real.is_file() else program


def _environment(root: Path) -> dict[str, str]:
    """The check's environment: git's locators dropped, and git's search for a repository stopped
    above the copy, so a copy made inside the user's work tree (TMPDIR there) never finds the
    user's repository and index."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATORS}
    ceilings = [str(root.parent), *filter(None, env.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep))]
    env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(ceilings)
    return env


class _Output:
    """What a check printed: its first and last ``keep`` bytes, and how many there were in all."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk[-self.keep:]
            del self.tail[: max(0, len(self.tail) - self.keep)]

    def text(self) -> str:
        left_out = self.total - len(self.head) - len(self.tail)
        if left_out == 0:
            return bytes(self.head + self.tail).decode("utf-8", errors="replace")
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {left_out} bytes left out ...]\n{tail}"


def _watch(proc: subprocess.Popen[bytes], output: _Output, timeout: float) -> str | None:
    """Read ``proc``'s output until it exits, times out (``"timeout"``) or prints too much
    (``"output"``); then kill its process group and reap it. The pipe is read without blocking, so
    a process outside the group that keeps it open delays this by ``DRAIN_SECONDS`` at most."""
    assert proc.stdout is not None  # Popen was given stdout=PIPE
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    stop: str | None = None
    try:
        deadline = time.monotonic() + timeout
        open_pipe = True
        while not _exited(proc):
            left = deadline - time.monotonic()
            if left <= 0:
                stop = "timeout"
                break
            if output.total > OUTPUT_LIMIT_BYTES:
                stop = "output"
                break
            if open_pipe:
                open_pipe = _pump(selector, fd, output, min(left, _POLL_SECONDS))
            else:
                time.sleep(min(left, _POLL_SECONDS))
        if stop is not None:
            _kill_group(proc)
        if stop != "output":  # what is still on its way: bounded, as a leftover process may hold the pipe
            drain_until = time.monotonic() + DRAIN_SECONDS
            while open_pipe and output.total <= OUTPUT_LIMIT_BYTES and (left := drain_until - time.monotonic()) > 0:
                open_pipe = _pump(selector, fd, output, left)
    finally:
        _kill_group(proc)  # its background jobs end with it, and so does it on an interrupt
        selector.close()
        proc.stdout.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_REAP_SECONDS)
    return stop


def _pump(selector: selectors.BaseSelector, fd: int, output: _Output, wait: float) -> bool:
    """Read what the pipe holds within ``wait`` seconds; False once it is closed (end of file)."""
    if not selector.select(wait):
        return True
    try:
        chunk = os.read(fd, _READ_BYTES)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    output.add(chunk)
    return True


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` has exited, without reaping it where the platform allows: while it is not
    reaped its process id (and so its group's) cannot be reused, so killing the group is safe."""
    if proc.returncode is not None:
        return True
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return proc.poll() is not None
    try:
        return waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped elsewhere
        return proc.poll() is not None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
        return
    if proc.returncode is None:  # it left its group; it is not reaped yet, so its id is still its own
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return str(number)
