"""`fastapply models`: list what can be loaded without a network (``fastapply.models``)."""

from __future__ import annotations

import argparse
import sys

from fastapply.errors import EXIT_OK
from fastapply.models import local_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="show where each model lives")


def main(args: argparse.Namespace) -> int:
    for spec, where in local_models():
        print(f"{spec}\t{where}" if args.paths else spec, file=sys.stdout)
    return EXIT_OK
