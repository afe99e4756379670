"""`fastapply run FILES... -m INSTRUCTION`: rewrite files headlessly, for scripts and CI.

A thin shell over ``fastapply.batch.run_edits``: expands globs, checks what can be checked before
the model loads (paths, a locked index when committing), shows a progress bar on stderr when it is
a terminal, and prints results on stdout as text, JSON or JSONL. Exit codes follow DESIGN.md
section 4. The shared pieces (``expand_paths``, ``ProgressEvents``, ``options_from``) are used by
``batch`` and ``hook`` too.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path
from typing import Any

from fastapply import cli_models
from fastapply.batch import Events, LazyBackend, run_edits
from fastapply.edit import EditOptions, EditResult
from fastapply.apply import ApplySession
from fastapply.errors import EXIT_OK, FastapplyError, RefusedError, UsageError
from fastapply.report import FORMATS, exit_code, make_reporter, summarize
from fastapply.repo import RepoInfo, find_repo, index_locked

_GLOB_CHARS = set("*?[")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="files or globs (quote globs)")
    parser.add_argument("-m", "--instruction", required=True, help="what to change")
    parser.add_argument(
        "--check", action="store_true", help="never write; print the diff; exit 1 if something would change"
    )
    parser.add_argument("--diff", action="store_true", help="print the diff of each file")
    parser.add_argument("--output-format", choices=FORMATS, default="text")
    parser.add_argument("--max-new-tokens", type=int, metavar="N", help="cut generation off after N tokens")
    parser.add_argument("--allow-deletion", action="store_true", help="accept output that drops most of a file")
    parser.add_argument("--commit", action="store_true", help="commit the written files (hooks run)")
    parser.add_argument("--commit-message", metavar="TEXT", help="commit message (default: from the instruction)")


def expand_paths(patterns: list[str], repo: RepoInfo | None = None) -> list[str]:
    """Literal paths as given; globs expanded (recursive ``**``), skipping what git ignores.

    Raises:
        UsageError: a literal path does not exist or a glob matches nothing.
    """
    out: list[str] = []
    visible: set[str] | None = None
    for pattern in patterns:
        if not _GLOB_CHARS & set(pattern):
            if not os.path.lexists(pattern):
                raise UsageError(f"{pattern}: no such file")
            out.append(pattern)
            continue
        matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        if repo is not None:
            if visible is None:
                visible = _git_visible(repo)
            matches = [p for p in matches if _rel(p, repo) in visible]
        if not matches:
            raise UsageError(f"{pattern}: no file matches")
        out.extend(matches)
    unique: dict[str, str] = {}
    for path in out:
        unique.setdefault(os.path.abspath(path), path)  # a file named twice is edited once
    return list(unique.values())


def _rel(path: str, repo: RepoInfo) -> str:
    real = Path(os.path.realpath(path))
    return real.relative_to(repo.root).as_posix() if real.is_relative_to(repo.root) else ""


def _git_visible(repo: RepoInfo) -> set[str]:
    import git

    listing = git.Repo(repo.root).git.ls_files("-z", "--cached", "--others", "--exclude-standard")
    return {p for p in listing.split("\0") if p}


def options_from(args: argparse.Namespace) -> EditOptions:
    config = getattr(args, "config", None)
    max_new = getattr(args, "max_new_tokens", None)
    if max_new is None and config is not None:
        max_new = config.max_new_tokens
    if max_new is not None and max_new <= 0:
        raise UsageError(f"--max-new-tokens must be positive, not {max_new}")
    options = EditOptions(max_new_tokens=max_new)
    if config is not None:
        options.max_bytes = config.max_bytes
        options.allow_deletion = config.allow_deletion
    if getattr(args, "allow_deletion", False):
        options.allow_deletion = True
    return options


def lazy_backend(args: argparse.Namespace) -> LazyBackend:
    # Looked up on the module at call time so tests can substitute a fake backend.
    return LazyBackend(lambda: cli_models.load_model(args.model, device=args.device, dtype=args.dtype))


class ProgressEvents(Events):
    """A rich progress bar on stderr (files done, tokens/s, draft acceptance), forwarding to a reporter."""

    def __init__(self, total: int, reporter: Any = None, *, enabled: bool | None = None) -> None:
        self.reporter = reporter
        self.progress = None
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
            self.task = self.progress.add_task("starting", total=total, speed="")
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
            self.progress.update(self.task, advance=1, speed=speed)
        if self.reporter is not None:
            self.reporter.file_completed(result, written=written)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if not args.instruction.strip():
        raise UsageError("the instruction (-m) is empty")
    options = options_from(args)
    repo = find_repo(Path.cwd())
    paths = expand_paths(args.files, repo)
    write = not args.check
    if args.commit and args.check:
        raise UsageError("--commit and --check do not go together")
    if args.commit and index_locked(repo):
        raise RefusedError(f"{repo.git_dir / 'index.lock'} exists: another git process is running; nothing written")
    reporter = make_reporter(args.output_format, sys.stdout, show_diff=args.diff or args.check)
    reporter.run_started(paths, args.instruction, args.model or "default")
    events = ProgressEvents(len(paths), reporter)
    try:
        outcome = run_edits(
            lazy_backend(args), repo, paths, args.instruction, options=options, write=write, events=events
        )
    finally:
        events.close()
    code = exit_code(outcome.results, changes_fail=args.check)
    if args.commit and outcome.written and outcome.session is not None:
        code = _commit(outcome.session, args.commit_message, code)
    reporter.run_completed(
        summarize(outcome.results, written=len(outcome.written), seconds=time.perf_counter() - started, code=code)
    )
    return code



def _commit(session: ApplySession, message: str | None, code: int) -> int:
    """Commit the written files unless something was refused or failed; the new exit code."""
    if code != EXIT_OK:
        print(
            "fastapply: not committing because some files were refused or failed; the written files "
            "stay in the work tree (`fastapply undo` takes them back)",
            file=sys.stderr,
        )
        return code
    try:
        session.finish(commit=True, message=message)
    except FastapplyError as exc:
        print(f"fastapply: files written but not committed: {exc}", file=sys.stderr)
        return exc.exit_code
    return code
