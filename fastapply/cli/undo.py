"""`fastapply undo [ID] [--list]`: restore the files of the last apply (or of apply ID), or list them.

Exit 0 when restored or when there is nothing to undo, 2 for an unknown ID, 3 when refused (a file
no longer holds what fastapply wrote, or a recorded path is not inside the work tree); the reason
goes to stderr. ``--list`` prints one apply a line, newest first: id, time, state (applied, undone,
or blocked with the reason), instruction and files. Either way a journal record that cannot be
read is named on stderr ("skipped a damaged journal record: NAME"), as are files that already held
their bytes from before and files whose mode, changed since the apply, was kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastapply.errors import EXIT_OK, EXIT_REFUSED
from fastapply.repo import find_repo
from fastapply.undo import blocked_applies, damaged_records, list_applies, undo_apply, undo_last


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("apply_id", nargs="?", metavar="ID", help="undo this apply (an id, or its start, from --list)")
    parser.add_argument("--list", action="store_true", help="list recorded applies, newest first")


def main(args: argparse.Namespace) -> int:
    root = find_repo(Path.cwd()).root
    if args.list:
        _warn_damaged(damaged_records(root))
        blocked = blocked_applies(root)
        for record in list_applies(root):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.time))
            state = "undone" if record.undone else "applied"
            if record.id in blocked:
                state = "blocked (" + "; ".join(f"{path}: {why}" for path, why in blocked[record.id]) + ")"
            first = record.instruction.strip().splitlines()
            files = ", ".join(record.paths)
            print(f"{record.id}  {when}  {state}  {first[0] if first else ''!s}  [{files}]")
        return EXIT_OK
    report = undo_apply(root, args.apply_id) if args.apply_id else undo_last(root)
    _warn_damaged(report.damaged)
    if report.status == "nothing":
        print(report.reason if args.apply_id else "nothing to undo", file=sys.stderr)
        return EXIT_OK
    if report.status == "refused":
        print(f"fastapply: undo of {report.apply_id} refused, nothing restored: {report.reason}", file=sys.stderr)
        print("fastapply: `fastapply undo --list` shows the older applies; `fastapply undo ID` undoes one of them",
              file=sys.stderr)
        return EXIT_REFUSED
    for path in report.restored:
        print(f"restored {path}")
    for path in report.already:
        print(f"{path}: already holds its bytes from before the apply; nothing to restore")
    for path, kept, recorded in report.kept_modes:
        print(f"{path}: kept its mode {kept:04o}, set since the apply (it was {recorded:04o} before the apply)")
    return EXIT_OK


def _warn_damaged(damaged: list[tuple[str, str]]) -> None:
    for name, why in damaged:
        print(f"fastapply: skipped a damaged journal record: {name} ({why})", file=sys.stderr)
