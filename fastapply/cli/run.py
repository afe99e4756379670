"""`fastapply run FILES... -m INSTRUCTION`: rewrite files headlessly, for scripts and CI.

A thin shell over ``fastapply.batch.run_edits``: expands globs, checks what can be checked before
the model loads (paths; with ``--commit``, a locked index, a merge in progress, or files holding
the user's own changes that the commit would carry), shows a progress bar on stderr when it is
a terminal, and prints results on stdout as text, JSON or JSONL. With a remote model, ``--jobs N``
keeps N requests in flight. Exit codes: ARCHITECTURE.md, "Exit codes".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fastapply.apply import ApplySession, refuse_uncommittable
from fastapply.batch import run_edits
from fastapply.cli.common import (
    ProgressEvents, add_edit_options, add_jobs_option, expand_paths, in_flight_from, options_from,
)
from fastapply.cli.model_options import lazy_backend, remote_options
from fastapply.edit import check_instruction
from fastapply.errors import EXIT_OK, FastapplyError, UsageError
from fastapply.report import FORMATS, exit_code, make_reporter, summarize
from fastapply.repo import RepoInfo, find_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="files or globs (quote globs)")
    parser.add_argument("-m", "--instruction", required=True, help="what to change")
    parser.add_argument(
        "--check", action="store_true", help="never write; print the diff; exit 1 if something would change"
    )
    parser.add_argument("--diff", action="store_true", help="print the diff of each file")
    parser.add_argument("--output-format", choices=FORMATS, default="text")
    add_edit_options(parser)
    add_jobs_option(parser)
    parser.add_argument("--commit", action="store_true", help="commit the written files (hooks run)")
    parser.add_argument("--commit-message", metavar="TEXT", help="commit message (default: from the instruction)")


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_instruction(args.instruction, "the instruction (-m)")
    options = options_from(args)
    remote = remote_options(args)
    jobs = in_flight_from(args, remote=remote is not None)
    repo = find_repo(Path.cwd())
    paths = expand_paths(args.files, repo)
    write = not args.check
    if args.commit and args.check:
        raise UsageError("--commit and --check do not go together")
    if args.commit:
        refuse_uncommittable(repo, _in_tree(paths, repo))  # before the model loads
    reporter = make_reporter(args.output_format, sys.stdout, show_diff=args.diff or args.check)
    # without --model a server's only model is named when it is reached, after this event
    model = args.model or ("default" if remote is None else f"the model served at {remote.api_base}")
    reporter.run_started(paths, args.instruction, model)
    events = ProgressEvents(len(paths), reporter)
    try:
        outcome = run_edits(
            lazy_backend(args), repo, paths, args.instruction, options=options, write=write, events=events,
            jobs=jobs,
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


def _in_tree(paths: list[str], repo: RepoInfo) -> list[str]:
    """The repo-relative form of the paths that lie in the work tree (the others are refused later)."""
    inside = []
    for path in paths:
        rel = os.path.relpath(os.path.abspath(path), repo.root)
        if not rel.startswith(".."):
            inside.append(Path(rel).as_posix())
    return inside


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
