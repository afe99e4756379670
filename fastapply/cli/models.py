"""`fastapply models`: list what can be loaded without a network (``fastapply.models``).

The loadable models go to stdout, one a line; a cache entry that cannot be loaded is named on
stderr with the reason, so a script reading stdout gets only usable specs.
"""

from __future__ import annotations

import argparse
import sys

from fastapply.errors import EXIT_OK
from fastapply.models import cache_entries, local_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="show where each model lives")


def main(args: argparse.Namespace) -> int:
    for spec, where in local_models():
        print(f"{spec}\t{where}" if args.paths else spec, file=sys.stdout)
    for entry in cache_entries():
        if entry.problem is not None:
            print(f"skipped {entry.spec} ({entry.where}): {entry.problem}", file=sys.stderr)
    return EXIT_OK
