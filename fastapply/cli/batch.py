"""`fastapply batch JOBS.jsonl`: many edit jobs with one model load, a progress bar and a summary.

Each line of the jobs file is ``{"files": [...], "instruction": "..."}``; file paths and globs are
relative to the current directory. Finished jobs are recorded under the git dir, so running the
same jobs file again skips them (an interrupted batch resumes); ``--restart`` starts over. A job
that fails or is refused does not stop the others; the exit code is the worst outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from fastapply.batch import BatchState, JobOutcome, parse_jobs, run_batch, state_path
from fastapply.cli.common import ProgressEvents, expand_paths, options_from
from fastapply.cli.model_options import lazy_backend
from fastapply.errors import EXIT_USAGE, UsageError
from fastapply.report import exit_code, file_record
from fastapply.repo import find_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("jobs", metavar="JOBS.jsonl", help='one {"files": [...], "instruction": ...} per line')
    parser.add_argument("--restart", action="store_true", help="forget finished jobs and run them all again")
    parser.add_argument("--output-format", choices=("text", "json", "jsonl"), default="text")
    parser.add_argument("--max-new-tokens", type=int, metavar="N", help="cut generation off after N tokens")
    parser.add_argument("--allow-deletion", action="store_true", help="accept output that drops most of a file")


def _job_json(done: JobOutcome) -> dict[str, Any]:
    results = done.outcome.results if done.outcome else []
    written = set(done.outcome.written) if done.outcome else set()
    return {
        "job": done.job.index + 1,
        "instruction": done.job.instruction,
        "skipped": done.skipped,
        "error": done.error,
        "files": [file_record(r, written=r.path in written) for r in results],
        **done.counts(),
    }


def _table(outcomes: list[JobOutcome]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="fastapply batch")
    for column in ("job", "instruction", "changed", "unchanged", "refused", "failed", "note"):
        table.add_column(column)
    for done in outcomes:
        c = done.counts()
        note = "done earlier (skipped)" if done.skipped else done.error
        first = done.job.instruction.strip().splitlines()[0][:40]
        counts = (str(c[k]) for k in ("changed", "unchanged", "refused", "failed"))
        table.add_row(str(done.job.index + 1), first, *counts, note)
    Console(file=sys.stdout, width=120).print(table)


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    jobs_file = Path(args.jobs)
    jobs = parse_jobs(jobs_file)
    if not jobs:
        raise UsageError(f"{jobs_file}: no jobs")
    repo = find_repo(Path.cwd())
    options = options_from(args)
    state = BatchState.load(state_path(repo, jobs_file), restart=args.restart)
    if args.restart:
        state.clear()
    progress = ProgressEvents(len(jobs), per_file=False)

    def on_job(done: JobOutcome) -> None:
        progress.job_done()
        if args.output_format == "jsonl":
            sys.stdout.write(json.dumps({"event": "job.completed", **_job_json(done)}) + "\n")
            sys.stdout.flush()

    try:
        outcomes = run_batch(
            lazy_backend(args), repo, jobs, state, options=options,
            expand=lambda files: expand_paths(files, repo), events=progress, on_job=on_job,
        )
    finally:
        progress.close()
    results = [r for d in outcomes if d.outcome for r in d.outcome.results]
    code = exit_code(results, changes_fail=False)
    if code == 0 and any(d.error for d in outcomes):
        code = EXIT_USAGE
    summary = {
        "jobs": len(jobs),
        "ran": sum(1 for d in outcomes if not d.skipped),
        "skipped": sum(1 for d in outcomes if d.skipped),
        "errors": sum(1 for d in outcomes if d.error),
        **{k: sum(d.counts()[k] for d in outcomes) for k in ("changed", "unchanged", "refused", "failed")},
        "seconds": round(time.perf_counter() - started, 6),
        "exit_code": code,
    }
    if args.output_format == "json":
        json.dump({"jobs": [_job_json(d) for d in outcomes], "summary": summary}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.output_format == "jsonl":
        sys.stdout.write(json.dumps({"event": "batch.completed", "summary": summary}) + "\n")
    else:
        _table(outcomes)
    return code
