"""`fastapply models`: list what can be loaded; and ``load_model``, how every command loads one.

``load_model`` is the single place the CLI commands (run, batch, hook) get a backend: the engine
through ``fastapply.backend.load_backend``, or, when ``FASTAPPLY_BACKEND=module:factory`` is set,
whatever that factory returns (a seam for tests and for plugging in another backend). Listing
looks only on local disk: the embedded model and the Hugging Face cache; it never downloads.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from fastapply.backend import Backend
from fastapply.engine.assets import DEFAULT_MODEL_DIR
from fastapply.errors import EXIT_OK, EngineFailure, UsageError

BACKEND_ENV = "FASTAPPLY_BACKEND"


def load_model(model: str | None, *, device: str | None = None, dtype: str | None = None) -> Backend:
    """Load the backend for ``model`` (``None`` means ``"default"``).

    Raises:
        UsageError: ``FASTAPPLY_BACKEND`` is malformed.
        EngineFailure: the engine is not installed or could not load the model.
    """
    factory = os.environ.get(BACKEND_ENV)
    if factory:
        module_name, _, attr = factory.partition(":")
        if not module_name or not attr:
            raise UsageError(f"{BACKEND_ENV} must look like 'module:factory', not {factory!r}")
        try:
            return getattr(importlib.import_module(module_name), attr)()  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"{BACKEND_ENV}={factory!r}: {exc}") from None
    from fastapply.backend import load_backend

    try:
        return load_backend(model or "default", device=device, dtype=dtype)
    except ImportError as exc:
        raise EngineFailure(f"the engine is not available: {exc}") from None


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
