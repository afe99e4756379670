"""`fastapply undo [--list]`: restore the files of the last apply, or list the recorded applies.

Exit 0 when restored or when there is nothing to undo, 3 when refused (a file no longer holds what
fastapply wrote); the reason goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastapply.errors import EXIT_OK, EXIT_REFUSED
from fastapply.repo import find_repo
from fastapply.undo import list_applies, undo_last


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--list", action="store_true", help="list recorded applies, newest first")


def main(args: argparse.Namespace) -> int:
    root = find_repo(Path.cwd()).root
    if args.list:
        for record in list_applies(root):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.time))
            state = "undone" if record.undone else "applied"
            first = record.instruction.strip().splitlines()
            files = ", ".join(record.paths)
            print(f"{record.id}  {when}  {state:7}  {first[0] if first else ''!s}  [{files}]")
        return EXIT_OK
    report = undo_last(root)
    if report.status == "nothing":
        print("nothing to undo", file=sys.stderr)
        return EXIT_OK
    if report.status == "refused":
        print(f"fastapply: undo refused, nothing restored: {report.reason}", file=sys.stderr)
        return EXIT_REFUSED
    for path in report.restored:
        print(f"restored {path}")
    return EXIT_OK
