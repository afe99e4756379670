"""`fastapply serve`: the OpenAI-compatible server with Predicted Outputs (not built yet)."""

from __future__ import annotations

import argparse

from fastapply.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    raise UsageError("fastapply serve is not available yet")
