"""`fastapply batch JOBS.jsonl`: many edit jobs with one model load, a progress bar and a summary.

Each line of the jobs file is ``{"files": [...], "instruction": "..."}``; file paths and globs are
relative to the current directory. Jobs that finished cleanly are recorded under the git dir, so
running the same jobs file again skips them and runs the rest: the interrupted, the failed, the
refused, the ones with a missing file. ``--restart`` starts over, and so does a damaged state file
(said on stderr). A job that fails or is refused does not stop the others; the exit code is the
worst outcome. Output comes from ``fastapply.report`` (a table, one JSON object, or JSONL events),
as for ``run`` and ``hook``.
With a remote model, ``--jobs N`` keeps N requests in flight across the jobs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastapply.batch import BatchState, JobOutcome, parse_jobs, run_batch, state_path
from fastapply.cli.common import (
    ProgressEvents, add_edit_options, add_jobs_option, expand_paths, in_flight_from, options_from,
)
from fastapply.cli.model_options import lazy_backend, remote_options
from fastapply.errors import UsageError
from fastapply.report import FORMATS, batch_exit_code, job_record, make_reporter, summarize_batch
from fastapply.repo import find_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("jobs", metavar="JOBS.jsonl", help='one {"files": [...], "instruction": ...} per line')
    parser.add_argument("--restart", action="store_true", help="forget finished jobs and run them all again")
    parser.add_argument("--output-format", choices=FORMATS, default="text")
    add_edit_options(parser)
    add_jobs_option(parser)


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    jobs_file = Path(args.jobs)
    jobs = parse_jobs(jobs_file)
    if not jobs:
        raise UsageError(f"{jobs_file}: no jobs")
    repo = find_repo(Path.cwd())
    options = options_from(args)
    in_flight = in_flight_from(args, remote=remote_options(args) is not None)
    state = BatchState.load(state_path(repo, jobs_file), restart=args.restart)
    if args.restart:
        state.clear()
    if state.damaged:
        _note(f"the saved progress {state.path} is damaged ({state.damaged}); running every job again")
    reporter = make_reporter(args.output_format, sys.stdout)
    progress = ProgressEvents(len(jobs), per_file=False)

    def on_job(done: JobOutcome) -> None:
        progress.job_done()
        reporter.job_completed(
            job_record(
                done.job.index + 1, done.job.instruction, done.results, done.written,
                skipped=done.skipped, error=done.error,
            )
        )

    try:
        outcomes = run_batch(
            lazy_backend(args), repo, jobs, state, options=options,
            expand=lambda files: expand_paths(files, repo), events=progress, on_job=on_job,
            in_flight_jobs=in_flight,
        )
    finally:
        progress.close()
    code = batch_exit_code([r for d in outcomes for r in d.results], errors=any(d.error for d in outcomes))
    reporter.batch_completed(
        summarize_batch(reporter.jobs, total=len(jobs), seconds=time.perf_counter() - started, code=code)
    )
    return code


def _note(message: str) -> None:
    """A line on stderr that leaves stdout (a table, JSON or JSONL) to the report."""
    try:
        print(f"fastapply: {message}", file=sys.stderr)
    except (OSError, ValueError):
        pass  # stderr is gone; the run itself does not depend on the note
