"""`fastapply models`: list what can be loaded without a network.

Listing looks only on local disk: the embedded model and the Hugging Face cache; it never
downloads.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fastapply.engine.assets import DEFAULT_MODEL_DIR
from fastapply.errors import EXIT_OK


def _hub_cache() -> Path:
    home = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface")), "hub"
    )
    return Path(home)


def local_models() -> list[tuple[str, str]]:
    """(spec, where) pairs for models that can be loaded without a network."""
    found: list[tuple[str, str]] = []
    where = str(DEFAULT_MODEL_DIR)
    found.append(("default", where if DEFAULT_MODEL_DIR.is_dir() else f"{where} (embedded model not built yet)"))
    cache = _hub_cache()
    if cache.is_dir():
        for entry in sorted(cache.glob("models--*")):
            found.append((entry.name.removeprefix("models--").replace("--", "/"), str(entry)))
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="show where each model lives")


def main(args: argparse.Namespace) -> int:
    for spec, where in local_models():
        print(f"{spec}\t{where}" if args.paths else spec, file=sys.stdout)
    return EXIT_OK
