"""What the commands share: path expansion (globs in git's rules), edit options, the progress bar.

Each command module (``fastapply.cli.<name>``) is a thin shell: it parses its arguments, calls the
library, and hands results to a reporter (``fastapply.report``). The pieces every command needs
live here, so no command imports another; the model options are in ``model_options``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from fastapply.batch import Events
from fastapply.checks import CheckResult
from fastapply.config import MAX_ATTEMPTS, Config
from fastapply.edit import EditOptions, EditResult
from fastapply.errors import UsageError
from fastapply.globs import compile_glob, is_glob
from fastapply.repo import RepoInfo
from fastapply.scratch import visible_files

def expand_paths(patterns: list[str], repo: RepoInfo | None = None) -> list[str]:
    """Literal paths as given; globs (``fastapply.globs``: git's rules) matched against the files
    below the current folder that git does not ignore, as paths relative to it.

    Raises:
        UsageError: a literal path does not exist, a glob matches nothing, is invalid, or reaches
        outside the current folder.
    """
    out: list[str] = []
    listing: list[str] | None = None
    for pattern in patterns:
        if os.path.lexists(pattern) or not is_glob(pattern):
            if not os.path.lexists(pattern):
                raise UsageError(f"{pattern}: no such file")
            out.append(pattern)
            continue
        glob = compile_glob(pattern)
        if os.path.isabs(pattern) or ".." in Path(pattern).parts:
            raise UsageError(
                f"{pattern}: globs are matched below the current folder; run from higher up or name the files"
            )
        if listing is None:
            listing = _visible_files(repo)
        matches = glob.select(listing)
        if not matches:
            raise UsageError(f"{pattern}: no file matches")
        out.extend(matches)
    unique: dict[str, str] = {}
    for path in out:
        unique.setdefault(os.path.abspath(path), path)  # a file named twice is edited once
    return list(unique.values())


def _visible_files(repo: RepoInfo | None) -> list[str]:
    """Files below the current folder, relative to it, sorted; in a repository only what git does
    not ignore (tracked or untracked)."""
    if repo is None:
        found = []
        for folder, dirs, names in os.walk("."):
            dirs[:] = [d for d in dirs if d != ".git"]
            found.extend(Path(folder, name).as_posix().removeprefix("./") for name in names)
        return sorted(found)
    return [p for p in visible_files(repo, Path.cwd()) if os.path.isfile(p)]


def add_edit_options(parser: argparse.ArgumentParser, *, deletion: bool = True) -> None:
    """The options of every editing command (run, batch, hook): token limit, deletion, checks."""
    parser.add_argument("--max-new-tokens", type=int, metavar="N", help="cut generation off after N tokens")
    if deletion:
        parser.add_argument("--allow-deletion", action="store_true", help="accept output that drops most of a file")
    parser.add_argument(
        "--max-attempts", type=int, metavar="N",
        help="generations per file when checks fail, the first included (default: 3, or max_attempts in the config)",
    )
    parser.add_argument("--no-checks", action="store_true", help="run neither the parse checks nor the configured ones")
    parser.add_argument(
        "--write-failing", action="store_true", help="write the last candidate even when its checks fail (exit 5 still)"
    )


def add_jobs_option(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: requests in flight at once on a remote model (run and batch)."""
    parser.add_argument(
        "--jobs", dest="in_flight", type=int, default=1, metavar="N",
        help="with a remote model (--api-base), keep N requests in flight (a vLLM server batches them); "
        "results are still checked and written one at a time, in order. A local model runs one at a time. "
        "Default 1",
    )


def in_flight_from(args: argparse.Namespace, *, remote: bool) -> int:
    """How many requests to keep in flight: ``--jobs`` for a remote model, 1 for a local one (whose
    generations run one at a time anyway).

    Raises:
        UsageError: ``--jobs`` is below 1.
    """
    jobs: int = getattr(args, "in_flight", 1)
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    return jobs if remote else 1


def options_from(args: argparse.Namespace) -> EditOptions:
    """The edit options: the configuration's, then what the command line says.

    Raises:
        UsageError: a numeric option is not positive.
    """
    config = getattr(args, "config", None) or Config()
    options = EditOptions.from_config(config)
    max_new = getattr(args, "max_new_tokens", None)
    if max_new is not None:
        if max_new <= 0:
            raise UsageError(f"--max-new-tokens must be positive, not {max_new}")
        options.max_new_tokens = max_new
    attempts = getattr(args, "max_attempts", None)
    if attempts is not None:
        if not 0 < attempts <= MAX_ATTEMPTS:
            raise UsageError(f"--max-attempts must be from 1 to {MAX_ATTEMPTS}, not {attempts}")
        options.max_attempts = attempts
    if getattr(args, "allow_deletion", False):
        options.allow_deletion = True
    if getattr(args, "no_checks", False):
        options.builtin_checks, options.checks = False, []
    options.write_failing = bool(getattr(args, "write_failing", False))
    return options


class ProgressEvents(Events):
    """A rich progress bar on stderr (files done, tokens/s, draft acceptance), forwarding to a reporter.

    ``total`` counts the bar's units: files for ``run`` and ``hook``, jobs for ``batch`` (which
    advances it through ``job_done``).
    """

    def __init__(self, total: int, reporter: Any = None, *, enabled: bool | None = None, per_file: bool = True) -> None:
        self.reporter = reporter
        self.per_file = per_file
        self.progress: Any = None
        self.task: Any = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.progress.add_task("starting", total=total or None, speed="")
            self.progress.start()

    def file_started(self, path: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=path)
        if self.reporter is not None:
            self.reporter.file_started(path)

    def file_completed(self, result: EditResult, *, written: bool) -> None:
        if self.progress is not None:
            speed = ""
            if result.stats is not None:
                speed = f"{result.stats.tokens_per_second:.1f} tok/s, acceptance {result.stats.acceptance:.0%}"
            self.progress.update(self.task, advance=1 if self.per_file else 0, speed=speed)
        if self.reporter is not None:
            self.reporter.file_completed(result, written=written)

    def file_retrying(self, path: str, attempt: int, failed: list[CheckResult]) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=f"{path} (attempt {attempt}: {failed[0].name} failed)")
        if self.reporter is not None:
            self.reporter.file_retrying(path, attempt, failed)

    def job_done(self) -> None:
        if self.progress is not None and not self.per_file:
            self.progress.update(self.task, advance=1)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
