"""`fastapply hook [FILES...]`: the configured instructions on staged files (the pre-commit hook).

``hook`` runs the configured entries (``[[tool.fastapply.hook]]``) on the given or staged files and
exits 1 when it changed (or, with ``--check``, would change) a file, 0 when nothing changed, 3 when
a file was refused (for example for unstaged changes), 4 on an engine failure, 5 when a rewrite
still failed its checks after every attempt (nothing written). The checks and retries are those
of ``run`` (``fastapply.retry``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastapply.cli.common import ProgressEvents, add_edit_options, options_from
from fastapply.cli.model_options import lazy_backend
from fastapply.config import Config
from fastapply.errors import EXIT_OK
from fastapply.hook import run_hook
from fastapply.report import FORMATS, exit_code, make_reporter, summarize
from fastapply.repo import find_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to consider (default: staged files)")
    parser.add_argument("--check", action="store_true", help="never write; exit 1 if a file would change")
    parser.add_argument("--diff", action="store_true", help="print the diff of each file")
    parser.add_argument("--output-format", choices=FORMATS, default="text")
    add_edit_options(parser, deletion=False)


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config: Config = getattr(args, "config", None) or Config()
    if not config.hooks:
        where = config.path or "pyproject.toml [tool.fastapply] or .fastapply.toml"
        print(f"fastapply hook: no hook entries configured in {where}; nothing to do", file=sys.stderr)
        return EXIT_OK
    repo = find_repo(Path.cwd())
    reporter = make_reporter(args.output_format, sys.stdout, show_diff=args.diff or args.check)
    events = ProgressEvents(0, reporter)
    try:
        outcome = run_hook(
            lazy_backend(args), repo, config, args.files or None,
            check=args.check, options=options_from(args), events=events,
        )
    finally:
        events.close()
    code = exit_code(outcome.results, changes_fail=True)
    reporter.run_completed(
        summarize(outcome.results, written=len(outcome.written), seconds=time.perf_counter() - started, code=code)
    )
    return code
