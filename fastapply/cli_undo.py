"""`fastapply undo` (placeholder until implemented)."""

from __future__ import annotations

import argparse

from fastapply.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    raise UsageError("'undo' is not implemented yet")
